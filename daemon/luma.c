/* Integer block-average downscaler for the luma plane; see luma.h. */
#include "luma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int luma_scaler_setup(struct luma_scaler *s, int in_w, int in_h, int out_w)
{
	int f;

	if (s->out.data && s->in_w == in_w && s->in_h == in_h)
		return 0;
	f = out_w > 0 ? in_w / out_w : 1;
	if (f < 1)
		f = 1;
	while (in_w / f > 2048)
		f++;
	free(s->out.data);
	s->in_w = in_w;
	s->in_h = in_h;
	s->factor = f;
	s->out.width = in_w / f;
	s->out.height = in_h / f;
	s->out.stride = s->out.width;
	s->out.data = malloc((size_t)s->out.stride * (size_t)s->out.height);
	if (!s->out.data) {
		memset(s, 0, sizeof(*s));
		return -ENOMEM;
	}
	return 1;
}

/* Sum f rows of f pixels per output pixel: first the f rows column by
 * column into 16-bit sums (a plain loop over contiguous bytes that the
 * compiler vectorises), then f neighbouring column sums per output. */
void luma_scale(struct luma_scaler *s, const uint8_t *src, int stride)
{
	const int f = s->factor, w = s->out.width, h = s->out.height;
	const int in_w = w * f;
	const unsigned area = (unsigned)(f * f), round = area / 2;
	uint16_t col[2048 * 16];

	if (f == 1) {
		for (int y = 0; y < h; y++)
			memcpy(s->out.data + (size_t)y * (size_t)s->out.stride,
			       src + (size_t)y * (size_t)stride, (size_t)w);
		return;
	}
	if (in_w > (int)(sizeof(col) / sizeof(col[0])) || f > 16) {
		/* Not reached for camera sizes (the factor keeps w <= 2048). */
		memset(s->out.data, 0, (size_t)s->out.stride * (size_t)h);
		return;
	}
	for (int y = 0; y < h; y++) {
		const uint8_t *row = src + (size_t)(y * f) * (size_t)stride;
		uint8_t *dst = s->out.data + (size_t)y * (size_t)s->out.stride;

		for (int x = 0; x < in_w; x++)
			col[x] = row[x];
		for (int r = 1; r < f; r++) {
			const uint8_t *p = row + (size_t)r * (size_t)stride;
			for (int x = 0; x < in_w; x++)
				col[x] = (uint16_t)(col[x] + p[x]);
		}
		if (f == 2) {
			for (int x = 0; x < w; x++)
				dst[x] = (uint8_t)((col[2 * x] + col[2 * x + 1] + 2u) >> 2);
		} else if (f == 4) {
			for (int x = 0; x < w; x++)
				dst[x] = (uint8_t)((col[4 * x] + col[4 * x + 1] + col[4 * x + 2] +
						    col[4 * x + 3] + 8u) >> 4);
		} else {
			for (int x = 0; x < w; x++) {
				unsigned sum = 0;
				for (int k = 0; k < f; k++)
					sum += col[x * f + k];
				dst[x] = (uint8_t)((sum + round) / area);
			}
		}
	}
}

void luma_scaler_free(struct luma_scaler *s)
{
	if (!s)
		return;
	free(s->out.data);
	memset(s, 0, sizeof(*s));
}
