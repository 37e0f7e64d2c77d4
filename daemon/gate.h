/* The gate of the "gated" analysis mode: when may a camera go without
 * decoding?
 *
 * While the gate is closed the camera decodes keyframes only; the gate
 * opens on what is cheap to see without reconstructing every picture:
 *
 * - gate_sizes: the size of each non-key packet against this camera's
 *   own noise floor, the median and median absolute deviation of the
 *   sizes seen while the scene was quiet (learnt per camera, so a noisy
 *   night picture raises the floor by itself). Rate-controlled streams
 *   (constant bitrate) keep their packet sizes flat whatever happens:
 *   there this signal stays silent and the keyframes carry the gate.
 * - gate_keys: each keyframe's luma, averaged over a coarse grid, against
 *   a background learnt from the quiet keyframes, after taking out the
 *   global offset (light). A cell that departs by more than several
 *   times the usual keyframe-to-keyframe change is an object. A keyframe
 *   that does not change at all from the one before is news too: the
 *   picture froze.
 *
 * struct gate keeps the open/closed state: activity (any of the above,
 * or an event the analysis has going) keeps it open for hold_us of
 * stream time, and counts the share of time gated, the openings and the
 * catch-up times for the status report. Pure arithmetic: no FFmpeg. */
#ifndef VIGIL_GATE_H
#define VIGIL_GATE_H

#include <stdint.h>

#define GATE_SIZES      256   /* quiet non-key packet sizes remembered */
#define GATE_SIZES_MIN   64   /* judged only once this many are known */
#define GATE_SIZES_SKIP   2   /* packets after a keyframe neither judged nor
				 learnt: rate control refills its buffer there */
#define GATE_GRID_W      64   /* keyframe grid, cells across */
#define GATE_GRID_H      36   /* and down */
#define GATE_CATCHUPS    15   /* catch-up times kept for the median */

struct gate_sizes {
	int32_t v[GATE_SIZES];
	int n, next;
	int stale;               /* sizes added since median/mad were fitted */
	double median, mad;      /* bytes */
};

/* Forget everything (a new stream). */
void gate_sizes_init(struct gate_sizes *g);
/* Add the size of a non-key packet of a quiet scene. */
void gate_sizes_learn(struct gate_sizes *g, int size);
/* Is a non-key packet this large well above the noise floor? 0 while
 * fewer than GATE_SIZES_MIN sizes are known. */
int gate_sizes_test(struct gate_sizes *g, int size);
/* The current threshold (bytes); 0 when not known. */
double gate_sizes_threshold(struct gate_sizes *g);

enum gate_key_verdict { GATE_KEY_QUIET, GATE_KEY_CHANGED, GATE_KEY_FROZEN };

struct gate_keys {
	float bg[GATE_GRID_W * GATE_GRID_H];    /* background, luma per cell */
	float prev[GATE_GRID_W * GATE_GRID_H];  /* the keyframe before */
	float cur[GATE_GRID_W * GATE_GRID_H];
	int keys;                /* keyframes seen */
	double change;           /* usual mean |cell change| between keyframes */
	double last_dev;         /* largest cell departure of the newest keyframe */
};

void gate_keys_init(struct gate_keys *g);
/* Judge one decoded keyframe (8-bit luma plane). learn: the scene is
 * quiet, move the background toward this keyframe when it shows nothing.
 * The first keyframes only teach. */
enum gate_key_verdict gate_keys_test(struct gate_keys *g, const uint8_t *luma, int linesize,
				     int width, int height, int learn);

struct gate {
	struct gate_sizes sizes;
	struct gate_keys keys;
	int64_t hold_us;         /* quiet stream time before the gate closes */
	int open;
	int64_t open_until_us;   /* stream wall time the gate closes at */
	int64_t last_us;         /* wall time of the previous packet */
	uint64_t gated_us, total_us, openings;
	int64_t catchup[GATE_CATCHUPS];
	int ncatchup, catchup_next;
};

/* A new stream starting at wall_us: open (the detectors learn at full
 * rate first), keeping the statistics of earlier streams. */
void gate_start(struct gate *g, int64_t hold_us, int64_t wall_us);
/* One packet of wall time wall_us: account the time since the previous
 * one as gated or not (gaps over 1 s count as 1 s). */
void gate_tick(struct gate *g, int64_t wall_us);
/* Something is going on at wall_us: open, or stay open, for hold_us.
 * Returns 1 when this opened a closed gate. */
int gate_activity(struct gate *g, int64_t wall_us);
/* Nothing since: close when the hold has run out. Returns 1 on closing. */
int gate_settle(struct gate *g, int64_t wall_us);
/* An opening's catch-up (decoding from the keyframe to the present) took
 * us microseconds. */
void gate_caught_up(struct gate *g, int64_t us);
/* Median of the recent catch-up times; 0 when there was none. */
int64_t gate_catchup_median(const struct gate *g);

#endif
