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
};

/* (Re)configure for a source size; keeps the buffer when nothing changed.
 * Returns 1 when the geometry changed (analysis state must be rebuilt),
 * 0 when unchanged, -ENOMEM on failure. */
int luma_scaler_setup(struct luma_scaler *s, int in_w, int in_h, int out_w);
void luma_scale(struct luma_scaler *s, const uint8_t *src, int stride);
void luma_scaler_free(struct luma_scaler *s);

#endif
