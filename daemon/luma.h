/* Luma frames for analysis and the integer downscaler that makes them.
 *
 * Analysis never sees colour: the decoder's Y plane is averaged over
 * blocks of f pixels on the two middle rows of each f x f block (f an
 * integer chosen from the analysis width, at most 16), into a buffer
 * allocated once per stream geometry. */
#ifndef VIGIL_LUMA_H
#define VIGIL_LUMA_H

#include <stdint.h>

struct luma_frame {
	uint8_t *data;
	int width, height, stride;
	int64_t pts_us;   /* stream time */
	int64_t wall_us;  /* CLOCK_REALTIME when the packet arrived */
};

struct luma_scaler {
	int in_w, in_h;   /* source geometry the buffer was made for */
	int factor;       /* block size, at most 16 */
	int scalar;       /* 1: plain C only (tests compare it with SIMD) */
	struct luma_frame out;
	/* Bands: the picture being downscaled while it is decoded. */
	const uint8_t *band_src;  /* its luma plane, NULL when none */
	int band_stride;
	int band_rows;    /* source rows [0, band_rows) seen */
	int band_out;     /* output rows [0, band_out) made */
};

/* (Re)configure for a source size; keeps the buffer when nothing changed.
 * Returns 1 when the geometry changed (analysis state must be rebuilt),
 * 0 when unchanged, -ENOMEM on failure. */
int luma_scaler_setup(struct luma_scaler *s, int in_w, int in_h, int out_w);
void luma_scale(struct luma_scaler *s, const uint8_t *src, int stride);
/* Downscale while decoding: source rows [y, y + h) of the picture whose
 * luma plane is src are final. Bands must come in order from row 0; one
 * that does not is ignored and the picture is left to luma_scale. The
 * rows are still in the core's cache, which is the point. */
void luma_scale_band(struct luma_scaler *s, const uint8_t *src, int stride, int y, int h);
/* Was the whole output made from bands of this luma plane? Either way the
 * bands are forgotten: the next picture starts afresh. */
int luma_band_take(struct luma_scaler *s, const uint8_t *src, int stride);
void luma_scaler_free(struct luma_scaler *s);

/* Is the picture f the same as ref (a width x height copy of an earlier
 * output) but for coding refinements? Encoders that send a picture
 * again (a sensor slower than the stream, a re-streamer) code the
 * repeat as a nearly empty P frame: a few blocks refined by a few
 * levels. A repeat changes the mean by under LUMA_REPEAT_MEAN levels
 * and moves at most one pixel in LUMA_REPEAT_FEW by more than
 * LUMA_REPEAT_LEVEL; a new picture of a live scene changes the mean by
 * a level or more (sensor noise) and an object that moves changes its
 * outline by far more than the level. */
#define LUMA_REPEAT_LEVEL 8
#define LUMA_REPEAT_MEAN 0.25
#define LUMA_REPEAT_FEW 2000
int luma_repeat(const struct luma_frame *f, const uint8_t *ref);

#endif
