/* Anomalies built on tracks; see anomaly.h. */
#include "anomaly.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "schedule.h"

void anomaly_init(struct anomaly *an, const struct vigil_camera *conf)
{
	memset(an, 0, sizeof(*an));
	an->conf = conf;
	tracker_init(&an->tracker, ANOMALY_COAST_S);
	activity_init(&an->activity, conf);
	for (int i = 0; i < conf->nlines && an->nlines < ANOMALY_MAX_LINES; i++)
		tripwire_init(&an->lines[an->nlines++], &conf->lines[i]);
	for (int z = 0; z < conf->nzones && an->ndwell < ANOMALY_MAX_DWELL; z++)
		if (conf->zones[z].dwell > 0)
			an->dwell[an->ndwell++].zone = z;
}

int anomaly_inside(const float *p, int n, float x, float y)
{
	int in = 0;

	for (int i = 0, j = n - 1; i < n; j = i++) {
		float xi = p[2 * i], yi = p[2 * i + 1], xj = p[2 * j], yj = p[2 * j + 1];
		if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
			in = !in;
	}
	return in;
}

/* One alert about a track, naming the clip of its event: a start's
 * clip begins pre-roll before from_us. */
static void anomaly_alert(struct engine *e, const char *type, const char *phase,
			  const char *id, int64_t now_us, int64_t start_us, int zone,
			  const struct vigil_track *t, const char *line, const char *dir,
			  double dwell, int64_t from_us)
{
	struct alert al = {
		.type = type, .phase = phase, .id = id, .ts_us = now_us, .start_us = start_us,
		.score = 1, .boxes = t ? &t->box : NULL, .nboxes = t ? 1 : 0,
		.track = t ? t->id : 0, .line = line, .direction = dir, .dwell = dwell,
		.clip_duration = -1, .clip_size = -1,
	};

	/* Loitering lasts: kept open on disk until its end is sent. */
	engine_send_recorded(e, &al, zone, from_us, !strcmp(type, "loitering"));
}

static void anomaly_lines(struct anomaly *an, struct engine *e, int64_t now_us)
{
	struct tripwire_crossing cross[TRACK_MAX];
	char id[160];

	for (int l = 0; l < an->nlines; l++) {
		struct tripwire *tw = &an->lines[l];
		int n = tripwire_step(tw, an->tracker.t, an->tracker.n, now_us, cross);

		for (int k = 0; k < n; k++) {
			const struct vigil_track *t = &an->tracker.t[cross[k].track];
			const char *dir = cross[k].dir == LINE_A_B ? "a-b" : "b-a";

			atomic_fetch_add(&an->crossed, 1);
			if (!(tw->conf->direction & cross[k].dir))
				continue;      /* counted, not alerted */
			snprintf(id, sizeof(id), "%s-line.crossed-%s-%lld-%u", an->conf->id,
				 tw->conf->name, (long long)(now_us / 1000), t->id);
			/* An instant: its start and its end together. */
			anomaly_alert(e, "line.crossed", "start", id, now_us, 0, -1, t,
				      tw->conf->name, dir, 0, now_us);
			anomaly_alert(e, "line.crossed", "end", id, now_us, now_us, -1, t,
				      tw->conf->name, dir, 0, now_us);
		}
	}
}

/* Counts of the interval that ended, for every line. */
static void anomaly_counts(struct anomaly *an, struct engine *e, int64_t now_us)
{
	int64_t every = (int64_t)(an->conf->count_interval > 0 ? an->conf->count_interval
							       : ANOMALY_COUNT_DEFAULT) * 1000000;

	if (!an->nlines)
		return;
	if (!an->count_from_us || now_us < an->count_from_us)
		an->count_from_us = now_us;
	if (now_us - an->count_from_us < every)
		return;
	for (int l = 0; l < an->nlines; l++) {
		struct tripwire *tw = &an->lines[l];
		int r = alert_queue_push_count(e->alerts, an->conf, tw->conf->name,
					       an->count_from_us, an->count_from_us + every,
					       tw->count[0], tw->count[1]);
		if (r < 0)
			log_warn(an->conf->id, "count of line '%s' dropped (%s)", tw->conf->name,
				 r == -ENOBUFS ? "alert queue full" : "cannot be queued");
		tw->count[0] = tw->count[1] = 0;
	}
	an->count_from_us += every;
	/* After a long gap (no frames), start afresh rather than catch up. */
	if (now_us - an->count_from_us >= every)
		an->count_from_us = now_us;
}

static const struct vigil_track *anomaly_track(const struct anomaly *an, uint32_t id)
{
	for (int i = 0; i < an->tracker.n; i++)
		if (an->tracker.t[i].id == id)
			return &an->tracker.t[i];
	return NULL;
}

/* End a stay: its loitering event, if it had one. */
static void anomaly_leave(struct engine *e, struct anomaly_dwell *d, int k,
			  const struct vigil_track *t, int64_t now_us)
{
	struct anomaly_stay *s = &d->stays[k];

	if (s->alerted)
		anomaly_alert(e, "loitering", "end", s->id, now_us, s->enter_us, d->zone, t, NULL,
			      NULL, (double)(now_us - s->enter_us) / 1e6, s->enter_us);
	d->stays[k] = d->stays[--d->nstays];
}

/* Whether track t's centre is inside the box of a larger track: the
 * motion detector sometimes reports a piece of one object (its legs) as
 * an object of its own for a while; the piece does not loiter apart. */
static int anomaly_part_of_other(const struct anomaly *an, const struct vigil_track *t)
{
	float cx = t->box.x + t->box.w / 2, cy = t->box.y + t->box.h / 2;

	for (int i = 0; i < an->tracker.n; i++) {
		const struct vigil_track *o = &an->tracker.t[i];
		if (o != t && o->box.w * o->box.h > t->box.w * t->box.h && cx >= o->box.x &&
		    cx <= o->box.x + o->box.w && cy >= o->box.y && cy <= o->box.y + o->box.h)
			return 1;
	}
	return 0;
}

static void anomaly_dwell(struct anomaly *an, struct engine *e, int64_t now_us)
{
	for (int z = 0; z < an->ndwell; z++) {
		struct anomaly_dwell *d = &an->dwell[z];
		const struct vigil_zone_conf *zc = &an->conf->zones[d->zone];
		int64_t dwell_us = (int64_t)(zc->dwell * 1e6);

		/* Stays that ended: the track left the zone or was lost. */
		for (int k = d->nstays - 1; k >= 0; k--) {
			const struct vigil_track *t = anomaly_track(an, d->stays[k].track);
			if (!t || !anomaly_inside(zc->z.points, zc->z.npoints, t->box.x + t->box.w / 2,
						  t->box.y + t->box.h / 2))
				anomaly_leave(e, d, k, t, now_us);
		}
		for (int i = 0; i < an->tracker.n; i++) {
			const struct vigil_track *t = &an->tracker.t[i];
			struct anomaly_stay *s = NULL;

			for (int k = 0; k < d->nstays && !s; k++)
				if (d->stays[k].track == t->id)
					s = &d->stays[k];
			if (!s) {
				if (t->hidden || d->nstays == TRACK_MAX ||
				    !anomaly_inside(zc->z.points, zc->z.npoints,
						    t->box.x + t->box.w / 2, t->box.y + t->box.h / 2))
					continue;
				s = &d->stays[d->nstays++];
				memset(s, 0, sizeof(*s));
				s->track = t->id;
				s->enter_us = now_us;
				continue;
			}
			if (s->alerted || now_us - s->enter_us < dwell_us ||
			    !schedule_armed(&zc->schedule, (time_t)(now_us / 1000000)))
				continue;
			if (anomaly_part_of_other(an, t))
				continue;            /* a piece of another object */
			s->alerted = 1;
			snprintf(s->id, sizeof(s->id), "%s-loitering-%s-%lld-%u", an->conf->id,
				 zc->name, (long long)(now_us / 1000), t->id);
			/* The clip shows the whole stay, as far as the
			 * recorder's ring reaches back (recorder.h). */
			anomaly_alert(e, "loitering", "start", s->id, now_us, 0, d->zone, t, NULL,
				      NULL, (double)(now_us - s->enter_us) / 1e6, s->enter_us);
		}
	}
}

void anomaly_frame(struct anomaly *an, struct engine *e, const struct vigil_box *boxes,
		   int n, int64_t now_us)
{
	tracker_update(&an->tracker, boxes, n, now_us);
	anomaly_lines(an, e, now_us);
	anomaly_counts(an, e, now_us);
	anomaly_dwell(an, e, now_us);
}

void anomaly_reset(struct anomaly *an, struct engine *e, int64_t now_us)
{
	for (int z = 0; z < an->ndwell; z++)
		while (an->dwell[z].nstays)
			anomaly_leave(e, &an->dwell[z], an->dwell[z].nstays - 1, NULL, now_us);
	tracker_init(&an->tracker, ANOMALY_COAST_S);
	for (int l = 0; l < an->nlines; l++)
		an->lines[l].nmarks = 0;
}
