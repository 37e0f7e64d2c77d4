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

/* Sum f rows of f pixels per output pixel. Row sums are accumulated in a
 * small stack buffer so the source is read once, row by row. */
void luma_scale(struct luma_scaler *s, const uint8_t *src, int stride)
{
	const int f = s->factor, w = s->out.width, h = s->out.height;
	const unsigned area = (unsigned)(f * f), round = area / 2;
	unsigned acc[2048];

	if (f == 1) {
		for (int y = 0; y < h; y++)
			memcpy(s->out.data + (size_t)y * (size_t)s->out.stride,
			       src + (size_t)y * (size_t)stride, (size_t)w);
		return;
	}
	for (int y = 0; y < h; y++) {
		uint8_t *dst = s->out.data + (size_t)y * (size_t)s->out.stride;
		memset(acc, 0, sizeof(acc[0]) * (size_t)(w < 2048 ? w : 2048));
		for (int r = 0; r < f; r++) {
			const uint8_t *row = src + (size_t)(y * f + r) * (size_t)stride;
			for (int x = 0; x < w && x < 2048; x++) {
				const uint8_t *p = row + x * f;
				unsigned sum = 0;
				for (int k = 0; k < f; k++)
					sum += p[k];
				acc[x] += sum;
			}
		}
		for (int x = 0; x < w && x < 2048; x++)
			dst[x] = (uint8_t)((acc[x] + round) / area);
	}
}

void luma_scaler_free(struct luma_scaler *s)
{
	if (!s)
		return;
	free(s->out.data);
	memset(s, 0, sizeof(*s));
}
