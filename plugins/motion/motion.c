/* motion detector plugin: what moved, where, as boxes per zone.
 *
 * Per pixel, a running background (Q8) and a running mean absolute
 * deviation model the still scene and its noise. Each frame is compared
 * with the background after removing the global gain and offset (lights,
 * clouds, auto exposure); a pixel is foreground when it departs by more
 * than k times the larger of the picture's noise (median absolute
 * deviation of the whole difference) and its own. k follows the zone's
 * sensitivity. A 4x4 cell is foreground when a quarter of its pixels are;
 * lone cells are dropped, nearby cells joined into objects, and objects
 * reported per zone when big enough, unless they are only the background
 * lit differently (headlights; motion_light.c). When most of the picture
 * changes at once the model is relearnt instead: that is lighting or
 * tampering, not an object. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "motion.h"

/* The per-pixel loops are also built for AVX2 and picked at load time
 * where the processor has it: twice the lanes, and 32-bit multiplies
 * that SSE2 has to emulate. GCC on x86-64 only; elsewhere, one build. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MOTION_VECTOR __attribute__((target_clones("avx2", "default")))
#else
#define MOTION_VECTOR
#endif

#define MOTION_MIN_THR 8         /* below this, H.264 flat areas pump */         /* luma levels, floor of the threshold */

/* Size the model for the analysis frame and derive the update rates and
 * the learning time from the frame rate. */
static int motion_init(void *st, const struct vigil_setup *setup)
{
	struct motion_state *m = st;
	size_t n = (size_t)setup->width * (size_t)setup->height;
	double fps = setup->fps > 0 ? setup->fps : 25.0;
	size_t ncell;

	m->log_ctx = setup->log_ctx;
	m->log = setup->log;
	m->width = setup->width;
	m->height = setup->height;
	m->cw = m->width / MOTION_CELL;
	m->ch = m->height / MOTION_CELL;
	ncell = (size_t)m->cw * (size_t)m->ch + 1;
	/* Rates as powers of two: background follows the scene over adapt_s,
	 * and ten times slower under objects, so a stopped one is absorbed. */
	m->bg_shift = (int)lround(log2(m->adapt_s * fps));
	if (m->bg_shift < 1)
		m->bg_shift = 1;
	if (m->bg_shift > 12)
		m->bg_shift = 12;
	m->fg_shift = m->bg_shift + 3;
	m->learn_frames = (int)(m->learn_s * fps) + 1;
	if (m->learn_frames < 2)
		m->learn_frames = 2;
	m->bg = malloc(n * sizeof(*m->bg));
	m->dev = malloc(n * sizeof(*m->dev));
	m->diff = malloc(n * sizeof(*m->diff));
	m->fg = calloc(n, 1);
	m->cells = calloc(ncell, 1);
	m->clean = calloc(ncell, 1);
	m->label = calloc(ncell, sizeof(*m->label));
	m->sum4 = calloc((size_t)m->width, 1);
	m->stack = calloc(ncell, sizeof(*m->stack));
	if (!m->bg || !m->dev || !m->diff || !m->fg || !m->cells || !m->clean || !m->label || !m->stack || !m->sum4)
		return -ENOMEM;
	return motion_regions_init(m, setup);
}

/* Free what init allocated (the host frees the state itself). */
static void motion_destroy(void *st)
{
	struct motion_state *m = st;

	free(m->bg);
	free(m->dev);
	free(m->diff);
	free(m->fg);
	free(m->krow);
	free(m->sum4);
	free(m->cells);
	free(m->clean);
	free(m->label);
	free(m->stack);
	free(m->cell_zones);
	free(m->cell_k);
}

/* Start the model again from this frame (start, or a global change). */
static void motion_reset(struct motion_state *m, const struct vigil_frame *f)
{
	for (int y = 0; y < m->height; y++) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		uint16_t *bg = m->bg + (size_t)y * (size_t)m->width;
		uint16_t *dev = m->dev + (size_t)y * (size_t)m->width;
		for (int x = 0; x < m->width; x++) {
			bg[x] = (uint16_t)(row[x] << 8);
			dev[x] = 2 << 4;
		}
	}
	m->frames = 1;
}

/* Gain between frame and background (lights, auto exposure), Q14 and
 * below 4, from every fourth row. */
static int32_t motion_gain(const struct motion_state *m, const struct vigil_frame *f)
{
	uint64_t sf = 0, sb = 0;

	for (int y = 0; y < m->height; y += 4) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		const uint16_t *bg = m->bg + (size_t)y * (size_t)m->width;
		uint32_t rf = 0, rb = 0;
		for (int x = 0; x < m->width; x++) {
			rf += row[x];
			rb += (uint32_t)(bg[x] >> 8);
		}
		sf += rf;
		sb += rb;
	}
	if (sb < 16)
		return 16384;
	sf = (sf << 14) / sb;
	return sf > 65535 ? 65535 : (int32_t)sf;
}

/* Median bin of a histogram holding total samples. */
static int motion_median(const unsigned *hist, int nbins, unsigned total)
{
	unsigned acc = 0;

	for (int i = 0; i < nbins; i++) {
		acc += hist[i];
		if (acc * 2 >= total)
			return i;
	}
	return nbins - 1;
}

/* Difference of every pixel to the gain-corrected background, into
 * m->diff. Returns the median offset (lights add as well as multiply);
 * sigma8 gets 8 x the picture's noise (1.4826 x median abs deviation). */
MOTION_VECTOR
static int motion_diff(struct motion_state *m, const struct vigil_frame *f,
		       int32_t gain, int *sigma8)
{
	unsigned hist[511] = { 0 }, dev[256] = { 0 }, total = 0;
	const uint16_t g14 = (uint16_t)gain;
	int med, mad;

	for (int y = 0; y < m->height; y++) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		const uint16_t *bg = m->bg + (size_t)y * (size_t)m->width;
		int16_t *d = m->diff + (size_t)y * (size_t)m->width;
		for (int x = 0; x < m->width; x++) {
			/* Q8 x Q14, high half: Q6. */
			uint16_t pred = (uint16_t)(((uint32_t)bg[x] * g14) >> 16) >> 6;
			d[x] = (int16_t)(row[x] - (pred > 255 ? 255 : pred));
		}
		/* The noise statistics need far fewer pixels than the picture. */
		if (y % 4)
			continue;
		for (int x = 0; x < m->width; x += 2) {
			hist[d[x] + 255]++;
			total++;
		}
	}
	med = motion_median(hist, 511, total) - 255;
	for (int i = 0; i < 511; i++) {
		int a = i - 255 - med;
		a = a < 0 ? -a : a;
		dev[a > 255 ? 255 : a] += hist[i];
	}
	mad = motion_median(dev, 256, total);
	*sigma8 = mad ? (int)(mad * 8 * 1.4826 + 0.5) : 4;
	return med;
}

/* Foreground pixels (into fg), counted per cell; returns their number. A
 * pixel is foreground when it departs from the background by more than k
 * times the larger of the picture's noise and its own. */
MOTION_VECTOR
static int motion_classify(struct motion_state *m, int med, int sigma8)
{
	const int w = m->width, cw = m->cw;
	const uint16_t sig = (uint16_t)(sigma8 > 65535 ? 65535 : sigma8);
	const int16_t med16 = (int16_t)med;
	uint8_t *sum4 = m->sum4;
	int total = 0;

	memset(m->cells, 0, (size_t)(m->cw * m->ch));
	for (int y = 0; y < m->ch * MOTION_CELL; y++) {
		const int16_t *d = m->diff + (size_t)y * (size_t)w;
		const uint16_t *dev = m->dev + (size_t)y * (size_t)w;
		const uint16_t *k = m->krow + (size_t)(y / MOTION_CELL) * (size_t)w;
		uint8_t *fg = m->fg + (size_t)y * (size_t)w;

		/* 16-bit arithmetic throughout (high-half multiplies), so the
		 * loop vectorises: thr_g = k sigma, thr_p = k x 1.25 x dev. The
		 * foreground of the cell row's four rows is summed per column. */
		for (int x = 0; x < w; x++) {
			uint16_t kk = k[x];
			uint16_t tg = (uint16_t)(((uint32_t)sig * (uint16_t)(kk << 10)) >> 16);
			uint16_t tp = (uint16_t)(((uint32_t)dev[x] *
						  (uint16_t)((kk << 9) + (kk << 7))) >> 16);
			uint16_t thr = tg > tp ? tg : tp;
			int16_t a = (int16_t)(d[x] - med16);
			uint16_t ua = (uint16_t)(a < 0 ? -a : a);
			uint8_t on;
			thr = thr > MOTION_MIN_THR ? thr : MOTION_MIN_THR;
			on = (uint8_t)((ua > thr) & (kk != 0));
			fg[x] = on;
			sum4[x] = (uint8_t)((y % MOTION_CELL ? sum4[x] : 0) + on);
		}
		if (y % MOTION_CELL == MOTION_CELL - 1) {
			uint8_t *cells = m->cells + (y / MOTION_CELL) * cw;
			for (int cx = 0; cx < cw; cx++) {
				const uint8_t *p = sum4 + cx * MOTION_CELL;
				cells[cx] = (uint8_t)(p[0] + p[1] + p[2] + p[3]);
			}
		}
	}
	int active = 0, ncell = m->cw * m->ch;
	uint8_t *cells = m->cells;

	for (int c = 0; c < ncell; c++) {
		total += cells[c];
		cells[c] = cells[c] * 4 >= MOTION_CELL * MOTION_CELL;
		active += cells[c];
	}
	m->active = active;
	return total;
}

/* Move the model toward the frame: quickly where nothing moves, slowly
 * under objects; the deviation learns only from background pixels. While
 * learning every row follows every frame; afterwards each frame updates
 * every other row (alternating), with rates doubled to match, which
 * halves what the model costs while classification still sees every
 * pixel of every frame. */
MOTION_VECTOR
static void motion_update(struct motion_state *m, const struct vigil_frame *f,
			  int med, int learning)
{
	const int w = m->width, wn = w < 2048 ? w : 2048;
	const int16_t med16 = (int16_t)med;
	const int step = learning ? 1 : 2;
	/* Rates as Q17 fractions for 16-bit high-half multiplies, which
	 * vectorise where variable shifts and 32-bit multiplies do not. */
	const int bshift = learning ? 2 : m->bg_shift - 1;
	const int16_t rb = (int16_t)((131072 >> bshift) > 32767 ? 32767 : 131072 >> bshift);
	const int16_t rf = (int16_t)(131072 >> (m->fg_shift - 1));
	/* The deviation rises quickly (1/8 an update) and falls slowly (1/64,
	 * about 5 s at 25 fps), so a pixel remembers noise that comes back
	 * now and then, such as the coding noise that builds up towards the
	 * end of each group of pictures and would otherwise start a false
	 * event every few loops of a 2 s GOP. */
	const int16_t rdu = (int16_t)(65536 >> (learning ? 2 : 3));
	const int16_t rdd = (int16_t)(65536 >> (learning ? 2 : 6));
	int16_t under[2048];
	int under_cy = -1;

	for (int y = learning ? 0 : (int)(m->tick & 1); y < m->height; y += step) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		const int16_t *d = m->diff + (size_t)y * (size_t)w;
		uint16_t *bg = m->bg + (size_t)y * (size_t)w;
		uint16_t *dev = m->dev + (size_t)y * (size_t)w;
		int cy = y / MOTION_CELL;

		/* -1 under an object, 0 elsewhere; branch-free below. */
		if (cy != under_cy) {
			under_cy = cy;
			memset(under, 0, sizeof(under[0]) * (size_t)wn);
			for (int cx = 0; !learning && cy < m->ch && cx < m->cw; cx++) {
				int16_t u = (int16_t)-m->clean[cy * m->cw + cx];
				for (int k = 0; k < MOTION_CELL; k++)
					under[cx * MOTION_CELL + k] = u;
			}
		}
		for (int x = 0; x < wn; x++) {
			/* Half the Q8 difference fits 16 bits; x rate (Q17) >> 16. */
			int16_t half = (int16_t)((((int32_t)row[x] << 8) - bg[x]) >> 1);
			int16_t a = (int16_t)(d[x] - med16), target, rate, inc, dd;
			a = (int16_t)(a < 0 ? -a : a);
			target = (int16_t)((a > 255 ? 255 : a) << 4);
			rate = (int16_t)(rb + ((rf - rb) & under[x]));
			inc = (int16_t)(((int32_t)half * rate) >> 16);
			bg[x] = (uint16_t)(bg[x] + inc);
			dd = (int16_t)(target - dev[x]);
			dd = (int16_t)(((int32_t)dd * (dd > 0 ? rdu : rdd)) >> 16);
			dev[x] = (uint16_t)(dev[x] + (dd & ~under[x]));
		}
	}
}

/* One frame: learn, or find objects and report them per zone. */
static int motion_process(void *st, const struct vigil_frame *f,
			  struct vigil_observations *out)
{
	struct motion_state *m = st;
	int32_t gain;
	int med, sigma8, fg;
	float score;
	double cells;

	if (f->width != m->width || f->height != m->height)
		return -EINVAL;
	m->tick++;
	if (m->frames == 0) {
		motion_reset(m, f);
		return 0;
	}
	gain = motion_gain(m, f);
	med = motion_diff(m, f, gain, &sigma8);
	if (m->frames < m->learn_frames) {
		m->frames++;
		motion_update(m, f, med, 1);
		return 0;
	}
	fg = motion_classify(m, med, sigma8);
	score = (float)fg / (float)(m->cw * m->ch * MOTION_CELL * MOTION_CELL);
	cells = (double)m->active / (double)(m->cw * m->ch);
	/* Most of the picture at once, or a large part of it from one frame
	 * to the next: lighting, focus or the camera changed, not an object. */
	if (score > m->relearn || cells - m->prev_active > m->jump) {
		m->log(m->log_ctx, VIGIL_LOG_DEBUG, "%.0f%% of the picture changed, relearning",
		       cells * 100.0);
		motion_reset(m, f);
		m->prev_active = 0;
		return 0;
	}
	m->prev_active = cells;
	motion_regions_clean(m);
	motion_regions_objects(m);
	motion_light_drop(m, f, sigma8);
	motion_regions_observe(m, score, out);
	motion_update(m, f, med, 0);
	return 0;
}

#define OPT(f) offsetof(struct motion_state, f)

static const struct vigil_option motion_options[] = {
	VIGIL_OPTION_DOUBLE("sensitivity", OPT(sensitivity), 0.5, 0, 1,
			    "0..1: how faint a change counts (zones set their own)"),
	VIGIL_OPTION_DOUBLE("min_size", OPT(min_size), 0.5, 0, 100,
			    "smallest object, percent of the picture (zones set their own)"),
	VIGIL_OPTION_DOUBLE("adapt", OPT(adapt_s), 1.5, 0.1, 600,
			    "seconds for the background to follow a still scene"),
	VIGIL_OPTION_DOUBLE("relearn", OPT(relearn), 0.4, 0.05, 1,
			    "fraction of the picture changing at once that means a global change"),
	VIGIL_OPTION_DOUBLE("jump", OPT(jump), 0.05, 0.01, 1,
			    "growth of the changed part in one frame that means a global change"),
	VIGIL_OPTION_DOUBLE("learn", OPT(learn_s), 1.0, 0.04, 60,
			    "seconds of learning after start and after a global change"),
	VIGIL_OPTIONS_END
};

static const struct vigil_event_kind motion_kinds[] = {
	{ .type = "motion", .start_s = 0.12, .end_s = 2.0 },
	{ .type = NULL }
};

VIGIL_PLUGIN_EXPORT const struct vigil_plugin vigil_plugin = {
	VIGIL_PLUGIN_HEAD,
	.name = "motion",
	.description = "moving objects in zones, as boxes",
	.state_size = sizeof(struct motion_state),
	.options = motion_options,
	.kinds = motion_kinds,
	.init = motion_init,
	.process = motion_process,
	.destroy = motion_destroy,
};
