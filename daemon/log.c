/* vigil logging; see log.h. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char log_role[32] = "vigild";
static int log_level = LOG_INFO;
static int log_journal;

static const char *const log_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected to
 * the journal. It is inherited by whatever the service starts, so it only
 * counts when stderr still is that stream (not redirected elsewhere). */
static int log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_name_thread(const char *kind, const char *who)
{
	char name[16];

	snprintf(name, sizeof(name), "%s%s%s", kind, who ? " " : "", who ? who : "");
	pthread_setname_np(pthread_self(), name);
}

void log_init(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
	log_journal = log_stderr_is_journal();
}

void log_set_level(int prio)
{
	log_level = prio;
}

int log_get_level(void)
{
	return log_level;
}

void vlog(int prio, const char *who, const char *fmt, ...)
{
	char line[1024];
	size_t n = 0;
	va_list ap;
	int r;

	if (prio > log_level)
		return;
	if (log_journal) {
		r = snprintf(line, sizeof(line), "<%d>%s: ", prio, log_role);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		r = snprintf(line, sizeof(line),
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-7s %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
			     log_names[prio & 7], log_role);
	}
	n = (size_t)r;
	if (who && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, "%s: ", who);
		n += (size_t)r;
	}
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		n += (size_t)r;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	/* Drop trailing newlines (FFmpeg's messages carry one). */
	while (n > 0 && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

/* The userinfo of the URL whose "://" is at sep: from after it up to the
 * last '@' of the authority (which ends at the first '/', '?' or '#'), so
 * that a password containing '@' is hidden whole. Returns the '@', or
 * NULL when the authority has none; *pass is the first ':' before it,
 * or NULL. stop lists further bytes that end the authority. */
static const char *log_userinfo(const char *sep, const char *stop, const char **pass)
{
	const char *auth = sep + 3;
	size_t n = strcspn(auth, stop);
	const char *at = NULL;

	for (size_t i = 0; i < n; i++)
		if (auth[i] == '@')
			at = auth + i;
	*pass = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	return at;
}

void log_redact_url(const char *url, char *buf, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *at = NULL, *colon = NULL;

	if (!len)
		return;
	if (sep)
		at = log_userinfo(sep, "/?#", &colon);
	if (!colon) {
		snprintf(buf, len, "%s", url);
		return;
	}
	snprintf(buf, len, "%.*s:***%s", (int)(colon - url), url, at);
}

void log_redact_text(char *text, size_t size)
{
	char *p = text;

	while ((p = strstr(p, "://"))) {
		const char *colon;
		const char *at = log_userinfo(p, "/?# \t\r\n'\"", &colon);

		p += 3;
		if (!colon || at - colon <= 1)
			continue;
		/* Replace what lies between ':' and '@' by "***"; the text
		 * may grow by up to two bytes and is cut to fit size. */
		char *dst = (char *)colon + 4;
		size_t off = (size_t)(dst - text), tail = strlen(at) + 1;

		if (off >= size)
			tail = 0;
		else if (off + tail > size)
			tail = size - off;
		memmove(dst, at, tail);
		memcpy((char *)colon + 1, "***", 3);
		text[size - 1] = '\0';
		if (off >= size - 1)
			break;
		p = dst;
	}
}
