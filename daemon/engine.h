/* Event engine: the one place where observations become events.
 *
 * Detector plugins report, frame by frame, the conditions they see
 * (type, zone, boxes). The engine keeps one track per (type, zone): a run
 * of observations long enough for the type starts an event, an update is
 * sent at most every few seconds while it lasts, and a quiet gap ends it
 * (hysteresis in event.c). It drops observations in zones whose arming
 * schedule is off, gives each event an id and a severity (the higher of
 * the camera's site and the zone's own), has the recorder cut a clip and
 * a snapshot for it, and queues the alerts. Nothing here blocks: alerts
 * go to the worker's queue, clip data to the recorder's writer thread. */
#ifndef VIGIL_ENGINE_H
#define VIGIL_ENGINE_H

#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "event.h"
#include "evstore.h"
#include "recorder.h"
#include "vigil_plugin.h"

#define ENGINE_MAX_TRACKS 32

struct engine_track {
	char type[48];
	int zone;                        /* index into the camera's zones, -1 */
	struct event_state ev;
	double start_s, end_s;           /* the kind's timing (start_s < 0: none) */
	int seen;                        /* observed in the current frame */
	struct vigil_observation last;   /* newest observation */
	struct vigil_box span;           /* union of the event's boxes */
	int have_span;
};

struct engine {
	const struct vigil_camera *conf;
	struct alert_queue *alerts;
	struct recorder *rec;            /* clips of the events, or NULL */
	const AVFrame *frame;            /* picture of the current frame, or NULL */
	double fps;
	int ntracks;
	struct engine_track tracks[ENGINE_MAX_TRACKS];
	char last_alert[128];            /* "type phase time" of the newest alert */
	struct evstore store;            /* open events on disk (see evstore.h) */
};

void engine_init(struct engine *e, const struct vigil_camera *conf,
		 struct alert_queue *alerts);
/* Keep open events under data_dir from now on, and end, with reason
 * "worker_restart", those an earlier run of the camera left open. Call
 * before the camera's first frame. */
void engine_recover(struct engine *e, const char *data_dir);
/* Frame rate used to turn a kind's start time into frames; tracks that
 * exist already follow a change. */
void engine_set_fps(struct engine *e, double fps);
/* Record one observation of the current frame; kind may be NULL. */
void engine_observe(struct engine *e, const struct vigil_observation *o,
		    const struct vigil_event_kind *kind, int64_t wall_us);
/* Close the frame: advance every track and send what changed. */
void engine_step(struct engine *e, int64_t wall_us);
/* The stream is gone: end every open event at wall_us, its end alert
 * saying why in detail (reason; NULL: none). */
void engine_reset(struct engine *e, int64_t wall_us, const char *reason);

/* Queue an alert the caller filled (type, phase, id, times, boxes, ...):
 * the engine adds the camera, the current frame (thumbnail), the
 * severity and the zone's name (zone -1: none), and logs it. */
void engine_send(struct engine *e, struct alert *al, int zone);
/* An event started outside the engine's tracks (its start alert was
 * sent, al as engine_send filled it) is kept open on disk, so that a
 * restarted worker ends it (engine_recover); closed when it ended. */
void engine_event_open(struct engine *e, const struct alert *al);
/* engine_send for an event kept outside the engine's tracks (a line
 * crossed, loitering), with a clip: a start opens the camera's clip (or
 * joins the open one) from the keyframe before from_us - pre_seconds and
 * takes the snapshot; an end lets the clip run post_seconds more. Both
 * name the clip; an instant is a start and an end on the same frame.
 * keep: an event that lasts, kept open on disk from its start to its end
 * (engine_event_open / engine_event_closed). The clip names live only
 * during the call: al's clip and snapshot are NULL again after it. */
void engine_send_recorded(struct engine *e, struct alert *al, int zone, int64_t from_us,
			  int keep);
void engine_event_closed(struct engine *e, const char *id);
/* Queue one alert of this camera and log it. zone -1: none; o may be
 * NULL (no boxes). */
void engine_emit(struct engine *e, const char *type, const char *phase,
		 const char *id, int64_t ts_us, int64_t start_us, int zone,
		 const struct vigil_observation *o, const char *detail);

#endif
