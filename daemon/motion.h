/* Motion detector: what moved in this frame, as boxes.
 *
 * A per-pixel running background (Q8 fixed point) is compared with each
 * frame after removing the global brightness shift (the median
 * difference), with a threshold that follows the measured noise. The
 * foreground mask is reduced to 4x4 cells, which drops isolated noise
 * pixels, and touching cells are joined into boxes; boxes smaller than the
 * minimum area are dropped. */
#ifndef VIGIL_MOTION_H
#define VIGIL_MOTION_H

#include <stdint.h>
#include "luma.h"

#define MOTION_MAX_BOXES 8

struct motion_box {
	float x, y, w, h;    /* normalised 0..1 from the top left */
	float area;          /* fraction of the frame covered by active cells */
};

struct motion_result {
	int nboxes;
	struct motion_box boxes[MOTION_MAX_BOXES];
	float score;         /* fraction of the frame in foreground */
	int relearned;       /* the frame changed globally; model was reset */
};

struct motion {
	int width, height;
	int32_t *bg;         /* background, Q8 */
	int16_t *diff;       /* frame minus predicted background */
	int32_t *rowmask;    /* per pixel of a row: -1 under an active cell */
	uint8_t *cells;      /* active cells of the current frame */
	uint16_t *label;     /* component labels per cell */
	int *stack;          /* flood fill work list */
	int cw, ch;          /* cells across and down */
	int frames;          /* frames seen since (re)initialisation */
	int learn_frames;    /* frames that only build the background */
	float min_area;      /* smallest box, fraction of the frame */
};

int motion_init(struct motion *m, int width, int height);
void motion_free(struct motion *m);
void motion_process(struct motion *m, const struct luma_frame *f,
		    struct motion_result *res);

#endif
