/* Per-camera analysis; see analysis.h. */
#include "analysis.h"

#include <libavutil/pixdesc.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define ANALYSIS_START_FRAMES 3   /* frames with motion to start an event */

void analysis_init(struct analysis *a, const struct vigil_camera *conf,
		   struct alert_queue *alerts)
{
	memset(a, 0, sizeof(*a));
	a->conf = conf;
	a->alerts = alerts;
	a->severity = config_site_severity(conf->site);
	a->width = conf->analysis_width > 0 ? conf->analysis_width : 320;
	a->rate = 25;
	event_init(&a->motion_ev, ANALYSIS_START_FRAMES);
}

/* Queue an alert and log it. */
static void analysis_send(struct analysis *a, struct alert *al)
{
	al->cam = a->conf;
	al->severity = a->severity;
	if (alert_queue_push(a->alerts, al) < 0)
		log_err(a->conf->id, "alert queue full, %s %s alert dropped", al->type, al->phase);
	else
		log_info(a->conf->id, "alert %s %s id=%s%s%s", al->type, al->phase, al->id,
			 al->clip && *al->clip ? " clip=" : "", al->clip ? al->clip : "");
}

void analysis_set_rate(struct analysis *a, double fps)
{
	int start = (int)(fps * 0.12 + 0.5);
	int64_t gap = (int64_t)(2.5e6 / fps);

	a->rate = fps;
	a->motion_ev.start_frames = start < 1 ? 1 : start;
	a->motion_ev.end_gap_us = gap > 2000000 ? gap : 2000000;
}

void analysis_emit(struct analysis *a, const char *type, const char *phase,
		   const char *id, int64_t ts_us, int64_t start_us,
		   const struct motion_result *r, const char *detail)
{
	struct alert al = {
		.type = type, .phase = phase, .id = id, .ts_us = ts_us, .start_us = start_us,
		.score = r ? r->score : 0, .boxes = r ? r->boxes : NULL,
		.nboxes = r ? r->nboxes : 0, .detail = detail, .clip_duration = -1,
	};

	analysis_send(a, &al);
}

/* A motion event starts: its clip and snapshot are named in the alert. */
static void analysis_motion_start(struct analysis *a, const AVFrame *frame)
{
	struct event_state *ev = &a->motion_ev;
	struct recorder_info ri;
	struct alert al = {
		.type = "motion", .phase = "start", .id = ev->id, .ts_us = ev->first_us,
		.score = a->last.score, .boxes = a->last.boxes, .nboxes = a->last.nboxes,
		.clip_duration = -1,
	};

	recorder_event_start(a->rec, "motion", ev->id, ev->first_us, frame, a->last.boxes,
			     a->last.nboxes, &ri);
	al.clip = ri.clip;
	al.snapshot = ri.snapshot;
	analysis_send(a, &al);
}

/* A motion event ends at now_us: the alert carries the clip as it is
 * (it goes on for the post-roll; final values are in the index). */
static void analysis_motion_end(struct analysis *a, int64_t now_us, int64_t started)
{
	struct recorder_info ri;
	struct alert al = {
		.type = "motion", .phase = "end", .id = a->motion_ev.id, .ts_us = now_us,
		.start_us = started,
	};

	recorder_event_end(a->rec, a->motion_ev.id, now_us, &ri);
	al.clip = ri.clip;
	al.clip_duration = ri.clip[0] ? ri.duration : -1;
	al.clip_size = ri.size;
	analysis_send(a, &al);
}

/* Motion, then the event engine, on one downscaled frame (frame: the
 * decoded picture it came from, for the snapshot). */
static void analysis_detect(struct analysis *a, const struct luma_frame *f,
			    const AVFrame *frame)
{
	struct event_state *ev = &a->motion_ev;
	struct motion_result r;
	enum event_phase ph;
	int64_t started = ev->first_us;

	motion_process(&a->motion, f, &r);
	atomic_fetch_add(&a->frames_analysed, 1);
	if (r.nboxes > 0)
		a->last = r;
	ph = event_step(ev, r.nboxes > 0, f->wall_us, a->conf->id);
	switch (ph) {
	case EVENT_NONE:
		break;
	case EVENT_START:
		analysis_motion_start(a, frame);
		break;
	case EVENT_UPDATE:
		analysis_emit(a, "motion", "update", ev->id, f->wall_us, 0, &a->last, NULL);
		break;
	case EVENT_END:
		analysis_motion_end(a, f->wall_us, started);
		break;
	}
}

void analysis_frame(struct analysis *a, const AVFrame *frame, int64_t wall_us)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(frame->format);
	int r;

	if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT)) {
		/* Concealment smear looks like motion: skip such frames. */
		atomic_fetch_add(&a->frames_corrupt, 1);
		return;
	}
	if (!d || (d->flags & AV_PIX_FMT_FLAG_RGB) || d->comp[0].depth != 8) {
		snprintf(a->last_error, sizeof(a->last_error),
			 "unsupported pixel format %s", d ? d->name : "?");
		return;
	}
	r = luma_scaler_setup(&a->scaler, frame->width, frame->height, a->width);
	if (r < 0)
		return;
	if (r > 0 || !a->motion_ready) {
		/* New geometry: rebuild the analysis state. */
		motion_free(&a->motion);
		a->motion_ready = motion_init(&a->motion, a->scaler.out.width,
					      a->scaler.out.height) == 0;
		/* Learn for about 0.4 s, and from at least two frames. */
		a->motion.learn_frames = (int)(a->rate * 0.4 + 0.5) > 2 ?
					 (int)(a->rate * 0.4 + 0.5) : 2;
		log_info(a->conf->id, "analysing %dx%d as %dx%d", frame->width,
			 frame->height, a->scaler.out.width, a->scaler.out.height);
	}
	if (!a->motion_ready)
		return;
	luma_scale(&a->scaler, frame->data[0], frame->linesize[0]);
	a->scaler.out.wall_us = wall_us;
	a->scaler.out.pts_us = frame->best_effort_timestamp;
	analysis_detect(a, &a->scaler.out, frame);
}

void analysis_reset(struct analysis *a, int64_t wall_us)
{
	if (a->motion_ev.active) {
		analysis_motion_end(a, wall_us, a->motion_ev.first_us);
		a->motion_ev.active = 0;
		a->motion_ev.run = 0;
	}
	a->motion_ready = 0;
}

void analysis_free(struct analysis *a)
{
	if (!a)
		return;
	luma_scaler_free(&a->scaler);
	motion_free(&a->motion);
}
