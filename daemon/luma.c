/* Integer block-average downscaler for the luma plane; see luma.h. */
#include "luma.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

int luma_scaler_setup(struct luma_scaler *s, int in_w, int in_h, int out_w)
{
	int f;

	if (s->out.data && s->in_w == in_w && s->in_h == in_h)
		return 0;
	f = out_w > 0 ? in_w / out_w : 1;
	if (f < 1)
		f = 1;
	/* Keep 16-bit sums far from overflow; very wide sources are then
	 * analysed a little wider than asked. */
	if (f > 16)
		f = 16;
	free(s->out.data);
	free(s->acc);
	s->in_w = in_w;
	s->in_h = in_h;
	s->factor = f;
	s->out.width = in_w / f;
	s->out.height = in_h / f;
	s->out.stride = s->out.width;
	s->out.data = malloc((size_t)s->out.stride * (size_t)s->out.height);
	s->acc = malloc((size_t)s->out.width * (size_t)f * sizeof(*s->acc));
	if (!s->out.data || !s->acc) {
		free(s->out.data);
		free(s->acc);
		memset(s, 0, sizeof(*s));
		return -ENOMEM;
	}
	return 1;
}

/* Sum of f adjacent column sums for each output pixel, then the average.
 * Inlined with a constant f so the compiler unrolls and vectorises it. */
static inline void luma_hsum(const uint16_t *acc, uint8_t *dst, int w, int f,
			     unsigned mul)
{
	for (int x = 0; x < w; x++) {
		unsigned sum = 0;
		for (int k = 0; k < f; k++)
			sum += acc[x * f + k];
		dst[x] = (uint8_t)((sum * mul + 32768u) >> 16);
	}
}

/* Block average in two passes per output row: the middle two source rows
 * of each block are added column by column into a 16-bit row (a straight,
 * vectorisable loop over contiguous bytes), then every f columns of it
 * are added. Two rows of f pixels average the sensor noise well enough
 * and halve the memory traffic, which is what this step costs. */
void luma_scale(struct luma_scaler *s, const uint8_t *src, int stride)
{
	const int f = s->factor, w = s->out.width, h = s->out.height, in_w = w * f;
	const int rows = f < 2 ? f : 2;
	const unsigned mul = (65536u + (unsigned)(f * rows) / 2) / (unsigned)(f * rows);
	uint16_t *acc = s->acc;

	for (int y = 0; y < h; y++) {
		uint8_t *dst = s->out.data + (size_t)y * (size_t)s->out.stride;
		const uint8_t *row = src + (size_t)(y * f + (f - rows) / 2) * (size_t)stride;

		if (f == 1) {
			memcpy(dst, row, (size_t)w);
			continue;
		}
		for (int x = 0; x < in_w; x++)
			acc[x] = row[x];
		for (int r = 1; r < rows; r++) {
			row += stride;
			for (int x = 0; x < in_w; x++)
				acc[x] = (uint16_t)(acc[x] + row[x]);
		}
		switch (f) {
		case 2: luma_hsum(acc, dst, w, 2, mul); break;
		case 3: luma_hsum(acc, dst, w, 3, mul); break;
		case 4: luma_hsum(acc, dst, w, 4, mul); break;
		case 6: luma_hsum(acc, dst, w, 6, mul); break;
		case 8: luma_hsum(acc, dst, w, 8, mul); break;
		default: luma_hsum(acc, dst, w, f, mul); break;
		}
	}
}

void luma_scaler_free(struct luma_scaler *s)
{
	if (!s)
		return;
	free(s->out.data);
	free(s->acc);
	memset(s, 0, sizeof(*s));
}
