/* Per-camera analysis; see analysis.h. */
#include "analysis.h"
#include "snapshot.h"

#include <libavutil/mathematics.h>
#include <libavutil/pixdesc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int64_t analysis_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void analysis_init(struct analysis *a, const struct vigil_camera *conf,
		   const char *plugin_dir, struct alert_queue *alerts)
{
	memset(a, 0, sizeof(*a));
	a->conf = conf;
	a->plugin_dir = plugin_dir;
	a->width = conf->analysis_width > 0 ? conf->analysis_width : 320;
	a->rate = 25;
	engine_init(&a->engine, conf, alerts);
	anomaly_init(&a->anomaly, conf);
	for (int i = 0; i < conf->nzones && i < ANALYSIS_MAX_ZONES; i++)
		a->zones[i] = conf->zones[i].z;
	for (int i = 0; i < conf->nmasks && i < ANALYSIS_MAX_ZONES; i++)
		a->masks[i] = conf->masks[i].z;
}

void analysis_set_rate(struct analysis *a, double fps)
{
	a->rate = fps;
	engine_set_fps(&a->engine, fps);
	a->settled = 0;
	a->settle_frames = 0;
}

void analysis_skip_repeats(struct analysis *a, int on)
{
	a->skip_repeats = on;
	a->bframes = 0;
}

void analysis_emit(struct analysis *a, const char *type, const char *phase,
		   const char *id, int64_t ts_us, int64_t start_us, const char *detail)
{
	engine_emit(&a->engine, type, phase, id, ts_us, start_us, -1, NULL, detail);
}

/* Destroy the camera's plugin instances (they are rebuilt on demand). */
static void analysis_stop_plugins(struct analysis *a)
{
	for (int i = 0; i < a->nplugins; i++)
		plugin_instance_free(&a->plugins[i]);
	a->nplugins = 0;
	a->ready = 0;
}

/* Start the camera's detectors for the current analysis size. A detector
 * that fails is logged and left out; the others run. */
static void analysis_start_plugins(struct analysis *a)
{
	const struct luma_frame *f = &a->scaler.out;
	struct vigil_setup setup = {
		.camera = a->conf->id, .width = f->width, .height = f->height,
		.fps = a->rate, .zones = a->zones,
		.nzones = a->conf->nzones < ANALYSIS_MAX_ZONES ? a->conf->nzones
							       : ANALYSIS_MAX_ZONES,
		.masks = a->masks,
		.nmasks = a->conf->nmasks < ANALYSIS_MAX_ZONES ? a->conf->nmasks
							       : ANALYSIS_MAX_ZONES,
	};

	analysis_stop_plugins(a);
	for (int i = 0; i < a->conf->ndetectors && a->nplugins < ANALYSIS_MAX_PLUGINS; i++) {
		struct plugin_instance *pi = &a->plugins[a->nplugins];
		char err[sizeof(a->last_error)];

		if (plugin_instance_init(pi, a->plugin_dir, &a->conf->detectors[i], &setup,
					 err, sizeof(err)) < 0) {
			log_err(a->conf->id, "%s, running without it", err);
			snprintf(a->last_error, sizeof(a->last_error), "%s", err);
			plugin_instance_free(pi);
			continue;
		}
		a->detector[a->nplugins] = i;
		a->nplugins++;
	}
	a->ready = 1;
	a->ref_ok = 0;
}

/* A plugin reported a type it did not declare: the host refused it. Said
 * once per camera and detector, however often it happens. */
static void analysis_refused(struct analysis *a, int k)
{
	const struct plugin_instance *pi = &a->plugins[k];
	unsigned bit = 1u << (a->detector[k] & 31);

	if (a->refused_logged & bit)
		return;
	a->refused_logged |= bit;
	log_warn(a->conf->id, "detector '%s' reported '%s', which is not among its kinds: "
		 "refused (this is said once)", pi->p->name, pi->refused_type);
}

/* Keep the boxes of a motion observation as objects for the tracker; an
 * object in two zones is reported in both, and kept once. */
static void analysis_objects(const struct vigil_observation *o, struct vigil_box *boxes,
			     int *n, int max)
{
	if (strcmp(o->type, "motion") != 0)
		return;
	for (int b = 0; b < o->nboxes && b < VIGIL_MAX_BOXES && *n < max; b++) {
		int dup = 0;
		for (int k = 0; k < *n && !dup; k++)
			dup = !memcmp(&boxes[k], &o->boxes[b], sizeof(boxes[k]));
		if (!dup)
			boxes[(*n)++] = o->boxes[b];
	}
}

/* Every detector, then the tracks and what is built on them, then the
 * event engine, on one downscaled frame (frame: the decoded picture it
 * came from, for snapshots). */
static void analysis_detect(struct analysis *a, const struct luma_frame *lf,
			    const AVFrame *frame)
{
	struct vigil_frame f = {
		.data = lf->data, .width = lf->width, .height = lf->height,
		.stride = lf->stride, .pts_us = lf->pts_us, .wall_us = lf->wall_us,
		.key = frame && (frame->key_frame || frame->pict_type == AV_PICTURE_TYPE_I),
		.tracks = a->anomaly.tracker.t, .ntracks = a->anomaly.tracker.n,
	};
	struct vigil_box boxes[TRACK_MAX * 2];
	int nboxes = 0;
	struct vigil_observations obs;
	int64_t t0 = analysis_mono_us();

	for (int i = 0; i < a->nplugins; i++) {
		const struct vigil_plugin *p = a->plugins[i].p;
		int r = plugin_instance_process(&a->plugins[i], &f, &obs);

		if (a->plugins[i].refused)
			analysis_refused(a, i);
		if (r < 0)
			continue;
		for (int k = 0; k < obs.count && k < VIGIL_MAX_OBS; k++) {
			const struct vigil_observation *o = &obs.obs[k];
			if (o->zone >= a->conf->nzones || o->zone < -1 || !o->type)
				continue;
			analysis_objects(o, boxes, &nboxes, TRACK_MAX * 2);
			engine_observe(&a->engine, o, plugin_kind(p, o->type), f.wall_us);
		}
	}
	atomic_fetch_add(&a->detect_us, (unsigned long)(analysis_mono_us() - t0));
	atomic_fetch_add(&a->frames_analysed, 1);
	/* Events that start take their snapshot from this frame. */
	a->engine.rec = a->rec;
	a->engine.frame = frame;
	anomaly_frame(&a->anomaly, &a->engine, boxes, nboxes, f.wall_us);
	activity_frame(&a->anomaly.activity, &a->engine, &a->anomaly.tracker, f.wall_us,
		       a->time_base.num > 0 && f.pts_us != AV_NOPTS_VALUE
		       ? av_rescale_q(f.pts_us, a->time_base, AV_TIME_BASE_Q) : 0);
	engine_step(&a->engine, f.wall_us);
	a->engine.frame = NULL;
}

/* Stream time of a frame in microseconds, or AV_NOPTS_VALUE. */
static int64_t analysis_frame_us(const struct analysis *a, const AVFrame *frame)
{
	if (frame->best_effort_timestamp == AV_NOPTS_VALUE || a->time_base.num <= 0)
		return AV_NOPTS_VALUE;
	return av_rescale_q(frame->best_effort_timestamp, a->time_base, AV_TIME_BASE_Q);
}

/* Does this frame repeat the last analysed picture, so that analysing
 * it again would tell nothing? Only P frames of streams without B
 * frames are taken for repeats, as encoders send them. Keyframes are
 * always analysed (detectors judge their re-coding). B frames
 * interpolate a still scene's noise away, so that they and the P frames
 * they lean on look alike though the sensor sent new pictures: once one
 * is seen, the connection's frames are all analysed. A repeat is
 * analysed at least every ANALYSIS_REPEAT_GAP_US, so that time-based
 * judgements (a frozen picture, an event's end) still see time pass. */
static int analysis_repeat(struct analysis *a, const AVFrame *frame, int64_t t)
{
	if (frame->pict_type == AV_PICTURE_TYPE_B)
		a->bframes = 1;
	if (!a->skip_repeats || a->bframes || !a->ref_ok || frame->key_frame ||
	    frame->pict_type != AV_PICTURE_TYPE_P || t == AV_NOPTS_VALUE ||
	    a->ref_us == AV_NOPTS_VALUE || t < a->ref_us || t - a->ref_us >= ANALYSIS_REPEAT_GAP_US)
		return 0;
	return luma_repeat(&a->scaler.out, a->ref);
}

/* An analysed frame (stream time t) becomes the reference for the next
 * ones. Over the first ANALYSIS_SETTLE_US, count them: a stream that
 * repeats its pictures gives the detectors fewer frames a second than
 * its frame rate says, and their timing (background adaptation,
 * learning, frames to start an event) rests on that rate. When it is
 * well below the nominal one, they are set up again for the measured
 * rate (once per connection). */
static void analysis_keep(struct analysis *a, int64_t t)
{
	const struct luma_frame *f = &a->scaler.out;
	double fps;

	if (!a->skip_repeats)
		return;
	if (!a->ref) {
		a->ref = malloc((size_t)f->width * (size_t)f->height);
		if (!a->ref)
			return;
	}
	for (int y = 0; y < f->height; y++)
		memcpy(a->ref + (size_t)y * (size_t)f->width, f->data + (size_t)y * (size_t)f->stride,
		       (size_t)f->width);
	a->ref_ok = 1;
	a->ref_us = t;
	if (a->settled || t == AV_NOPTS_VALUE)
		return;
	if (a->settle_frames == 0 || t < a->settle_from_us) {
		a->settle_frames = 1;
		a->settle_from_us = t;
		return;
	}
	a->settle_frames++;
	if (t - a->settle_from_us < ANALYSIS_SETTLE_US)
		return;
	a->settled = 1;
	fps = (a->settle_frames - 1) * 1e6 / (double)(t - a->settle_from_us);
	if (!(fps < 0.8 * a->rate))
		return;
	log_info(a->conf->id, "%.1f distinct pictures a second in a %.0f fps stream: "
		 "detectors set up for that rate", fps, a->rate);
	analysis_set_rate(a, fps);
	a->settled = 1;
	analysis_start_plugins(a);
}

/* A picture was asked for (the HTTP API): write this analysed frame as
 * JPEG. Costs one encode per request, on this thread, only when asked;
 * requests that arrive together share it. */
static void analysis_picture(struct analysis *a, const AVFrame *frame)
{
	unsigned asked;
	int64_t r;

	if (!a->picture_asked)
		return;
	asked = atomic_load(a->picture_asked);
	if (asked == atomic_load(a->picture_done))
		return;
	r = snapshot_write(a->picture_path, frame, NULL, 0);
	if (r < 0)
		log_warn(a->conf->id, "picture for the HTTP API: cannot write %s: %s",
			 a->picture_path, av_err2str((int)r));
	/* Answered either way: the request fails fast instead of waiting. */
	atomic_store(a->picture_done, asked);
}

void analysis_frame(struct analysis *a, const AVFrame *frame, int64_t wall_us)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(frame->format);
	int banded = luma_band_take(&a->scaler, frame->data[0], frame->linesize[0]);
	int64_t t;
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
	if (r > 0) {
		free(a->ref);
		a->ref = NULL;
	}
	if (r > 0 || !a->ready) {
		log_info(a->conf->id, "analysing %dx%d as %dx%d", frame->width,
			 frame->height, a->scaler.out.width, a->scaler.out.height);
		analysis_start_plugins(a);
	}
	if (r > 0 || !banded)
		luma_scale(&a->scaler, frame->data[0], frame->linesize[0]);
	t = analysis_frame_us(a, frame);
	if (analysis_repeat(a, frame, t)) {
		atomic_fetch_add(&a->frames_repeated, 1);
	} else {
		a->scaler.out.wall_us = wall_us;
		a->scaler.out.pts_us = frame->best_effort_timestamp;
		analysis_detect(a, &a->scaler.out, frame);
		analysis_keep(a, t);
	}
	analysis_picture(a, frame);
}

void analysis_band(struct analysis *a, const AVFrame *pic, int width, int height,
		   int y, int h)
{
	/* A new geometry is set up by the first whole frame. */
	if (width != a->scaler.in_w || height != a->scaler.in_h)
		return;
	luma_scale_band(&a->scaler, pic->data[0], pic->linesize[0], y, h);
}

void analysis_skip(struct analysis *a, const AVFrame *frame)
{
	luma_band_take(&a->scaler, frame->data[0], frame->linesize[0]);
}

void analysis_reset(struct analysis *a, int64_t wall_us, const char *reason)
{
	a->engine.rec = a->rec;
	anomaly_reset(&a->anomaly, &a->engine, wall_us);
	engine_reset(&a->engine, wall_us, reason);
	analysis_stop_plugins(a);
}

void analysis_free(struct analysis *a)
{
	if (!a)
		return;
	analysis_stop_plugins(a);
	luma_scaler_free(&a->scaler);
	free(a->ref);
	a->ref = NULL;
}
