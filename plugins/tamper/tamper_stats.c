/* Frame measurements of the tamper plugin; see tamper.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tamper.h"

#define TAMPER_BLOCK_DIFF 40     /* thumbnail difference, sigma x 64 */

/* Sharpness: mean absolute gradient of the picture averaged over 2x2
 * pixels, so that sensor noise (which averaging halves) weighs less than
 * edges (which it keeps). Defocus removes edges but not noise. */
static double tamper_sharpness(const struct vigil_frame *f)
{
	const int w = f->width / 2, h = f->height / 2;
	uint64_t grad = 0;

	for (int y = 0; y + 1 < h; y++) {
		const uint8_t *r0 = f->data + (size_t)(2 * y) * (size_t)f->stride;
		const uint8_t *r1 = r0 + f->stride, *r2 = r1 + f->stride, *r3 = r2 + f->stride;
		for (int x = 0; x + 1 < w; x++) {
			int a = r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1];
			int right = r0[2 * x + 2] + r0[2 * x + 3] + r1[2 * x + 2] + r1[2 * x + 3];
			int down = r2[2 * x] + r2[2 * x + 1] + r3[2 * x] + r3[2 * x + 1];
			grad += (unsigned)(abs(right - a) + abs(down - a));
		}
	}
	return w > 1 && h > 1 ? (double)grad / 4.0 / ((double)(w - 1) * (h - 1)) : 0;
}

/* One pass over the frame: sums for mean and deviation, the
 * change since the previous frame and block sums for the thumbnail. */
void tamper_measure(struct tamper_state *t, const struct vigil_frame *f,
		    struct tamper_stats *s)
{
	const int w = t->width, h = t->height, wn = w < 2048 ? w : 2048;
	uint64_t sum = 0, sum2 = 0, change = 0;
	uint32_t rsum[2048], rsum2, rchange;
	int32_t *blocks = t->blocks;
	double n = (double)w * ((h + 1) / 2), mean, sd;

	memset(blocks, 0, (size_t)(t->tw * t->th) * sizeof(*blocks));

	/* Every second row is plenty for these statistics and halves the
	 * cost; the inner loops are plain enough to be vectorised. */
	for (int y = 0; y < h; y += 2) {
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride;
		uint8_t *prev = t->prev + (size_t)(y / 2) * (size_t)w;
		int32_t *blk = blocks + (y / TAMPER_BLOCK) * t->tw;

		rsum2 = 0;
		rchange = 0;
		for (int x = 0; x < wn; x++) {
			int v = row[x], d = v - prev[x];
			rsum[x] = (uint32_t)v;
			rsum2 += (uint32_t)(v * v);
			rchange += (uint32_t)(d < 0 ? -d : d);
		}
		memcpy(prev, row, (size_t)w);
		sum2 += rsum2;
		change += rchange;
		if (y / TAMPER_BLOCK >= t->th) {
			for (int x = 0; x < wn; x++)
				sum += rsum[x];
			continue;
		}
		for (int x = 0; x < wn; x++)
			sum += rsum[x];
		for (int bx = 0; bx < t->tw; bx++) {
			const uint32_t *p = rsum + bx * TAMPER_BLOCK;
			uint32_t b = 0;
			for (int k = 0; k < TAMPER_BLOCK; k++)
				b += p[k];
			blk[bx] += (int32_t)b;
		}
	}
	mean = (double)sum / n;
	sd = sqrt(fmax(0.0, (double)sum2 / n - mean * mean));
	s->mean = mean;
	s->detail = sd;
	s->sharp = tamper_sharpness(f);
	s->change = t->have_prev ? (double)change / n : 0;
	t->have_prev = 1;
	/* Thumbnail in units of the frame's own deviation: a global gain
	 * or offset (lights) leaves it unchanged. */
	for (int i = 0; i < t->tw * t->th; i++) {
		double b = (double)blocks[i] / (TAMPER_BLOCK * TAMPER_BLOCK / 2);
		double z = sd > 1 ? (b - mean) / sd : 0;
		t->thumb[i] = (int16_t)fmax(-32000, fmin(32000, z * 64));
	}
}

double tamper_mismatch(const struct tamper_state *t)
{
	int n = t->tw * t->th, diff = 0;

	for (int i = 0; i < n; i++)
		diff += abs(t->thumb[i] - t->ref[i]) > TAMPER_BLOCK_DIFF;
	return n ? (double)diff / n : 0;
}
