/* still detector plugin: objects left behind, vehicles stopped.
 *
 * Two backgrounds learn at different rates: the short one follows the
 * picture within about a second, the long one only where nothing stands
 * in front of it. Where the picture matches the short background but
 * not the long one, something new stands still. Cells that stay so
 * for `stationary` seconds are joined into objects and reported as
 * object.left; after `absorb` seconds the object becomes background
 * (never an alert forever), and when it is taken away the picture
 * matches the long background again and the report stops. */
#ifndef VIGIL_STILL_PLUGIN_H
#define VIGIL_STILL_PLUGIN_H

#include <stdint.h>

#include "vigil_plugin.h"

#define STILL_CELL 8             /* analysis pixels */
#define STILL_MAX_OBJECTS 8

struct still_state {
	/* options */
	double stationary_s;     /* still this long: reported */
	double absorb_s;         /* still this long: background */
	double short_s;          /* time constant of the short background */
	double long_s;           /* ... of the long one where nothing stands */
	double learn_s;          /* learning after start and relearn */
	int every;               /* look at every n-th frame */

	/* setup */
	const struct vigil_log_ctx *log_ctx;
	vigil_log_fn log;
	int width, height, cw, ch;
	double fps;
	int nzones;
	const struct vigil_zone *zones;
	struct vigil_zone zone_copy[16];

	/* model */
	uint16_t *shortbg, *longbg;   /* Q8 */
	uint8_t *cell;               /* static cells of this frame */
	int64_t *since;              /* per cell: still since, 0: not */
	int *stack;
	uint16_t *label;
	uint8_t *flag;               /* one row: pixel new and still */
	int *count;                  /* one row of cells: such pixels */
	int64_t start_us;            /* first frame after (re)learning */
	unsigned frames;
	unsigned tick;               /* frames seen: which are looked at */
	struct vigil_observations last;   /* repeated on frames not looked at */
};

#endif
