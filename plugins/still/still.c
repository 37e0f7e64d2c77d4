/* still detector plugin: object.left; see still.h. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "still.h"

#define STILL_MIN_THR 12         /* luma levels: below, coding noise */
#define STILL_CELL_SHARE 0.5     /* pixels of a cell that must be still-new */
#define STILL_RELEARN 0.4        /* share of cells: lights, not objects */

static int still_init(void *st, const struct vigil_setup *setup)
{
	struct still_state *s = st;
	size_t n = (size_t)setup->width * (size_t)setup->height, nc;

	s->log_ctx = setup->log_ctx;
	s->log = setup->log;
	s->width = setup->width;
	s->height = setup->height;
	s->fps = setup->fps > 0 ? setup->fps : 25.0;
	s->cw = s->width / STILL_CELL;
	s->ch = s->height / STILL_CELL;
	nc = (size_t)s->cw * (size_t)s->ch + 1;
	s->nzones = setup->nzones < 16 ? setup->nzones : 16;
	for (int z = 0; z < s->nzones; z++)
		s->zone_copy[z] = setup->zones[z];
	s->shortbg = calloc(n, sizeof(*s->shortbg));
	s->longbg = calloc(n, sizeof(*s->longbg));
	s->cell = calloc(nc, 1);
	s->since = calloc(nc, sizeof(*s->since));
	s->stack = calloc(nc, sizeof(*s->stack));
	s->label = calloc(nc, sizeof(*s->label));
	s->flag = calloc((size_t)s->width, 1);
	s->count = calloc((size_t)s->cw + 1, sizeof(*s->count));
	if (!s->shortbg || !s->longbg || !s->cell || !s->since || !s->stack || !s->label ||
	    !s->flag || !s->count)
		return -ENOMEM;
	if (s->absorb_s <= s->stationary_s)
		s->log(s->log_ctx, VIGIL_LOG_WARNING, "absorb (%g s) is not after stationary "
		       "(%g s): nothing will be reported", s->absorb_s, s->stationary_s);
	return 0;
}

static void still_destroy(void *st)
{
	struct still_state *s = st;

	free(s->shortbg);
	free(s->longbg);
	free(s->cell);
	free(s->since);
	free(s->stack);
	free(s->label);
	free(s->flag);
	free(s->count);
}

/* Both backgrounds become this frame. */
static void still_reset(struct still_state *s, const struct vigil_frame *f)
{
	for (int y = 0; y < s->height; y++)
		for (int x = 0; x < s->width; x++)
			s->shortbg[y * s->width + x] = s->longbg[y * s->width + x] =
				(uint16_t)(f->data[(size_t)y * (size_t)f->stride + x] << 8);
	memset(s->since, 0, ((size_t)s->cw * (size_t)s->ch + 1) * sizeof(*s->since));
	s->start_us = f->wall_us;
}

/* Update the backgrounds and mark the cells where something new stands
 * still; returns the share of such cells. Plain branch-free per-pixel
 * arithmetic (masks instead of ifs) so that the compiler vectorises it. */
static double still_cells(struct still_state *s, const struct vigil_frame *f)
{
	const double rate = s->fps / s->every;     /* frames looked at per second */
	const int ks = (int)fmax(1, 256.0 / (s->short_s * rate));
	const int kl = (int)fmax(1, 256.0 / (s->long_s * rate));
	const int thr = STILL_MIN_THR << 8;
	const int need = (int)(STILL_CELL * STILL_CELL * STILL_CELL_SHARE);
	int ncells = 0;

	for (int cy = 0; cy < s->ch; cy++) {
		memset(s->count, 0, (size_t)s->cw * sizeof(*s->count));
		for (int y = cy * STILL_CELL; y < (cy + 1) * STILL_CELL; y++) {
			const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
			uint16_t *sb = s->shortbg + (size_t)y * (size_t)s->width;
			uint16_t *lb = s->longbg + (size_t)y * (size_t)s->width;
			uint8_t *flag = s->flag;
			for (int x = 0; x < s->cw * STILL_CELL; x++) {
				int v = row[x] << 8, ds = v - sb[x], dl = v - lb[x];
				int fg = (dl > thr) | (dl < -thr);
				sb[x] = (uint16_t)(sb[x] + ((ds * ks) >> 8));
				lb[x] = (uint16_t)(lb[x] + (((dl * kl) >> 8) & (fg - 1)));
				flag[x] = (uint8_t)(fg & (ds <= thr) & (ds >= -thr));
			}
			for (int cx = 0; cx < s->cw; cx++) {
				int n = 0;
				for (int k = 0; k < STILL_CELL; k++)
					n += flag[cx * STILL_CELL + k];
				s->count[cx] += n;
			}
		}
		for (int cx = 0; cx < s->cw; cx++) {
			s->cell[cy * s->cw + cx] = s->count[cx] >= need;
			ncells += s->count[cx] >= need;
		}
	}
	return (double)ncells / (double)(s->cw * s->ch);
}

/* A cell still for absorb seconds: its object is background now. */
static void still_absorb(struct still_state *s, int c)
{
	int cx = c % s->cw, cy = c / s->cw;

	for (int y = cy * STILL_CELL; y < (cy + 1) * STILL_CELL; y++)
		for (int x = cx * STILL_CELL; x < (cx + 1) * STILL_CELL; x++)
			s->longbg[y * s->width + x] = s->shortbg[y * s->width + x];
	s->since[c] = 0;
}

/* Whether (x, y) is inside zone z (even-odd rule). */
static int still_in_zone(const struct vigil_zone *z, float x, float y)
{
	int in = 0;

	for (int i = 0, j = z->npoints - 1; i < z->npoints; j = i++) {
		float xi = z->points[2 * i], yi = z->points[2 * i + 1];
		float xj = z->points[2 * j], yj = z->points[2 * j + 1];
		if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
			in = !in;
	}
	return in;
}

/* The cells of the component of still cells that holds cell c
 * (8-neighbours), labelled `mark`, onto the stack; returns how many. */
static int still_component(struct still_state *s, int c, uint16_t mark)
{
	int n = 0, sp = 0;

	s->label[c] = mark;
	s->stack[sp++] = c;
	while (sp > n) {
		int k = s->stack[n++], kx = k % s->cw, ky = k / s->cw;
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int nx = kx + dx, ny = ky + dy, m;
				if (nx < 0 || ny < 0 || nx >= s->cw || ny >= s->ch)
					continue;
				m = ny * s->cw + nx;
				if (s->cell[m] && !s->label[m]) {
					s->label[m] = mark;
					s->stack[sp++] = m;
				}
			}
	}
	return n;
}

/* Add a box to the observation of each zone holding its centre (the
 * whole picture without zones). */
static void still_add(struct still_state *s, const struct vigil_box *b,
		      struct vigil_observations *out)
{
	for (int z = 0; z < (s->nzones ? s->nzones : 1); z++) {
		struct vigil_observation *o = NULL;
		int zone = s->nzones ? z : -1;

		if (s->nzones && !still_in_zone(&s->zone_copy[z], b->x + b->w / 2, b->y + b->h / 2))
			continue;
		for (int k = 0; k < out->count && !o; k++)
			if (out->obs[k].zone == zone)
				o = &out->obs[k];
		if (!o) {
			if (out->count >= VIGIL_MAX_OBS)
				continue;
			o = &out->obs[out->count++];
			memset(o, 0, sizeof(*o));
			o->type = "object.left";
			o->zone = zone;
			o->score = 1;
		}
		if (o->nboxes < VIGIL_MAX_BOXES)
			o->boxes[o->nboxes++] = *b;
	}
}

/* Each group of still cells is one object: reported once its oldest
 * cell stood `stationary` seconds, background after `absorb`. */
static void still_objects(struct still_state *s, int64_t now, struct vigil_observations *out)
{
	int n = s->cw * s->ch;
	uint16_t mark = 0;

	memset(s->label, 0, (size_t)n * sizeof(*s->label));
	for (int c = 0; c < n; c++) {
		int64_t oldest = now;
		int x0 = s->cw, y0 = s->ch, x1 = -1, y1 = -1, k;

		if (!s->cell[c] || s->label[c])
			continue;
		k = still_component(s, c, ++mark);
		for (int i = 0; i < k; i++) {
			int m = s->stack[i], mx = m % s->cw, my = m / s->cw;
			if (s->since[m] < oldest)
				oldest = s->since[m];
			x0 = mx < x0 ? mx : x0;
			x1 = mx > x1 ? mx : x1;
			y0 = my < y0 ? my : y0;
			y1 = my > y1 ? my : y1;
		}
		if (now - oldest >= (int64_t)(s->absorb_s * 1e6)) {
			for (int i = 0; i < k; i++)
				still_absorb(s, s->stack[i]);
		} else if (now - oldest >= (int64_t)(s->stationary_s * 1e6)) {
			struct vigil_box b = {
				(float)(x0 * STILL_CELL) / (float)s->width,
				(float)(y0 * STILL_CELL) / (float)s->height,
				(float)((x1 - x0 + 1) * STILL_CELL) / (float)s->width,
				(float)((y1 - y0 + 1) * STILL_CELL) / (float)s->height };
			still_add(s, &b, out);
		}
	}
}

static int still_process(void *st, const struct vigil_frame *f, struct vigil_observations *out)
{
	struct still_state *s = st;
	const int64_t now = f->wall_us;
	int n = s->cw * s->ch;

	if (f->width != s->width || f->height != s->height)
		return -EINVAL;
	/* Standing still lasts seconds: every few frames is enough, the
	 * frames between repeat the last verdict. */
	if (s->tick++ % (unsigned)s->every) {
		*out = s->last;
		return 0;
	}
	s->last.count = 0;
	if (s->frames++ == 0) {
		still_reset(s, f);
		return 0;
	}
	if (still_cells(s, f) > STILL_RELEARN) {
		/* Lights or the camera, not objects. */
		s->log(s->log_ctx, VIGIL_LOG_DEBUG, "most of the picture changed, relearning");
		still_reset(s, f);
		return 0;
	}
	if (now - s->start_us < (int64_t)(s->learn_s * 1e6))
		return 0;
	for (int c = 0; c < n; c++)
		s->since[c] = !s->cell[c] ? 0 : s->since[c] ? s->since[c] : now;
	still_objects(s, now, out);
	s->last = *out;
	return 0;
}

#define OPT(f) offsetof(struct still_state, f)

static const struct vigil_option still_options[] = {
	VIGIL_OPTION_DOUBLE("stationary", OPT(stationary_s), 30, 1, 3600,
			    "seconds a new object must stand still before object.left"),
	VIGIL_OPTION_DOUBLE("absorb", OPT(absorb_s), 300, 2, 86400,
			    "seconds after which a still object becomes background"),
	VIGIL_OPTION_DOUBLE("short", OPT(short_s), 1.0, 0.2, 30,
			    "time constant of the short background, seconds"),
	VIGIL_OPTION_DOUBLE("long", OPT(long_s), 20, 1, 3600,
			    "time constant of the long background where nothing stands, seconds"),
	VIGIL_OPTION_DOUBLE("learn", OPT(learn_s), 2, 0.1, 600,
			    "seconds of learning after start and after a global change"),
	VIGIL_OPTION_INT("every", OPT(every), 2, 1, 25,
			 "look at every n-th frame (standing still lasts seconds)"),
	VIGIL_OPTIONS_END
};

static const struct vigil_event_kind still_kinds[] = {
	{ .type = "object.left", .start_s = 0, .end_s = 1.0 },
	{ .type = NULL }
};

VIGIL_PLUGIN_EXPORT const struct vigil_plugin vigil_plugin = {
	VIGIL_PLUGIN_HEAD,
	.name = "still",
	.description = "objects left behind or vehicles stopped (two backgrounds)",
	.state_size = sizeof(struct still_state),
	.options = still_options,
	.kinds = still_kinds,
	.init = still_init,
	.process = still_process,
	.destroy = still_destroy,
};
