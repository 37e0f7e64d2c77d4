/* Arming schedules; see schedule.h. */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const schedule_days[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

/* Weekday number of a three-letter name, -1 when it is none. */
static int schedule_day(const char *s, size_t len)
{
	if (len != 3)
		return -1;
	for (int d = 0; d < 7; d++)
		if (strncasecmp(s, schedule_days[d], 3) == 0)
			return d;
	return -1;
}

/* Days part: "daily", "mon", "mon-fri", "sat,sun", "fri-mon". */
static int schedule_parse_days(const char *s, size_t len, unsigned *days)
{
	*days = 0;
	if (len == 5 && strncasecmp(s, "daily", 5) == 0) {
		*days = 0x7f;
		return 0;
	}
	while (len > 0) {
		size_t n = 0;
		int a, b;

		while (n < len && s[n] != ',')
			n++;
		const char *dash = memchr(s, '-', n);
		if (dash) {
			a = schedule_day(s, (size_t)(dash - s));
			b = schedule_day(dash + 1, n - (size_t)(dash - s) - 1);
		} else {
			a = b = schedule_day(s, n);
		}
		if (a < 0 || b < 0)
			return -EINVAL;
		for (int d = a;; d = (d + 1) % 7) {
			*days |= 1u << d;
			if (d == b)
				break;
		}
		s += n;
		len -= n;
		if (len > 0) {
			s++;
			len--;
		}
	}
	return *days ? 0 : -EINVAL;
}

/* "HH:MM"; 24:00 only when allow_24. Returns minutes or -1. */
static int schedule_parse_time(const char *s, size_t len, int allow_24)
{
	int h, m;

	if (len != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m || !allow_24)))
		return -1;
	return h * 60 + m;
}

/* One entry: optional days, then a window, separated by blanks. */
static int schedule_parse_entry(const char *s, size_t len, struct schedule_window *w)
{
	const char *end = s + len, *sp, *dash;
	size_t tlen;

	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	sp = memchr(s, ' ', (size_t)(end - s));
	w->days = 0x7f;
	if (sp) {
		if (schedule_parse_days(s, (size_t)(sp - s), &w->days) < 0)
			return -EINVAL;
		s = sp;
		while (s < end && isspace((unsigned char)*s))
			s++;
	}
	tlen = (size_t)(end - s);
	dash = memchr(s, '-', tlen);
	if (!dash)
		return -EINVAL;
	w->start_min = schedule_parse_time(s, (size_t)(dash - s), 0);
	w->end_min = schedule_parse_time(dash + 1, (size_t)(end - dash - 1), 1);
	if (w->start_min < 0 || w->end_min < 0)
		return -EINVAL;
	return 0;
}

int schedule_parse(const char *text, struct schedule *s, char *err, size_t errlen)
{
	const char *p = text;

	memset(s, 0, sizeof(*s));
	while (*p) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);

		if (s->count == SCHEDULE_MAX_WINDOWS) {
			snprintf(err, errlen, "at most %d windows", SCHEDULE_MAX_WINDOWS);
			return -EINVAL;
		}
		if (schedule_parse_entry(p, len, &s->w[s->count]) < 0) {
			snprintf(err, errlen, "cannot read '%.*s' (expected like "
				 "\"mon-fri 20:00-04:00\" or \"daily 08:00-18:00\")",
				 (int)len, p);
			return -EINVAL;
		}
		s->count++;
		p += len;
		if (*p == ';')
			p++;
	}
	if (!s->count) {
		snprintf(err, errlen, "is empty");
		return -EINVAL;
	}
	return 0;
}

int schedule_armed(const struct schedule *s, time_t t)
{
	struct tm tm;
	int m, today, yesterday;

	if (!s || !s->count)
		return 1;
	localtime_r(&t, &tm);
	m = tm.tm_hour * 60 + tm.tm_min;
	today = tm.tm_wday;
	yesterday = (today + 6) % 7;
	for (int i = 0; i < s->count; i++) {
		const struct schedule_window *w = &s->w[i];
		if (w->start_min < w->end_min) {
			if ((w->days & (1u << today)) && m >= w->start_min && m < w->end_min)
				return 1;
		} else {
			/* Across midnight: the evening of its day, the morning after. */
			if ((w->days & (1u << today)) && m >= w->start_min)
				return 1;
			if ((w->days & (1u << yesterday)) && m < w->end_min)
				return 1;
		}
	}
	return 0;
}
