/* Integer block-average downscaler for the luma plane; see luma.h. */
#include "luma.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

int luma_scaler_setup(struct luma_scaler *s, int in_w, int in_h, int out_w)
{
	int f;

	if (s->out.data && s->in_w == in_w && s->in_h == in_h)
		return 0;
	f = out_w > 0 ? in_w / out_w : 1;
	if (f < 1)
		f = 1;
	/* Very wide sources are analysed a little wider than asked rather
	 * than over blocks so coarse that small objects vanish. */
	if (f > 16)
		f = 16;
	free(s->out.data);
	s->band_src = NULL;
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

/* The block average, defined once for every path: the middle two source
 * rows of each block are averaged pixel by pixel (rounding up), then f of
 * those averages are summed and divided with rounding. Two rows of f
 * pixels average the sensor noise well enough and halve the memory
 * traffic. */
static void luma_row_c(const uint8_t *r0, const uint8_t *r1, uint8_t *dst,
		       int x0, int w, int f)
{
	for (int x = x0; x < w; x++) {
		unsigned sum = 0;
		for (int k = 0; k < f; k++)
			sum += (unsigned)(r0[x * f + k] + r1[x * f + k] + 1) >> 1;
		dst[x] = (uint8_t)((sum + (unsigned)f / 2) / (unsigned)f);
	}
}

#ifdef __SSE2__
/* The same with SSE2 (every x86-64 has it) for the common factors 2, 4
 * and 8: pavgb averages the two rows, then neighbours are added in
 * 16-bit lanes (2, 4) or with psadbw (8). Returns how many output pixels
 * it wrote; the C loop does the rest of the row. */
static int luma_row_sse2(const uint8_t *r0, const uint8_t *r1, uint8_t *dst,
			 int w, int f)
{
	const __m128i lo8 = _mm_set1_epi16(0x00ff), one16 = _mm_set1_epi16(1);
	const __m128i zero = _mm_setzero_si128();
	int x = 0;

	if (f == 2) {
		for (; x + 8 <= w; x += 8) {
			__m128i a = _mm_avg_epu8(_mm_loadu_si128((const __m128i *)(r0 + 2 * x)),
						 _mm_loadu_si128((const __m128i *)(r1 + 2 * x)));
			__m128i s = _mm_add_epi16(_mm_and_si128(a, lo8), _mm_srli_epi16(a, 8));
			s = _mm_srli_epi16(_mm_add_epi16(s, one16), 1);
			_mm_storel_epi64((__m128i *)(dst + x), _mm_packus_epi16(s, s));
		}
	} else if (f == 4) {
		const __m128i two32 = _mm_set1_epi32(2);
		for (; x + 8 <= w; x += 8) {
			__m128i q[2];
			for (int h = 0; h < 2; h++) {
				const uint8_t *p0 = r0 + 4 * x + 16 * h, *p1 = r1 + 4 * x + 16 * h;
				__m128i a = _mm_avg_epu8(_mm_loadu_si128((const __m128i *)p0),
							 _mm_loadu_si128((const __m128i *)p1));
				__m128i s = _mm_add_epi16(_mm_and_si128(a, lo8), _mm_srli_epi16(a, 8));
				s = _mm_madd_epi16(s, one16);           /* sums of 4, 32-bit */
				q[h] = _mm_srli_epi32(_mm_add_epi32(s, two32), 2);
			}
			__m128i v = _mm_packs_epi32(q[0], q[1]);
			_mm_storel_epi64((__m128i *)(dst + x), _mm_packus_epi16(v, v));
		}
	} else if (f == 8) {
		const __m128i four64 = _mm_set_epi32(0, 4, 0, 4);
		for (; x + 2 <= w; x += 2) {
			__m128i a = _mm_avg_epu8(_mm_loadu_si128((const __m128i *)(r0 + 8 * x)),
						 _mm_loadu_si128((const __m128i *)(r1 + 8 * x)));
			__m128i s = _mm_srli_epi64(_mm_add_epi64(_mm_sad_epu8(a, zero), four64), 3);
			dst[x] = (uint8_t)_mm_cvtsi128_si32(s);
			dst[x + 1] = (uint8_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
		}
	}
	return x;
}
#endif

/* Output rows [y0, y1). prefetch: the source is out of cache (a whole
 * decoded frame), not a band just written. */
static void luma_rows(struct luma_scaler *s, const uint8_t *src, int stride, int y0, int y1,
		      int prefetch)
{
	const int f = s->factor, w = s->out.width, h = s->out.height;

	for (int y = y0; y < y1; y++) {
		uint8_t *dst = s->out.data + (size_t)y * (size_t)s->out.stride;
		const uint8_t *r0 = src + (size_t)(y * f + (f - 2) / 2) * (size_t)stride;
		int x = 0;

		if (f == 1) {
			memcpy(dst, src + (size_t)y * (size_t)stride, (size_t)w);
			continue;
		}
#ifdef __SSE2__
		/* The decoder wrote the frame a while ago: it is mostly out of
		 * this core's cache, and the two rows read of every f are not a
		 * pattern the hardware prefetches well. Ask for the rows of the
		 * block four ahead while this one is averaged (in vigild with 8
		 * cameras, the downscale's share of a worker's CPU went from
		 * 3.1 % to 1.8 %). */
		if (prefetch && y + 4 < h) {
			const char *n0 = (const char *)r0 + (size_t)(4 * f) * (size_t)stride;
			for (int off = 0; off < w * f; off += 64) {
				_mm_prefetch(n0 + off, _MM_HINT_T0);
				_mm_prefetch(n0 + stride + off, _MM_HINT_T0);
			}
		}
		if (!s->scalar)
			x = luma_row_sse2(r0, r0 + stride, dst, w, f);
#else
		(void)prefetch;
		(void)h;
#endif
		luma_row_c(r0, r0 + stride, dst, x, w, f);
	}
}

void luma_scale(struct luma_scaler *s, const uint8_t *src, int stride)
{
	luma_rows(s, src, stride, 0, s->out.height, 1);
}

void luma_scale_band(struct luma_scaler *s, const uint8_t *src, int stride, int y, int h)
{
	const int f = s->factor;
	int end;

	if (!s->out.data)
		return;
	if (y == 0) {
		s->band_src = src;
		s->band_stride = stride;
		s->band_rows = 0;
		s->band_out = 0;
	}
	if (src != s->band_src || stride != s->band_stride || y != s->band_rows || h <= 0) {
		s->band_src = NULL;
		return;
	}
	s->band_rows = y + h < s->in_h ? y + h : s->in_h;
	/* Output row y reads source rows up to y * f + f / 2. */
	end = s->band_out;
	while (end < s->out.height && end * f + f / 2 < s->band_rows)
		end++;
	luma_rows(s, src, stride, s->band_out, end, 0);
	s->band_out = end;
}

int luma_band_take(struct luma_scaler *s, const uint8_t *src, int stride)
{
	int done = s->out.data && s->band_src && s->band_src == src &&
		   s->band_stride == stride && s->band_out == s->out.height;

	s->band_src = NULL;
	return done;
}

/* Over one row: the sum of absolute differences and how many of them
 * exceed LUMA_REPEAT_LEVEL. */
static void luma_diff_row(const uint8_t *a, const uint8_t *b, int w, uint64_t *sad,
			  unsigned *big)
{
	int x = 0;

#ifdef __SSE2__
	const __m128i zero = _mm_setzero_si128(), level = _mm_set1_epi8(LUMA_REPEAT_LEVEL);
	const __m128i one = _mm_set1_epi8(1);
	__m128i acc = zero, over = zero;

	/* Both sums in 64-bit lanes by psadbw: the differences, and a 1 per
	 * difference over the level (min(d - level, 1)). */
	for (; x + 16 <= w; x += 16) {
		__m128i p = _mm_loadu_si128((const __m128i *)(a + x));
		__m128i q = _mm_loadu_si128((const __m128i *)(b + x));
		__m128i d = _mm_or_si128(_mm_subs_epu8(p, q), _mm_subs_epu8(q, p));

		acc = _mm_add_epi64(acc, _mm_sad_epu8(d, zero));
		over = _mm_add_epi64(over, _mm_sad_epu8(_mm_min_epu8(_mm_subs_epu8(d, level), one),
							zero));
	}
	*sad += (uint64_t)_mm_cvtsi128_si32(acc) + (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(acc, 8));
	*big += (unsigned)_mm_cvtsi128_si32(over) + (unsigned)_mm_cvtsi128_si32(_mm_srli_si128(over, 8));
#endif
	for (; x < w; x++) {
		int d = a[x] > b[x] ? a[x] - b[x] : b[x] - a[x];
		*sad += (uint64_t)d;
		*big += d > LUMA_REPEAT_LEVEL;
	}
}

int luma_repeat(const struct luma_frame *f, const uint8_t *ref)
{
	const uint64_t n = (uint64_t)f->width * (uint64_t)f->height;
	uint64_t sad = 0;
	unsigned big = 0;

	if (!n)
		return 0;
	for (int y = 0; y < f->height; y++) {
		luma_diff_row(f->data + (size_t)y * (size_t)f->stride,
			      ref + (size_t)y * (size_t)f->width, f->width, &sad, &big);
		if ((uint64_t)big * LUMA_REPEAT_FEW > n)
			return 0;
	}
	return (double)sad < LUMA_REPEAT_MEAN * (double)n;
}

void luma_scaler_free(struct luma_scaler *s)
{
	if (!s)
		return;
	free(s->out.data);
	memset(s, 0, sizeof(*s));
}
