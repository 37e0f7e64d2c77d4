/* Anomalies of one camera built on its tracks: tripwire crossings and
 * their counts, loitering in zones.
 *
 * Each analysed frame, the boxes of the camera's "motion" observations
 * (one per moving object, deduplicated across zones) feed the tracker
 * (track.h); the tracks then drive
 *   line.crossed  one alert (a start and its end at once) per crossing of
 *                 a configured line in an alerting direction, with the
 *                 track id, its box and the direction;
 *   counts        crossings of each line by direction over each
 *                 count_interval, queued on count.<...>.<line>;
 *   loitering     one tracked object inside a zone with dwell = N for N
 *                 seconds (coasting through a brief occlusion keeps it
 *                 there); ends when it leaves the zone or is lost.
 * Times are the frames' times. Owned by the camera thread. */
#ifndef VIGIL_ANOMALY_H
#define VIGIL_ANOMALY_H

#include <stdatomic.h>
#include <stdint.h>

#include "activity.h"
#include "config.h"
#include "engine.h"
#include "track.h"
#include "tripwire.h"

#define ANOMALY_MAX_LINES 16
#define ANOMALY_MAX_DWELL 16      /* zones with dwell */
#define ANOMALY_COAST_S 1.0       /* a hidden object keeps its track this long */
#define ANOMALY_COUNT_DEFAULT 60  /* seconds, when count_interval is not set */

/* One tracked object inside one dwell zone. */
struct anomaly_stay {
	uint32_t track;
	int64_t enter_us;
	int alerted;             /* loitering sent */
	char id[128];            /* the loitering event, once alerted */
};

struct anomaly_dwell {
	int zone;                /* index into the camera's zones */
	int nstays;
	struct anomaly_stay stays[TRACK_MAX];
};

struct anomaly {
	const struct vigil_camera *conf;
	struct tracker tracker;
	int nlines;
	struct tripwire lines[ANOMALY_MAX_LINES];
	int64_t count_from_us;   /* start of the current count interval */
	int ndwell;
	struct anomaly_dwell dwell[ANOMALY_MAX_DWELL];
	struct activity activity;  /* baseline of objects entering */
	/* For the status report: crossings since start, all lines. */
	atomic_ulong crossed;
};

void anomaly_init(struct anomaly *an, const struct vigil_camera *conf);
/* One frame at now_us: its object boxes (n) into the tracker, then the
 * lines and dwell zones; alerts and counts go out through the engine. */
void anomaly_frame(struct anomaly *an, struct engine *e, const struct vigil_box *boxes,
		   int n, int64_t now_us);
/* The stream is gone: end open loitering events, forget the tracks. */
void anomaly_reset(struct anomaly *an, struct engine *e, int64_t now_us);
/* Whether (x, y) is inside polygon pts (n corners), even-odd rule. */
int anomaly_inside(const float *pts, int n, float x, float y);

#endif
