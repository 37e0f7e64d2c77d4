/* Tripwires: which tracked objects crossed a line, and which way.
 *
 * A track's place is the centre of its box. Its side of the line is
 * a (left of the segment from its first point to its second, as seen on
 * the picture) or b, and only counts when the centre is more than
 * TRIPWIRE_MARGIN from the line: an object walking along the line, its
 * box jittering across it, changes no side. A crossing is a change of
 * side by a track that is seen (not coasting), through the segment
 * itself (not its extension), within TRIPWIRE_GAP_US of its last sight on
 * the other side. Owned by the camera thread. */
#ifndef VIGIL_TRIPWIRE_H
#define VIGIL_TRIPWIRE_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "track.h"

#define TRIPWIRE_MARGIN 0.03f    /* picture widths */
/* A change of side counts only this soon after the track was last seen
 * on the other side: an object hidden longer (merged with another for a
 * while, then found again) may not be the same. */
#define TRIPWIRE_GAP_US 2000000

struct tripwire_mark {
	uint32_t id;             /* track */
	int side;                /* -1: a, +1: b */
	float x, y;              /* where the track last was on that side */
	int64_t us;              /* and when */
};

struct tripwire {
	const struct vigil_line_conf *conf;
	int nmarks;
	struct tripwire_mark marks[TRACK_MAX];
	unsigned long count[2];  /* this interval: a-b, b-a */
	atomic_ulong total[2];   /* since start (read by the status) */
};

struct tripwire_crossing {
	int track;               /* index into the tracks given */
	int dir;                 /* LINE_A_B or LINE_B_A */
};

/* -1 (side a), +1 (side b) or 0 (within margin of the line's
 * extension) for point (x, y) and line pts = x1, y1, x2, y2. */
int tripwire_side(const float *pts, float x, float y, float margin);
/* Whether the move from (x0, y0) to (x1, y1) passes through the segment
 * (its ends included, give or take margin along it). */
int tripwire_through(const float *pts, float x0, float y0, float x1, float y1,
		     float margin);

void tripwire_init(struct tripwire *tw, const struct vigil_line_conf *conf);
/* One frame's tracks: the crossings (at most n), counted. */
int tripwire_step(struct tripwire *tw, const struct vigil_track *t, int n, int64_t now_us,
		  struct tripwire_crossing *out);

#endif
