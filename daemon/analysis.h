/* Analysis of one camera's decoded frames: luma downscale, the camera's
 * detector plugins, and the event engine, ending in alerts on the
 * worker's queue.
 *
 * Owned by the camera thread; nothing here blocks. Plugin instances are
 * (re)built when the picture size changes. */
#ifndef VIGIL_ANALYSIS_H
#define VIGIL_ANALYSIS_H

#include <libavutil/frame.h>
#include <libavutil/rational.h>
#include <stdatomic.h>
#include <stdint.h>

#include "alert.h"
#include "anomaly.h"
#include "config.h"
#include "engine.h"
#include "luma.h"
#include "plugin.h"
#include "recorder.h"

#define ANALYSIS_MAX_PLUGINS 8
#define ANALYSIS_MAX_ZONES 32
#define ANALYSIS_REPEAT_GAP_US 200000   /* a repeat is analysed after this long */
#define ANALYSIS_SETTLE_US 2000000      /* the analysed rate is measured over this */

struct analysis {
	const struct vigil_camera *conf;
	const char *plugin_dir;
	struct recorder *rec;       /* clips of this camera's events, or NULL */
	int width;                  /* analysis width in pixels */
	double rate;                /* analysed frames per second */
	AVRational time_base;       /* of the frames' timestamps (0/0: unknown) */

	struct luma_scaler scaler;
	/* Repeated pictures (see luma_repeat): when skip_repeats is set, a
	 * frame that repeats the last analysed one (ref, taken at ref_us,
	 * stream time) is not analysed again, unless ANALYSIS_REPEAT_GAP_US
	 * passed; the rate the detectors see is then measured over the
	 * first ANALYSIS_SETTLE_US of analysis and they are set up for it. */
	int skip_repeats;
	int bframes;                /* B frames seen: no repeats taken */
	uint8_t *ref;
	int ref_ok;
	int64_t ref_us;
	int settled;                /* the analysed rate was measured */
	int settle_frames;          /* frames analysed since settle_from_us */
	int64_t settle_from_us;
	struct plugin_instance plugins[ANALYSIS_MAX_PLUGINS];
	int detector[ANALYSIS_MAX_PLUGINS];  /* plugins[k] runs conf->detectors[detector[k]] */
	int nplugins;
	unsigned refused_logged;    /* detectors whose refused types were logged */
	int ready;                  /* plugins started for this geometry */
	struct vigil_zone zones[ANALYSIS_MAX_ZONES];
	struct vigil_zone masks[ANALYSIS_MAX_ZONES];
	struct engine engine;
	struct anomaly anomaly;     /* tracks, lines, loitering */

	/* The HTTP API's picture requests (status.h); NULL: none. */
	atomic_uint *picture_asked, *picture_done;
	char picture_path[4200];    /* DATA_DIR/pictures/<id>.jpg */

	atomic_ulong frames_analysed;
	atomic_ulong frames_corrupt;
	atomic_ulong frames_repeated;  /* repeats left out of the analysis */
	atomic_ulong detect_us;     /* time spent in the plugins */
	char last_error[160];
};

void analysis_init(struct analysis *a, const struct vigil_camera *conf,
		   const char *plugin_dir, struct alert_queue *alerts);
/* Frames per second the analysis will see: the detectors and the event
 * engine tune their timing to it, so that every analysis mode keeps the
 * same behaviour in seconds. */
void analysis_set_rate(struct analysis *a, double fps);
/* Leave repeated pictures out of the analysis (full decoding). */
void analysis_skip_repeats(struct analysis *a, int on);
/* Analyse one decoded frame that arrived at wall_us. */
void analysis_frame(struct analysis *a, const AVFrame *frame, int64_t wall_us);
/* Rows [y, y + h) of the picture being decoded (width x height) are
 * final: downscale them while they are in cache (see luma.h). */
void analysis_band(struct analysis *a, const AVFrame *pic, int width, int height,
		   int y, int h);
/* A decoded frame that will not be analysed: forget its bands. */
void analysis_skip(struct analysis *a, const AVFrame *frame);
/* The stream is gone: end open events at wall_us (their end alerts carry
 * reason as detail; NULL: none) and relearn on return. */
void analysis_reset(struct analysis *a, int64_t wall_us, const char *reason);
void analysis_free(struct analysis *a);

/* Queue an alert of this camera that no detector made (video loss). */
void analysis_emit(struct analysis *a, const char *type, const char *phase,
		   const char *id, int64_t ts_us, int64_t start_us, const char *detail);

#endif
