/* Analysis of one camera's decoded frames: luma downscale, detection and
 * the event engine, ending in alerts on the worker's queue.
 *
 * Owned by the camera thread; nothing here blocks. */
#ifndef VIGIL_ANALYSIS_H
#define VIGIL_ANALYSIS_H

#include <libavutil/frame.h>
#include <stdatomic.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "event.h"
#include "luma.h"
#include "motion.h"
#include "recorder.h"

struct analysis {
	const struct vigil_camera *conf;
	struct alert_queue *alerts;
	struct recorder *rec;       /* clips of this camera's events, or NULL */
	const char *severity;
	int width;                  /* analysis width in pixels */
	double rate;                /* analysed frames per second */

	struct luma_scaler scaler;
	struct motion motion;
	int motion_ready;
	struct event_state motion_ev;
	struct motion_result last;  /* boxes of the newest observation */

	atomic_ulong frames_analysed;
	atomic_ulong frames_corrupt;
	char last_error[128];
};

void analysis_init(struct analysis *a, const struct vigil_camera *conf,
		   struct alert_queue *alerts);
/* Frames per second the analysis will see: tunes how many frames start
 * an event, how long a quiet gap ends one and how long the background
 * model learns, so that every analysis mode keeps the same timing. */
void analysis_set_rate(struct analysis *a, double fps);
/* Analyse one decoded frame that arrived at wall_us. */
void analysis_frame(struct analysis *a, const AVFrame *frame, int64_t wall_us);
/* The stream is gone: end open events at wall_us and relearn on return. */
void analysis_reset(struct analysis *a, int64_t wall_us);
void analysis_free(struct analysis *a);

/* Queue an alert of this camera and log it. */
void analysis_emit(struct analysis *a, const char *type, const char *phase,
		   const char *id, int64_t ts_us, int64_t start_us,
		   const struct motion_result *r, const char *detail);

#endif
