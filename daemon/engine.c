/* Event engine; see engine.h. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

void engine_init(struct engine *e, const struct vigil_camera *conf,
		 struct alert_queue *alerts)
{
	memset(e, 0, sizeof(*e));
	e->conf = conf;
	e->alerts = alerts;
	e->fps = 25.0;
	evstore_init(&e->store, NULL, conf->id);
}

/* A track's frames to start an event and its end gap, from its kind's
 * times and the frame rate. */
static void engine_track_timing(const struct engine *e, struct engine_track *t)
{
	int frames = t->start_s >= 0 ? (int)ceil(t->start_s * e->fps - 1e-6) : 1;

	t->ev.start_frames = frames > 0 ? frames : 1;
	t->ev.end_gap_us = t->end_s > 0 ? (int64_t)(t->end_s * 1e6) : 2000000;
	/* At low analysis rates (one frame a GOP) a gap spans frames. */
	if (t->ev.end_gap_us < (int64_t)(2.5e6 / e->fps))
		t->ev.end_gap_us = (int64_t)(2.5e6 / e->fps);
}

void engine_set_fps(struct engine *e, double fps)
{
	if (!(fps > 0 && fps < 1000))
		return;
	e->fps = fps;
	for (int i = 0; i < e->ntracks; i++)
		engine_track_timing(e, &e->tracks[i]);
}

/* Severity: the camera site's, raised to the zone's own when higher. */
static const char *engine_severity(const struct engine *e, int zone)
{
	int rank = config_severity_rank(config_site_severity(e->conf->site));

	if (zone >= 0 && zone < e->conf->nzones && e->conf->zones[zone].severity) {
		int z = config_severity_rank(e->conf->zones[zone].severity);
		if (z > rank)
			rank = z;
	}
	return config_severity_name(rank);
}

static const char *engine_zone_name(const struct engine *e, int zone)
{
	return zone >= 0 && zone < e->conf->nzones ? e->conf->zones[zone].name : NULL;
}

/* Queue one alert whose severity and zone are set, and log it. */
static void engine_queue(struct engine *e, struct alert *al)
{
	char ts[40];

	al->cam = e->conf;
	int r = alert_queue_push(e->alerts, al);
	if (r < 0) {
		/* A part that cannot be in a topic is logged where it is found. */
		if (r != -EINVAL)
			log_err(e->conf->id, "alert queue full, %s %s alert dropped", al->type,
				al->phase);
		return;
	}
	log_info(e->conf->id, "alert %s %s id=%s%s%s%s%s", al->type, al->phase, al->id,
		 al->zone ? " zone=" : "", al->zone ? al->zone : "",
		 al->clip && *al->clip ? " clip=" : "", al->clip ? al->clip : "");
	/* For the status report. */
	alert_format_time(al->ts_us, ts, sizeof(ts));
	snprintf(e->last_alert, sizeof(e->last_alert), "%s %s %s", al->type, al->phase, ts);
}

/* Fill and queue one alert of the current frame, and log it. */
void engine_send(struct engine *e, struct alert *al, int zone)
{
	al->frame = e->frame;
	al->severity = engine_severity(e, zone);
	al->zone = engine_zone_name(e, zone);
	engine_queue(e, al);
}

/* An event an earlier run left open: it ends now, for want of anyone
 * who could still see it end. */
static void engine_end_left(void *arg, const struct evstore_event *ev)
{
	struct engine *e = arg;
	struct timespec now;
	struct alert al = {
		.type = ev->type, .phase = "end", .id = ev->id, .start_us = ev->start_us,
		.severity = ev->severity, .zone = ev->zone[0] ? ev->zone : NULL,
		.clip = ev->clip, .clip_duration = -1, .clip_size = -1,
		.reason = "worker_restart",
	};

	clock_gettime(CLOCK_REALTIME, &now);
	al.ts_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	log_info(e->conf->id, "%s event %s was open when the camera last stopped, ending it",
		 ev->type, ev->id);
	engine_queue(e, &al);
}

void engine_recover(struct engine *e, const char *data_dir)
{
	evstore_init(&e->store, data_dir, e->conf->id);
	evstore_drain(&e->store, engine_end_left, e);
}

void engine_event_open(struct engine *e, const struct alert *al)
{
	struct evstore_event ev = { .start_us = al->ts_us };

	snprintf(ev.id, sizeof(ev.id), "%s", al->id);
	snprintf(ev.type, sizeof(ev.type), "%s", al->type);
	snprintf(ev.zone, sizeof(ev.zone), "%s", al->zone ? al->zone : "");
	snprintf(ev.severity, sizeof(ev.severity), "%s", al->severity ? al->severity : "");
	snprintf(ev.clip, sizeof(ev.clip), "%s", al->clip ? al->clip : "");
	evstore_save(&e->store, &ev);
}

void engine_send_recorded(struct engine *e, struct alert *al, int zone, int64_t from_us,
			  int keep)
{
	struct recorder_info ri = { .clip = "" };
	int start = !strcmp(al->phase, "start");

	if (e->rec && start) {
		recorder_event_start(e->rec, al->type, al->id, from_us, e->frame, al->boxes,
				     al->nboxes, &ri);
		al->clip = ri.clip;
		al->snapshot = ri.snapshot;
	} else if (e->rec) {
		recorder_event_end(e->rec, al->id, al->ts_us, &ri);
		al->clip = ri.clip;
		al->clip_duration = ri.clip[0] ? ri.duration : -1;
		al->clip_size = ri.size;
	}
	engine_send(e, al, zone);
	if (keep && start)
		engine_event_open(e, al);
	else if (keep)
		engine_event_closed(e, al->id);
	/* ri is this call's: nothing may point into it after. */
	al->clip = al->snapshot = NULL;
}

void engine_event_closed(struct engine *e, const char *id)
{
	evstore_remove(&e->store, id);
}

void engine_emit(struct engine *e, const char *type, const char *phase,
		 const char *id, int64_t ts_us, int64_t start_us, int zone,
		 const struct vigil_observation *o, const char *detail)
{
	struct alert al = {
		.type = type, .phase = phase, .id = id, .ts_us = ts_us,
		.start_us = start_us, .score = o ? o->score : 0,
		.boxes = o ? o->boxes : NULL, .nboxes = o ? o->nboxes : 0,
		.detail = detail, .clip_duration = -1, .clip_size = -1,
	};

	engine_send(e, &al, zone);
}

/* An event starts: the recorder opens its clip and takes a snapshot of
 * this frame, both named in the alert. */
static void engine_start(struct engine *e, struct engine_track *t)
{
	struct recorder_info ri = { .clip = "" };
	struct alert al = {
		.type = t->type, .phase = "start", .id = t->ev.id, .ts_us = t->ev.first_us,
		.score = t->last.score, .boxes = t->last.boxes, .nboxes = t->last.nboxes,
		.clip_duration = -1, .clip_size = -1,
	};

	struct evstore_event ev = { .start_us = t->ev.first_us };

	if (e->rec) {
		recorder_event_start(e->rec, t->type, t->ev.id, t->ev.first_us, e->frame,
				     t->last.boxes, t->last.nboxes, &ri);
		al.clip = ri.clip;
		al.snapshot = ri.snapshot;
	}
	/* On disk before the start leaves, so that no start goes out whose
	 * end a dead worker could not send. */
	snprintf(ev.id, sizeof(ev.id), "%s", t->ev.id);
	snprintf(ev.type, sizeof(ev.type), "%s", t->type);
	snprintf(ev.zone, sizeof(ev.zone), "%s",
		 engine_zone_name(e, t->zone) ? engine_zone_name(e, t->zone) : "");
	snprintf(ev.severity, sizeof(ev.severity), "%s", engine_severity(e, t->zone));
	snprintf(ev.clip, sizeof(ev.clip), "%s", ri.clip);
	evstore_save(&e->store, &ev);
	engine_send(e, &al, t->zone);
}

/* The track of (type, zone), made on first sight with the kind's timing;
 * NULL when the camera already has ENGINE_MAX_TRACKS. */
static struct engine_track *engine_track(struct engine *e, const char *type, int zone,
					 const struct vigil_event_kind *kind)
{
	struct engine_track *t;

	for (int i = 0; i < e->ntracks; i++)
		if (e->tracks[i].zone == zone && strcmp(e->tracks[i].type, type) == 0)
			return &e->tracks[i];
	if (e->ntracks == ENGINE_MAX_TRACKS)
		return NULL;
	t = &e->tracks[e->ntracks++];
	memset(t, 0, sizeof(*t));
	snprintf(t->type, sizeof(t->type), "%s", type);
	t->zone = zone;
	/* The checker bounds ids and zone names; a plugin's type is not, and
	 * a long one cuts the type or the event ids ("<id>-<type>[-<zone>]-<ms>"). */
	if (strlen(e->conf->id) + strlen(type) + 15 +
	    (zone >= 0 ? strlen(e->conf->zones[zone].name) + 1 : 0) >= sizeof(t->ev.id) ||
	    strlen(type) >= sizeof(t->type))
		log_warn(e->conf->id, "alert type '%s' is too long: its event ids are cut "
			 "to %zu characters", type, sizeof(t->ev.id) - 1);
	event_init(&t->ev, 1);
	t->start_s = kind ? kind->start_s : -1;
	t->end_s = kind ? kind->end_s : 0;
	engine_track_timing(e, t);
	return t;
}

/* Is the zone armed at this time? Observations outside zones always are. */
static int engine_armed(const struct engine *e, int zone, int64_t wall_us)
{
	if (zone < 0 || zone >= e->conf->nzones)
		return 1;
	return schedule_armed(&e->conf->zones[zone].schedule, (time_t)(wall_us / 1000000));
}

void engine_observe(struct engine *e, const struct vigil_observation *o,
		    const struct vigil_event_kind *kind, int64_t wall_us)
{
	struct engine_track *t;

	if (!o->type || !engine_armed(e, o->zone, wall_us))
		return;
	t = engine_track(e, o->type, o->zone, kind);
	if (!t)
		return;
	t->seen = 1;
	t->last = *o;
	t->last.type = NULL;     /* the plugin's string; the track has a copy */
}

/* Grow the event's span by the boxes of its newest observation. */
static void engine_span(struct engine_track *t)
{
	for (int i = 0; i < t->last.nboxes; i++) {
		const struct vigil_box *b = &t->last.boxes[i];
		if (!t->have_span) {
			t->span = *b;
			t->have_span = 1;
			continue;
		}
		float x1 = fmaxf(t->span.x + t->span.w, b->x + b->w);
		float y1 = fmaxf(t->span.y + t->span.h, b->y + b->h);
		t->span.x = fminf(t->span.x, b->x);
		t->span.y = fminf(t->span.y, b->y);
		t->span.w = x1 - t->span.x;
		t->span.h = y1 - t->span.y;
	}
}

/* Send the end of a track's event, with the event's extent as its box;
 * reason (may be NULL) says why it ended other than by a quiet gap: the
 * video was lost (the alert's reason "video_loss", the text its detail). */
static void engine_end(struct engine *e, struct engine_track *t, int64_t wall_us,
		       const char *reason)
{
	struct recorder_info ri = { .clip = "" };
	struct alert al = {
		.type = t->type, .phase = "end", .id = t->ev.id, .ts_us = wall_us,
		.start_us = t->ev.first_us, .score = t->last.score,
		.boxes = t->have_span ? &t->span : NULL, .nboxes = t->have_span,
		.detail = reason, .reason = reason ? "video_loss" : NULL,
		.clip_duration = -1, .clip_size = -1,
	};

	if (e->rec) {
		recorder_event_end(e->rec, t->ev.id, wall_us, &ri);
		al.clip = ri.clip;
		al.clip_duration = ri.clip[0] ? ri.duration : -1;
		al.clip_size = ri.size;
	}
	engine_send(e, &al, t->zone);
	evstore_remove(&e->store, t->ev.id);
	t->have_span = 0;
}

void engine_step(struct engine *e, int64_t wall_us)
{
	for (int i = 0; i < e->ntracks; i++) {
		struct engine_track *t = &e->tracks[i];
		char prefix[160];
		enum event_phase ph;

		if (t->zone >= 0)
			snprintf(prefix, sizeof(prefix), "%s-%s-%s", e->conf->id, t->type,
				 e->conf->zones[t->zone].name);
		else
			snprintf(prefix, sizeof(prefix), "%s-%s", e->conf->id, t->type);
		if (t->seen)
			engine_span(t);
		ph = event_step(&t->ev, t->seen, wall_us, prefix);
		t->seen = 0;
		if (!t->ev.active && t->ev.run == 0 && ph != EVENT_END)
			t->have_span = 0;     /* a run too short to start an event */
		switch (ph) {
		case EVENT_NONE:
			break;
		case EVENT_START:
			engine_start(e, t);
			break;
		case EVENT_UPDATE:
			engine_emit(e, t->type, "update", t->ev.id, wall_us, 0, t->zone,
				    &t->last, NULL);
			break;
		case EVENT_END:
			engine_end(e, t, wall_us, NULL);
			break;
		}
	}
}

void engine_reset(struct engine *e, int64_t wall_us, const char *reason)
{
	for (int i = 0; i < e->ntracks; i++) {
		struct engine_track *t = &e->tracks[i];
		int64_t gap = t->ev.end_gap_us;

		if (t->ev.active)
			engine_end(e, t, wall_us, reason);
		event_init(&t->ev, t->ev.start_frames);
		t->ev.end_gap_us = gap;
		t->seen = 0;
		t->have_span = 0;
	}
}
