/* vigil logging: one line per event on stderr, naming who speaks.
 *
 * Lines carry a syslog priority prefix ("<6>") when stderr goes to the
 * journal (JOURNAL_STREAM names stderr's device and inode) so journald
 * keeps levels; otherwise a UTC
 * time stamp and the level name. Each line is written with one write(2),
 * so lines from threads and processes never interleave. */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Name of this process in every line: "supervisor", "worker 1", "relay". */
void log_init(const char *role);
void log_set_level(int prio);
int log_get_level(void);

/* Name the calling thread "<kind> <who>" (cut to the kernel's 15
 * characters) so top -H, ps -L and profiles show which camera a thread
 * works for. who may be NULL. */
void log_name_thread(const char *kind, const char *who);

/* who: the camera (or other object) the line is about; NULL for none. */
void vlog(int prio, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(who, ...)  vlog(LOG_ERR, who, __VA_ARGS__)
#define log_warn(who, ...) vlog(LOG_WARNING, who, __VA_ARGS__)
#define log_info(who, ...) vlog(LOG_INFO, who, __VA_ARGS__)
#define log_debug(who, ...) vlog(LOG_DEBUG, who, __VA_ARGS__)

/* Copy url into buf with any password replaced by "***", so that URLs
 * can be logged. The password runs to the last '@' of the authority,
 * which ends at the first '/', '?' or '#'. Always NUL-terminates. */
void log_redact_url(const char *url, char *buf, size_t len);

/* The same for every URL inside a text of size bytes (a log line), in
 * place; the text is cut to fit when a short password grows to "***". */
void log_redact_text(char *text, size_t size);

/* FFmpeg's log goes through vlog() (log_ffmpeg.c): install the callback
 * once per process, before any thread uses FFmpeg. Its lines are
 * redacted and name the object the calling thread works for
 * (log_ffmpeg_who); a damaged stream makes the decoder complain about
 * every frame, so each thread prints at most a burst of FFmpeg lines per
 * 10 s window and counts the rest. */
void log_ffmpeg_install(void);
/* Who the calling thread's FFmpeg lines are about (a camera id; the
 * string must outlive the thread's use of FFmpeg). */
void log_ffmpeg_who(const char *who);
/* Close the calling thread's window when it is over, reporting how many
 * lines it hid: call it now and then (per packet) so that the count comes
 * out even when the messages stop. now_us: CLOCK_MONOTONIC. */
void log_ffmpeg_tick(int64_t now_us);

#endif
