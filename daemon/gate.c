/* Gate statistics of the "gated" analysis mode; see gate.h. */
#include "gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GATE_SIZE_K        8.0    /* MADs (as sigmas) above the median */
#define GATE_SIZE_REL      1.0    /* and at least this fraction above it */
#define GATE_SIZE_REFIT    8      /* sizes between refits of the floor */
#define GATE_KEY_LEARN     3      /* first keyframes only teach */
#define GATE_KEY_K         5.0    /* usual changes a cell must exceed */
#define GATE_KEY_MIN       5.0    /* luma levels, whatever the noise */
#define GATE_KEY_STILL     0.15   /* frozen: change below this of usual */
#define GATE_KEY_ADAPT     0.25   /* background weight of a keyframe */
#define GATE_GAP_US        1000000

static int gate_cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static int gate_cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

void gate_sizes_init(struct gate_sizes *g)
{
	memset(g, 0, sizeof(*g));
}

void gate_sizes_learn(struct gate_sizes *g, int size)
{
	g->v[g->next] = size;
	g->next = (g->next + 1) % GATE_SIZES;
	if (g->n < GATE_SIZES)
		g->n++;
	g->stale++;
}

/* Median and MAD of the remembered sizes, refitted every few sizes (a
 * sort of 128 numbers; the floor moves slowly anyway). */
static void gate_sizes_fit(struct gate_sizes *g)
{
	int32_t s[GATE_SIZES];

	if (g->stale < GATE_SIZE_REFIT && g->median > 0)
		return;
	g->stale = 0;
	memcpy(s, g->v, (size_t)g->n * sizeof(s[0]));
	qsort(s, (size_t)g->n, sizeof(s[0]), gate_cmp_i32);
	g->median = s[g->n / 2];
	for (int i = 0; i < g->n; i++)
		s[i] = abs(s[i] - (int32_t)g->median);
	qsort(s, (size_t)g->n, sizeof(s[0]), gate_cmp_i32);
	g->mad = s[g->n / 2];
}

double gate_sizes_threshold(struct gate_sizes *g)
{
	double k, rel;

	if (g->n < GATE_SIZES_MIN)
		return 0;
	gate_sizes_fit(g);
	k = GATE_SIZE_K * 1.4826 * g->mad;
	rel = GATE_SIZE_REL * g->median;
	return g->median + (k > rel ? k : rel);
}

int gate_sizes_test(struct gate_sizes *g, int size)
{
	double t = gate_sizes_threshold(g);

	return t > 0 && size > t;
}

void gate_keys_init(struct gate_keys *g)
{
	memset(g, 0, sizeof(*g));
}

/* Mean luma of each grid cell, from every other row (plenty for cells
 * of a hundred pixels and more; half the memory reads). */
static void gate_keys_cells(float *out, const uint8_t *luma, int linesize, int width,
			    int height)
{
	uint32_t sum[GATE_GRID_W * GATE_GRID_H] = { 0 };
	uint32_t cnt[GATE_GRID_W * GATE_GRID_H] = { 0 };
	int xcell[4096 + 1];
	int w = width < 4096 ? width : 4096;

	for (int x = 0; x < w; x++)
		xcell[x] = x * GATE_GRID_W / w;
	for (int y = 0; y < height; y += 2) {
		const uint8_t *row = luma + (size_t)y * (size_t)linesize;
		int cy = y * GATE_GRID_H / height;
		uint32_t *srow = sum + cy * GATE_GRID_W, *crow = cnt + cy * GATE_GRID_W;
		for (int x = 0; x < w; x++) {
			srow[xcell[x]] += row[x];
			crow[xcell[x]]++;
		}
	}
	for (int i = 0; i < GATE_GRID_W * GATE_GRID_H; i++)
		out[i] = cnt[i] ? (float)sum[i] / (float)cnt[i] : 0.0f;
}

/* Median of a - b over the grid: the global offset (a light change). */
static float gate_keys_offset(const float *a, const float *b)
{
	float d[GATE_GRID_W * GATE_GRID_H];
	int n = GATE_GRID_W * GATE_GRID_H;

	for (int i = 0; i < n; i++)
		d[i] = a[i] - b[i];
	qsort(d, (size_t)n, sizeof(d[0]), gate_cmp_float);
	return d[n / 2];
}

enum gate_key_verdict gate_keys_test(struct gate_keys *g, const uint8_t *luma, int linesize,
				     int width, int height, int learn)
{
	const int n = GATE_GRID_W * GATE_GRID_H;
	enum gate_key_verdict v = GATE_KEY_QUIET;
	float off_bg, off_prev = 0;
	double step = 0, thr, dev_max = 0;
	int over = 0;

	if (width < GATE_GRID_W || height < GATE_GRID_H)
		return GATE_KEY_QUIET;
	gate_keys_cells(g->cur, luma, linesize, width, height);
	if (g->keys == 0)
		memcpy(g->bg, g->cur, sizeof(g->bg));
	else {
		off_prev = gate_keys_offset(g->cur, g->prev);
		for (int i = 0; i < n; i++)
			step += fabsf(g->cur[i] - g->prev[i] - off_prev);
		step /= n;
	}
	if (g->keys >= GATE_KEY_LEARN) {
		off_bg = gate_keys_offset(g->cur, g->bg);
		thr = GATE_KEY_K * g->change;
		if (thr < GATE_KEY_MIN)
			thr = GATE_KEY_MIN;
		/* A cell changed when it departs from the background and from
		 * the keyframe before: something that arrived, not something
		 * that stayed (a parked car, the trace of one that left, which
		 * the background absorbs over a few keyframes). */
		for (int i = 0; i < n; i++) {
			double d = fabs(g->cur[i] - g->bg[i] - off_bg);
			double p = fabs(g->cur[i] - g->prev[i] - off_prev);
			if (d > dev_max)
				dev_max = d;
			over += d > thr && p > thr;
		}
		g->last_dev = dev_max;
		if (over)
			v = GATE_KEY_CHANGED;
		else if (g->change > 0.05 && step < GATE_KEY_STILL * g->change)
			v = GATE_KEY_FROZEN;
	}
	if (learn || g->keys < GATE_KEY_LEARN) {
		for (int i = 0; i < n && g->keys > 0; i++)
			g->bg[i] += (g->cur[i] - g->bg[i]) * GATE_KEY_ADAPT;
		/* The usual change is learnt from quiet keyframes only: an
		 * object crossing must not teach the gate to expect objects. */
		if (g->keys > 0 && v == GATE_KEY_QUIET)
			g->change = g->keys == 1 ? step : 0.8 * g->change + 0.2 * step;
	}
	memcpy(g->prev, g->cur, sizeof(g->prev));
	g->keys++;
	return v;
}

void gate_start(struct gate *g, int64_t hold_us, int64_t wall_us)
{
	gate_sizes_init(&g->sizes);
	gate_keys_init(&g->keys);
	g->hold_us = hold_us;
	g->open = 1;
	g->open_until_us = wall_us + hold_us;
	g->last_us = wall_us;
}

void gate_tick(struct gate *g, int64_t wall_us)
{
	int64_t dt = wall_us - g->last_us;

	if (dt > 0) {
		if (dt > GATE_GAP_US)
			dt = GATE_GAP_US;
		g->total_us += (uint64_t)dt;
		if (!g->open)
			g->gated_us += (uint64_t)dt;
	}
	g->last_us = wall_us;
}

int gate_activity(struct gate *g, int64_t wall_us)
{
	int opened = !g->open;

	if (wall_us + g->hold_us > g->open_until_us || opened)
		g->open_until_us = wall_us + g->hold_us;
	g->open = 1;
	g->openings += (uint64_t)opened;
	return opened;
}

int gate_settle(struct gate *g, int64_t wall_us)
{
	if (!g->open || wall_us < g->open_until_us)
		return 0;
	g->open = 0;
	return 1;
}

void gate_caught_up(struct gate *g, int64_t us)
{
	g->catchup[g->catchup_next] = us;
	g->catchup_next = (g->catchup_next + 1) % GATE_CATCHUPS;
	if (g->ncatchup < GATE_CATCHUPS)
		g->ncatchup++;
}

int64_t gate_catchup_median(const struct gate *g)
{
	int64_t s[GATE_CATCHUPS];

	if (!g->ncatchup)
		return 0;
	memcpy(s, g->catchup, (size_t)g->ncatchup * sizeof(s[0]));
	for (int i = 1; i < g->ncatchup; i++)
		for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
			int64_t t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	return s[g->ncatchup / 2];
}
