/* tamper detector plugin: state and the parts shared by its files.
 *
 * tamper_stats.c measures a frame (brightness, detail, sharpness, change
 * since the previous frame, a coarse normalised thumbnail); tamper.c
 * compares those with the camera's learned normal and decides. */
#ifndef VIGIL_TAMPER_PLUGIN_H
#define VIGIL_TAMPER_PLUGIN_H

#include <stdint.h>

#include "vigil_plugin.h"

#define TAMPER_BLOCK 8           /* thumbnail block, analysis pixels */

struct tamper_stats {
	double mean;             /* luma */
	double detail;           /* standard deviation of luma */
	double sharp;            /* mean absolute gradient */
	double change;           /* mean absolute change since the last frame */
};

/* A condition that must hold hold_us to switch on and be absent clear_us
 * to switch off. */
struct tamper_latch {
	int64_t since_us;        /* 0: not holding */
	int64_t last_true_us;
	int on;
};

enum { TAMPER_COVERED, TAMPER_DEFOCUS, TAMPER_MOVED, TAMPER_FROZEN, TAMPER_KINDS };

struct tamper_state {
	/* options */
	double hold_s;           /* covered, defocus, moved must last this long */
	double frozen_s;         /* no change at all for this long */
	double still;            /* frozen: change below this x normal */
	double learn_s;          /* learning of the normal picture */
	double dark;             /* covered: brightness below this x normal ... */
	double flat;             /* ... or detail below this x normal */
	double blur;             /* defocus: sharpness below this x normal */
	double mismatch;         /* moved: fraction of thumbnail blocks changed */
	double relearn_s;        /* moved: adopt the new view after this long */

	/* setup */
	const struct vigil_log_ctx *log_ctx;
	vigil_log_fn log;
	int width, height, tw, th;
	double fps;

	int every;               /* measure every n-th frame */

	/* model */
	unsigned tick;
	struct vigil_observations last;   /* repeated on frames not measured */
	uint8_t *prev;           /* previous frame, for frozen */
	int have_prev;
	int32_t *blocks;         /* block sums, scratch */
	int16_t *thumb;          /* this frame's normalised thumbnail */
	int16_t *ref;            /* learned thumbnail */
	int frames;
	int learn_frames;
	struct tamper_stats normal;   /* normal.change: of frames that differ */
	double learn_change_max;      /* largest change seen while learning */
	int normal_pairs;             /* distinct pairs in normal.change */
	int64_t changed_us;           /* last frame that differed from the one before */
	int key_pending;              /* a keyframe since the last measurement */
	int prev_key;                 /* the last frame measured was a keyframe */
	int64_t measured_us;          /* when the last frame was measured */
	int64_t interval_us;          /* usual time between measurements */
	struct tamper_latch latch[TAMPER_KINDS];
};

/* tamper_frozen.c: whether the picture has stood still frozen_us (key:
 * the frame measured is a keyframe), and the change a live picture makes
 * from one differing frame to the next. */
int tamper_frozen(struct tamper_state *t, const struct tamper_stats *s, int key, int64_t now,
		  int64_t frozen_us);
void tamper_frozen_learn(struct tamper_state *t, const struct tamper_stats *s);
/* A frame was measured at now (key: a keyframe): 1 when it came after a
 * gap of several usual intervals. tamper_frozen calls it; so does the
 * learning, which does not judge. */
int tamper_frozen_seen(struct tamper_state *t, int key, int64_t now);

/* tamper_stats.c */
void tamper_measure(struct tamper_state *t, const struct vigil_frame *f,
		    struct tamper_stats *s);
/* Fraction of thumbnail blocks that differ from the reference. */
double tamper_mismatch(const struct tamper_state *t);

#endif
