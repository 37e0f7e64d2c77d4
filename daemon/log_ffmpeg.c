/* FFmpeg's log through vigil's; see log.h. */
#include "log.h"

#include <libavutil/log.h>
#include <stdarg.h>
#include <time.h>

#define LOG_FFMPEG_BURST     5          /* lines per window and thread */
#define LOG_FFMPEG_WINDOW_US 10000000

/* Per thread: a camera's thread (or its record reader) speaks for it. */
static __thread const char *log_ffmpeg_name;
static __thread int log_ffmpeg_printed;
static __thread unsigned long log_ffmpeg_suppressed;
static __thread int64_t log_ffmpeg_window_end;

static int64_t log_ffmpeg_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void log_ffmpeg_who(const char *who)
{
	log_ffmpeg_name = who;
}

void log_ffmpeg_tick(int64_t now_us)
{
	if (now_us < log_ffmpeg_window_end)
		return;
	if (log_ffmpeg_suppressed)
		vlog(LOG_WARNING, log_ffmpeg_name ? log_ffmpeg_name : "ffmpeg",
		     "%lu more decoder messages suppressed", log_ffmpeg_suppressed);
	log_ffmpeg_window_end = now_us + LOG_FFMPEG_WINDOW_US;
	log_ffmpeg_printed = 0;
	log_ffmpeg_suppressed = 0;
}

static void log_ffmpeg_line(void *avcl, int level, const char *fmt, va_list vl)
{
	static __thread int print_prefix = 1;
	char line[1024];
	int prio;

	if (level > av_log_get_level())
		return;
	log_ffmpeg_tick(log_ffmpeg_mono_us());
	if (log_ffmpeg_printed >= LOG_FFMPEG_BURST) {
		log_ffmpeg_suppressed++;
		print_prefix = 1;
		return;
	}
	log_ffmpeg_printed++;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	log_redact_text(line, sizeof(line));
	if (level <= AV_LOG_ERROR)
		prio = LOG_ERR;
	else if (level <= AV_LOG_WARNING)
		prio = LOG_WARNING;
	else
		prio = LOG_DEBUG;
	vlog(prio, log_ffmpeg_name ? log_ffmpeg_name : "ffmpeg", "%s", line);
}

void log_ffmpeg_install(void)
{
	av_log_set_level(AV_LOG_ERROR);
	av_log_set_callback(log_ffmpeg_line);
}
