/* Arming schedules of zones: days of the week and time windows.
 *
 * Text form, entries separated by ';':
 *     [DAYS] HH:MM-HH:MM
 * DAYS is "daily" (the default), a day ("mon"), a range ("mon-fri",
 * "fri-mon" wraps) or a comma list ("sat,sun"). A window whose end is not
 * after its start runs across midnight: "mon-fri 20:00-04:00" is armed
 * from Monday 20:00 to Tuesday 04:00, ..., Friday 20:00 to Saturday 04:00.
 * "24:00" may end a window. Times are the server's local time. */
#ifndef VIGIL_SCHEDULE_H
#define VIGIL_SCHEDULE_H

#include <stddef.h>
#include <time.h>

#define SCHEDULE_MAX_WINDOWS 8

struct schedule_window {
	unsigned days;           /* bit d set: starts on weekday d (0 = Sunday) */
	int start_min, end_min;  /* minutes after midnight */
};

struct schedule {
	int count;               /* 0: always armed */
	struct schedule_window w[SCHEDULE_MAX_WINDOWS];
};

/* Parse text into s. Returns 0, or -EINVAL with a message in err. */
int schedule_parse(const char *text, struct schedule *s, char *err, size_t errlen);

/* 1 when the schedule is armed at time t (local time), else 0. */
int schedule_armed(const struct schedule *s, time_t t);

#endif
