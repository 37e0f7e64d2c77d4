/* Motion detector; see motion.h for the method. */
#include "motion.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MOTION_CELL 4          /* cell size in analysis pixels */
#define MOTION_LEARN 10        /* default frames to learn before detecting */
#define MOTION_MIN_THR 12      /* luma levels */
#define MOTION_RELEARN 0.5f    /* foreground fraction that means "global change" */

int motion_init(struct motion *m, int width, int height)
{
	size_t n = (size_t)width * (size_t)height;

	memset(m, 0, sizeof(*m));
	if (width < MOTION_CELL || height < MOTION_CELL || width > 4096)
		return -EINVAL;
	m->width = width;
	m->height = height;
	m->cw = width / MOTION_CELL;
	m->ch = height / MOTION_CELL;
	m->min_area = 0.002f;
	m->learn_frames = MOTION_LEARN;
	m->bg = malloc(n * sizeof(*m->bg));
	m->diff = malloc(n * sizeof(*m->diff));
	m->rowmask = malloc((size_t)width * sizeof(*m->rowmask));
	m->cells = malloc((size_t)(m->cw * m->ch) + 1);
	m->label = malloc(((size_t)(m->cw * m->ch) + 1) * sizeof(*m->label));
	m->stack = malloc(((size_t)(m->cw * m->ch) + 1) * sizeof(*m->stack));
	if (!m->bg || !m->diff || !m->rowmask || !m->cells || !m->label || !m->stack) {
		motion_free(m);
		return -ENOMEM;
	}
	return 0;
}

void motion_free(struct motion *m)
{
	if (!m)
		return;
	free(m->bg);
	free(m->diff);
	free(m->rowmask);
	free(m->cells);
	free(m->label);
	free(m->stack);
	memset(m, 0, sizeof(*m));
}

static void motion_reset_bg(struct motion *m, const struct luma_frame *f)
{
	for (int y = 0; y < m->height; y++) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		int32_t *bg = m->bg + (size_t)y * (size_t)m->width;
		for (int x = 0; x < m->width; x++)
			bg[x] = (int32_t)row[x] << 8;
	}
}

/* Gain between frame and background (lights, auto exposure), Q8. */
static int32_t motion_gain(const struct motion *m, const struct luma_frame *f)
{
	uint64_t sf = 0, sb = 0;

	for (int y = 0; y < m->height; y++) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		const int32_t *bg = m->bg + (size_t)y * (size_t)m->width;
		uint32_t rf = 0;
		int32_t rb = 0;
		for (int x = 0; x < m->width; x++) {
			rf += row[x];
			rb += bg[x] >> 8;
		}
		sf += rf;
		sb += (uint64_t)rb;
	}
	if (sb == 0)
		return 256;
	sf = (sf << 8) / sb;
	return (int32_t)(sf > 1024 ? 1024 : sf);
}

/* Median of a histogram over 0..nbins-1 holding total samples. */
static int motion_hist_median(const unsigned *hist, int nbins, unsigned total)
{
	unsigned acc = 0;

	for (int i = 0; i < nbins; i++) {
		acc += hist[i];
		if (acc * 2 >= total)
			return i;
	}
	return nbins - 1;
}

/* Difference of each pixel to the gain-corrected background, stored in
 * diff; returns the median shift and, through thr, a threshold from the
 * median absolute deviation (noise level). The statistics come from every
 * other pixel of every other row: plenty for a median, a quarter of the
 * work. */
static int motion_diff(struct motion *m, const struct luma_frame *f,
		       int16_t *diff, int *thr)
{
	unsigned hist[511] = { 0 }, dev[511] = { 0 }, total = 0;
	const int32_t gain = motion_gain(m, f);
	int med, mad;

	for (int y = 0; y < m->height; y++) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		const int32_t *bg = m->bg + (size_t)y * (size_t)m->width;
		int16_t *d = diff + (size_t)y * (size_t)m->width;
		for (int x = 0; x < m->width; x++) {
			int32_t pred = (bg[x] * gain) >> 16;
			pred = pred > 255 ? 255 : pred;
			d[x] = (int16_t)(row[x] - pred);
		}
		if (y & 1)
			continue;
		for (int x = 0; x < m->width; x += 2)
			hist[d[x] + 255]++;
		total += (unsigned)(m->width + 1) / 2;
	}
	med = motion_hist_median(hist, 511, total) - 255;
	for (int i = 0; i < 511; i++) {
		int a = i - 255 - med;
		dev[a < 0 ? -a : a] += hist[i];
	}
	mad = motion_hist_median(dev, 511, total);
	*thr = 4 * mad + 4;
	if (*thr < MOTION_MIN_THR)
		*thr = MOTION_MIN_THR;
	return med;
}

/* Join touching active cells (8-neighbourhood) into boxes. */
static void motion_components(struct motion *m, struct motion_result *res)
{
	const int cw = m->cw, ch = m->ch, ncell = cw * ch;
	const float cell_area = 1.0f / (float)ncell;
	uint16_t next = 0;

	memset(m->label, 0, (size_t)ncell * sizeof(*m->label));
	for (int i = 0; i < ncell; i++) {
		int x0 = cw, y0 = ch, x1 = -1, y1 = -1, count = 0, sp = 0;

		if (!m->cells[i] || m->label[i])
			continue;
		if (next < UINT16_MAX)
			next++;
		m->label[i] = next;
		m->stack[sp++] = i;
		while (sp > 0) {
			int c = m->stack[--sp], cx = c % cw, cy = c / cw;
			count++;
			if (cx < x0) x0 = cx;
			if (cx > x1) x1 = cx;
			if (cy < y0) y0 = cy;
			if (cy > y1) y1 = cy;
			for (int dy = -1; dy <= 1; dy++) {
				for (int dx = -1; dx <= 1; dx++) {
					int nx = cx + dx, ny = cy + dy, nc;
					if (nx < 0 || ny < 0 || nx >= cw || ny >= ch)
						continue;
					nc = ny * cw + nx;
					if (m->cells[nc] && !m->label[nc]) {
						m->label[nc] = next;
						m->stack[sp++] = nc;
					}
				}
			}
		}
		float area = (float)count * cell_area;
		if (area < m->min_area)
			continue;
		struct motion_box b = {
			.x = (float)x0 / (float)cw, .y = (float)y0 / (float)ch,
			.w = (float)(x1 - x0 + 1) / (float)cw,
			.h = (float)(y1 - y0 + 1) / (float)ch, .area = area,
		};
		/* Keep the largest boxes, in decreasing area. */
		int pos = res->nboxes < MOTION_MAX_BOXES ? res->nboxes : MOTION_MAX_BOXES - 1;
		if (pos == MOTION_MAX_BOXES - 1 && res->nboxes == MOTION_MAX_BOXES &&
		    res->boxes[pos].area >= area)
			continue;
		while (pos > 0 && res->boxes[pos - 1].area < area) {
			res->boxes[pos] = res->boxes[pos - 1];
			pos--;
		}
		res->boxes[pos] = b;
		if (res->nboxes < MOTION_MAX_BOXES)
			res->nboxes++;
	}
}

/* Move the background toward the frame: quickly where nothing moves,
 * slowly under moving objects so that one that stops is absorbed. Both
 * rates are computed and one is picked by mask, which vectorises. */
static void motion_update_bg(struct motion *m, const struct luma_frame *f,
			     int learning)
{
	for (int y = 0; y < m->height; y++) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		int32_t *bg = m->bg + (size_t)y * (size_t)m->width;
		const uint8_t *cells = m->cells + (size_t)((y / MOTION_CELL) * m->cw);
		int cy_ok = !learning && y / MOTION_CELL < m->ch;
		int cells_w = cy_ok ? m->cw * MOTION_CELL : 0;

		if (learning) {
			for (int x = 0; x < m->width; x++)
				bg[x] += (((int32_t)row[x] << 8) - bg[x]) >> 2;
			continue;
		}
		if (y % MOTION_CELL == 0)
			for (int x = 0; x < cells_w; x++)
				m->rowmask[x] = -(int32_t)cells[x / MOTION_CELL];
		for (int x = 0; x < cells_w; x++) {
			int32_t delta = ((int32_t)row[x] << 8) - bg[x];
			int32_t fg = m->rowmask[x];
			bg[x] += ((delta >> 8) & fg) | ((delta >> 5) & ~fg);
		}
		for (int x = cells_w; x < m->width; x++)
			bg[x] += (((int32_t)row[x] << 8) - bg[x]) >> 5;
	}
}

/* Mark the 4x4 cells in which at least half the pixels differ from the
 * background by more than thr (after the global shift med). Returns the
 * number of such pixels. */
static int motion_cells(struct motion *m, const int16_t *diff, int med, int thr)
{
	uint16_t count[1024];
	int fg = 0;

	for (int cy = 0; cy < m->ch; cy++) {
		memset(count, 0, sizeof(count[0]) * (size_t)m->cw);
		for (int y = cy * MOTION_CELL; y < (cy + 1) * MOTION_CELL; y++) {
			const int16_t *d = diff + (size_t)y * (size_t)m->width;
			for (int cx = 0; cx < m->cw; cx++) {
				const int16_t *p = d + cx * MOTION_CELL;
				int c = 0;
				for (int k = 0; k < MOTION_CELL; k++)
					c += (unsigned)(p[k] - med + thr) > (unsigned)(2 * thr);
				count[cx] = (uint16_t)(count[cx] + c);
			}
		}
		for (int cx = 0; cx < m->cw; cx++) {
			fg += count[cx];
			m->cells[cy * m->cw + cx] = count[cx] * 2 >= MOTION_CELL * MOTION_CELL;
		}
	}
	return fg;
}

void motion_process(struct motion *m, const struct luma_frame *f,
		    struct motion_result *res)
{
	const int n = m->width * m->height;
	int16_t *diff;
	int thr, med, fg = 0;

	memset(res, 0, sizeof(*res));
	if (m->frames++ == 0) {
		motion_reset_bg(m, f);
		return;
	}
	if (m->frames <= m->learn_frames) {
		memset(m->cells, 0, (size_t)(m->cw * m->ch));
		motion_update_bg(m, f, 1);
		return;
	}
	diff = m->diff;
	med = motion_diff(m, f, diff, &thr);
	fg = motion_cells(m, diff, med, thr);
	res->score = (float)fg / (float)n;
	if (res->score > MOTION_RELEARN) {
		motion_reset_bg(m, f);
		m->frames = 1;
		res->relearned = 1;
		return;
	}
	motion_components(m, res);
	motion_update_bg(m, f, 0);
}
