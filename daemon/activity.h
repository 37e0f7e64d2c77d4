/* Activity baseline: how many objects usually enter, and when that is
 * improbable.
 *
 * Per camera and zone (the whole picture when the camera has none), the
 * tracked objects entering are counted per 15 minutes. Each hour of the
 * week (168 slots) learns the mean count of its 15-minute intervals.
 * Once a slot has learn_days / 7 weeks of intervals, an interval's count
 * k is judged against a Poisson law of that mean m (with a small prior,
 * m = (sum + 0.5) / (n + 1), so that a slot never seen busy does not
 * make one passer-by improbable):
 *   activity.high  P(X >= k) < 10^-tail for `consecutive` intervals in a
 *                  row (a crowd at 03:00);
 *   activity.low   P(X <= k) < 10^-tail likewise (an arterial road empty
 *                  at rush hour).
 * The event ends with the first ordinary interval. Improbable intervals
 * are not learned. The slots are kept in DATA_DIR/activity/<camera>.txt,
 * across restarts and reloads. Time is the frames': wall-clock arrival,
 * or with clock = "stream" the stream's own timestamps (UTC), so a file
 * can play weeks in minutes. Owned by the camera thread. */
#ifndef VIGIL_ACTIVITY_H
#define VIGIL_ACTIVITY_H

#include <limits.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "track.h"

#define ACTIVITY_SLOTS 168
#define ACTIVITY_INTERVAL_US (15LL * 60 * 1000000)
#define ACTIVITY_MAX_ZONES 16

struct activity_zone {
	double sum[ACTIVITY_SLOTS];     /* objects counted in learned intervals */
	uint32_t n[ACTIVITY_SLOTS];     /* learned intervals */
	unsigned count;                 /* objects entering this interval */
	int run;                        /* improbable intervals in a row: > 0
					 * high, < 0 low */
	int active;                     /* open event: 1 high, -1 low, 0 none */
	char id[128];
	int64_t start_us;
	uint32_t inside[TRACK_MAX];     /* tracks counted as in the zone */
	int ninside;
};

struct activity {
	const struct vigil_camera *conf;
	int enabled;
	int nzones;                     /* zones watched (1: the whole picture) */
	struct activity_zone z[ACTIVITY_MAX_ZONES];
	int64_t interval_us;            /* start of the current interval, 0: none */
	char path[PATH_MAX];            /* where the slots are kept, "" : nowhere */
};

void activity_init(struct activity *ac, const struct vigil_camera *conf);
/* Load the slots kept under data_dir, and keep them there from now on. */
void activity_recover(struct activity *ac, const char *data_dir);
/* One frame: its tracks; frame time (wall or stream, per the camera). */
void activity_frame(struct activity *ac, struct engine *e, const struct tracker *tk,
		    int64_t wall_us, int64_t pts_us);
/* Poisson tails: P(X >= k) and P(X <= k) for mean m. */
double activity_tail_high(double m, unsigned k);
double activity_tail_low(double m, unsigned k);
/* Hour of the week (0: Monday 00:00-01:00) of a time, in the camera's
 * clock (wall: local time; stream: UTC). */
int activity_slot(int64_t us, int stream_clock);

#endif
