/* tamper detector plugin: covered, defocused or moved camera, frozen
 * picture.
 *
 * The plugin first learns the camera's normal picture (brightness,
 * detail, sharpness, and a coarse thumbnail normalised by the frame's
 * own mean and deviation, so lighting does not change it), then keeps it
 * current slowly while nothing is wrong. Against it:
 *   tamper.covered  brightness or detail collapses (lens covered, sprayed,
 *                   pointed at a wall);
 *   tamper.defocus  sharpness (gradient energy) falls far below normal
 *                   while the picture is not covered;
 *   tamper.moved    most of the thumbnail no longer matches the reference
 *                   (an object passing changes only a few blocks); after
 *                   relearn seconds the new view becomes the reference;
 *   frozen          frames keep coming but none differs from the one
 *                   before for frozen seconds (tamper_frozen.c).
 * Each condition must hold for a while before it is reported, and is
 * reported on every frame while it lasts; the event engine makes start
 * and end of it. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tamper.h"

static const char *const tamper_types[TAMPER_KINDS] = {
	"tamper.covered", "tamper.defocus", "tamper.moved", "frozen"
};

/* Allocate the thumbnails and the previous-frame copy for this size. */
static int tamper_init(void *st, const struct vigil_setup *setup)
{
	struct tamper_state *t = st;
	size_t nthumb;

	t->log_ctx = setup->log_ctx;
	t->log = setup->log;
	t->width = setup->width;
	t->height = setup->height;
	t->fps = setup->fps > 0 ? setup->fps : 25.0;
	t->tw = t->width / TAMPER_BLOCK;
	t->th = t->height / TAMPER_BLOCK;
	t->learn_frames = (int)(t->learn_s * t->fps / t->every) + 1;
	nthumb = (size_t)t->tw * (size_t)t->th + 1;
	t->prev = calloc((size_t)t->width * (size_t)t->height, 1);
	t->blocks = calloc(nthumb, sizeof(*t->blocks));
	t->thumb = calloc(nthumb, sizeof(*t->thumb));
	t->ref = calloc(nthumb, sizeof(*t->ref));
	if (!t->prev || !t->blocks || !t->thumb || !t->ref)
		return -ENOMEM;
	return 0;
}

/* Free what init allocated (the host frees the state itself). */
static void tamper_destroy(void *st)
{
	struct tamper_state *t = st;

	free(t->prev);
	free(t->blocks);
	free(t->thumb);
	free(t->ref);
}

/* Advance a latch; returns 1 while the condition is reported. */
static int tamper_latch(struct tamper_latch *l, int cond, int64_t now,
			int64_t hold_us, int64_t clear_us)
{
	if (cond) {
		if (!l->since_us)
			l->since_us = now;
		l->last_true_us = now;
		if (!l->on && now - l->since_us >= hold_us)
			l->on = 1;
	} else if (l->since_us && now - l->last_true_us > clear_us) {
		l->since_us = 0;
		l->on = 0;
	}
	return l->on;
}

/* Move the normal picture toward this frame by weight a (1: replace). */
static void tamper_learn(struct tamper_state *t, const struct tamper_stats *s,
			 double a)
{
	int n = t->tw * t->th;

	t->normal.mean += (s->mean - t->normal.mean) * a;
	t->normal.detail += (s->detail - t->normal.detail) * a;
	t->normal.sharp += (s->sharp - t->normal.sharp) * a;
	for (int i = 0; i < n; i++)
		t->ref[i] = (int16_t)(t->ref[i] + (int)((t->thumb[i] - t->ref[i]) * a));
}

/* Add one whole-picture observation of a kind. */
static void tamper_report(struct vigil_observations *out, int kind, double score)
{
	struct vigil_observation *o;

	if (out->count >= VIGIL_MAX_OBS)
		return;
	o = &out->obs[out->count++];
	memset(o, 0, sizeof(*o));
	o->type = tamper_types[kind];
	o->zone = -1;
	o->score = (float)(score < 0 ? 0 : score > 1 ? 1 : score);
}

/* One frame: learn the normal picture, or compare with it and report
 * the conditions that have held long enough. */
static int tamper_process(void *st, const struct vigil_frame *f,
			  struct vigil_observations *out)
{
	struct tamper_state *t = st;
	const int64_t now = f->wall_us, hold = (int64_t)(t->hold_s * 1e6);
	const int64_t clear = 500000;
	struct tamper_stats s;
	int covered, defocus, moved, frozen, busy = 0;
	double mism, sharp;

	if (f->width != t->width || f->height != t->height)
		return -EINVAL;
	/* Tampering lasts seconds: measuring every few frames is enough, and
	 * the frames between repeat the last verdict. */
	const int key = VIGIL_HAS_FIELD(f, key) && f->key;

	if (key)
		t->key_pending = 1;
	if (t->tick++ % (unsigned)t->every) {
		*out = t->last;
		return 0;
	}
	out->count = 0;
	t->last.count = 0;
	tamper_measure(t, f, &s);
	if (t->frames < t->learn_frames) {
		/* Running average over the learning time. */
		/* The first frame has no previous one to differ from. */
		if (t->frames++ == 0)
			s.change = 0;
		tamper_learn(t, &s, 1.0 / t->frames);
		tamper_frozen_learn(t, &s);
		tamper_frozen_seen(t, key, now);
		return 0;
	}
	mism = tamper_mismatch(t);
	covered = s.detail < t->flat * t->normal.detail ||
		  (s.mean < t->dark * t->normal.mean && s.detail < 0.6 * t->normal.detail);
	/* Defocus takes fine detail (sharpness) and keeps the coarse (the
	 * deviation); dimming lights take both alike. */
	sharp = s.sharp / (t->normal.sharp + 1e-9);
	defocus = !covered && sharp < t->blur &&
		  sharp < 0.75 * s.detail / (t->normal.detail + 1e-9);
	moved = !covered && !defocus && mism > t->mismatch;
	/* A live picture always changes a little (sensor noise, coding):
	 * frozen is no frame differing from the one before (by a fair part
	 * of this camera's normal change) for frozen seconds. */
	frozen = tamper_frozen(t, &s, key, now, (int64_t)(t->frozen_s * 1e6));

	if (tamper_latch(&t->latch[TAMPER_COVERED], covered, now, hold, clear))
		tamper_report(out, TAMPER_COVERED, 1.0 - s.detail / (t->normal.detail + 1e-9));
	if (tamper_latch(&t->latch[TAMPER_DEFOCUS], defocus, now, hold, clear))
		tamper_report(out, TAMPER_DEFOCUS, 1.0 - s.sharp / (t->normal.sharp + 1e-9));
	if (tamper_latch(&t->latch[TAMPER_MOVED], moved, now, hold, clear)) {
		tamper_report(out, TAMPER_MOVED, mism);
		if (now - t->latch[TAMPER_MOVED].since_us >= (int64_t)(t->relearn_s * 1e6)) {
			/* The camera stays where it was moved to: that is normal now. */
			t->log(t->log_ctx, VIGIL_LOG_INFO, "adopting the new view as reference");
			tamper_learn(t, &s, 1.0);
			memset(&t->latch[TAMPER_MOVED], 0, sizeof(t->latch[0]));
		}
	}
	if (frozen)
		tamper_report(out, TAMPER_FROZEN, 1.0 - s.change / (t->normal.change + 1e-9));

	for (int k = 0; k < TAMPER_KINDS; k++)
		busy |= t->latch[k].since_us != 0;
	if (!busy && !frozen && !covered && !defocus && !moved)
		tamper_learn(t, &s, t->every / (60.0 * t->fps));
	t->last = *out;
	return 0;
}

#define OPT(f) offsetof(struct tamper_state, f)

static const struct vigil_option tamper_options[] = {
	VIGIL_OPTION_INT("every", OPT(every), 2, 1, 25,
			 "measure every n-th frame (tampering lasts seconds)"),
	VIGIL_OPTION_DOUBLE("hold", OPT(hold_s), 1.5, 0, 60,
			    "seconds covered, defocused or moved before alerting"),
	VIGIL_OPTION_DOUBLE("frozen", OPT(frozen_s), 2.0, 0.2, 600,
			    "seconds without any change before the picture counts as frozen"),
	VIGIL_OPTION_DOUBLE("still", OPT(still), 0.7, 0, 1,
			    "frozen: a frame differs when it changes this fraction of a live picture's change"),
	VIGIL_OPTION_DOUBLE("learn", OPT(learn_s), 2.0, 0.2, 600,
			    "seconds to learn the normal picture after start"),
	VIGIL_OPTION_DOUBLE("dark", OPT(dark), 0.35, 0, 1,
			    "covered: brightness below this fraction of normal (with low detail)"),
	VIGIL_OPTION_DOUBLE("flat", OPT(flat), 0.25, 0, 1,
			    "covered: detail below this fraction of normal"),
	VIGIL_OPTION_DOUBLE("blur", OPT(blur), 0.6, 0, 1,
			    "defocus: sharpness below this fraction of normal"),
	VIGIL_OPTION_DOUBLE("mismatch", OPT(mismatch), 0.5, 0.05, 1,
			    "moved: fraction of the picture unlike the reference"),
	VIGIL_OPTION_DOUBLE("relearn", OPT(relearn_s), 60, 1, 86400,
			    "moved: seconds after which the new view becomes the reference"),
	VIGIL_OPTIONS_END
};

static const struct vigil_event_kind tamper_kinds[] = {
	{ .type = "tamper.covered", .start_s = 0, .end_s = 1.0 },
	{ .type = "tamper.defocus", .start_s = 0, .end_s = 1.0 },
	{ .type = "tamper.moved", .start_s = 0, .end_s = 1.0 },
	{ .type = "frozen", .start_s = 0, .end_s = 1.0 },
	{ .type = NULL }
};

VIGIL_PLUGIN_EXPORT const struct vigil_plugin vigil_plugin = {
	VIGIL_PLUGIN_HEAD,
	.name = "tamper",
	.description = "covered, defocused or moved camera; frozen picture",
	.state_size = sizeof(struct tamper_state),
	.options = tamper_options,
	.kinds = tamper_kinds,
	.init = tamper_init,
	.process = tamper_process,
	.destroy = tamper_destroy,
};
