/* Tracker: moving objects of one camera followed from frame to frame.
 *
 * Input per frame: the boxes of the objects the camera's detectors saw
 * (the motion plugin's boxes, one per object). Each track predicts its
 * box with a constant velocity; tracks and boxes are matched greedily,
 * best pair first, on overlap of the predicted box (IoU) and, for small
 * or fast objects that no longer overlap, on the distance of the centres
 * relative to the object's size. A matched track takes the box and
 * corrects its velocity; an unmatched one coasts on its prediction for
 * up to coast seconds (an object hidden behind a pole), or for as long
 * as its prediction stays inside another track's box (two objects
 * merged into one box while they cross, up to 2.5 s), then ends; an unmatched box starts a new track.
 * Ids are never reused within a camera's run.
 *
 * The tracks are a host service: the event engine's line, loitering and
 * activity logic read them, and plugins get them in vigil_frame.tracks.
 * Owned by the camera thread. */
#ifndef VIGIL_TRACK_H
#define VIGIL_TRACK_H

#include <stdint.h>

#include "vigil_plugin.h"

#define TRACK_MAX 32

struct tracker {
	double coast_s;              /* how long a track lives unseen */
	uint32_t next_id;
	int64_t last_us;             /* time of the previous update */
	int n;
	struct vigil_track t[TRACK_MAX];
	int64_t seen_us[TRACK_MAX];  /* when each was last matched */
	int64_t group_us[TRACK_MAX]; /* ... or last inside another's box */
	int hits[TRACK_MAX];         /* frames matched */
};

void tracker_init(struct tracker *tk, double coast_s);
/* One frame at now_us with its n object boxes. */
void tracker_update(struct tracker *tk, const struct vigil_box *boxes, int n, int64_t now_us);
/* Overlap of two boxes: intersection over union, 0..1. */
double track_iou(const struct vigil_box *a, const struct vigil_box *b);

#endif
