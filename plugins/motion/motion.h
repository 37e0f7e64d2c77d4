/* motion detector plugin: state and the parts shared by its files.
 *
 * motion.c keeps the background model and finds foreground cells;
 * motion_regions.c maps zones and masks onto cells, joins foreground cells
 * into objects and turns objects into observations per zone;
 * motion_light.c drops objects that are only light (headlights). */
#ifndef VIGIL_MOTION_PLUGIN_H
#define VIGIL_MOTION_PLUGIN_H

#include <stdint.h>

#include "vigil_plugin.h"

#define MOTION_CELL 4            /* cell size in analysis pixels */
#define MOTION_MAX_ZONES 16      /* zones are bits of a cell's zone mask */

struct motion_object {
	int x0, y0, x1, y1;      /* cell bounds, inclusive */
	int cells;               /* active cells */
};

struct motion_state {
	/* options (the host stores them before init) */
	double sensitivity;      /* used when the camera has no zones */
	double min_size;         /* percent of the picture, without zones */
	double adapt_s;          /* background time constant */
	double relearn;          /* foreground fraction meaning "global change" */
	double jump;             /* ... or growth of it in one frame */
	double learn_s;          /* learning time after start or relearn */

	/* setup */
	const struct vigil_log_ctx *log_ctx;
	vigil_log_fn log;
	int width, height, cw, ch;
	int nzones;
	struct vigil_zone zones[MOTION_MAX_ZONES];
	float zone_cells[MOTION_MAX_ZONES];   /* cells inside each zone */
	int bg_shift, fg_shift;  /* background update rates (1 / 2^shift) */
	int learn_frames;

	/* model */
	uint16_t *bg;            /* background, Q8 (16 bits: vectorises 8-wide) */
	uint16_t *dev;           /* mean absolute deviation per pixel, Q4 */
	int16_t *diff;           /* frame minus predicted background */
	uint8_t *fg;             /* foreground pixels of this frame */
	uint16_t *krow;          /* cell_k per pixel, one row per cell row (0: ignored) */
	uint8_t *sum4;           /* foreground of a cell row's rows, per column */
	uint16_t *cell_zones;    /* bit z: cell centre inside zone z; 0: ignored */
	uint8_t *cell_k;         /* threshold factor per cell, sigma x 8 */
	uint8_t *cells;          /* foreground cells of this frame */
	uint8_t *clean;          /* after noise removal */
	uint16_t *label;         /* object of each cell, index + 1; 0: none */
	int *stack;
	int frames;              /* since start or relearn */
	unsigned tick;           /* frames seen: which rows update this frame */
	int active;              /* foreground cells of this frame */
	double prev_active;      /* fraction of cells active last frame */
	int nobjects;
	struct motion_object objects[64];
};

/* motion_regions.c */
int motion_regions_init(struct motion_state *m, const struct vigil_setup *setup);
void motion_regions_clean(struct motion_state *m);
void motion_regions_objects(struct motion_state *m);
void motion_regions_observe(struct motion_state *m, float score,
			    struct vigil_observations *out);

/* motion_light.c: drop the objects that are the background under
 * different light; sigma8 is 8 x the picture's noise. */
void motion_light_drop(struct motion_state *m, const struct vigil_frame *f, int sigma8);

#endif
