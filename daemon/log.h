/* vigil logging: one line per event on stderr, naming who speaks.
 *
 * Lines carry a syslog priority prefix ("<6>") when stderr goes to the
 * journal (JOURNAL_STREAM names stderr's device and inode) so journald
 * keeps levels; otherwise a UTC
 * time stamp and the level name. Each line is written with one write(2),
 * so lines from threads and processes never interleave. */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

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

#endif
