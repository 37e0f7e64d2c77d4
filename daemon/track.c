/* Tracker; see track.h. */
#include "track.h"

#include <math.h>
#include <string.h>

/* A pair whose score is below this is no match: no overlap and centres
 * farther apart than the object's size. */
#define TRACK_MIN_SCORE 0.05
/* Boxes that do not overlap match only when their areas are this close. */
#define TRACK_MIN_RATIO 0.3
/* Velocity correction: weight of the newest measurement. */
#define TRACK_GAIN 0.5f
/* Longest a track lives inside another's box (merged with it). */
#define TRACK_GROUP_S 2.5
/* ... if it was an object of its own for this many frames first: a piece
 * of an object (its legs, its shadow) seen apart for a moment is not. */
#define TRACK_GROUP_HITS 10

void tracker_init(struct tracker *tk, double coast_s)
{
	memset(tk, 0, sizeof(*tk));
	tk->coast_s = coast_s;
	tk->next_id = 1;
}

double track_iou(const struct vigil_box *a, const struct vigil_box *b)
{
	double w = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
	double h = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
	double inter = w > 0 && h > 0 ? w * h : 0;
	double total = (double)a->w * a->h + (double)b->w * b->h - inter;

	return total > 0 ? inter / total : 0;
}

/* How well box b continues a track predicted at p: its overlap, plus
 * closeness of the centres (1 when together, 0 an object size apart). */
static double track_score(const struct vigil_box *p, const struct vigil_box *b)
{
	double dx = (p->x + p->w / 2) - (b->x + b->w / 2);
	double dy = (p->y + p->h / 2) - (b->y + b->h / 2);
	double size = fmax(fmax(p->w, p->h), fmax(b->w, b->h));
	double near = size > 0 ? 1 - sqrt(dx * dx + dy * dy) / size : 0;
	/* Sizes far apart (a merged pair against one object) match less;
	 * without overlap, not at all (a person's track does not jump to a
	 * patch of shadow nearby). */
	double ratio = fmin(p->w * p->h, b->w * b->h) / fmax(1e-9, fmax(p->w * p->h, b->w * b->h));
	double iou = track_iou(p, b);

	if (iou <= 0 && ratio < TRACK_MIN_RATIO)
		return 0;
	return iou + 0.5 * fmax(0, near) * (0.5 + 0.5 * ratio);
}

static void track_remove(struct tracker *tk, int i)
{
	tk->n--;
	if (i != tk->n) {
		tk->t[i] = tk->t[tk->n];
		tk->seen_us[i] = tk->seen_us[tk->n];
		tk->group_us[i] = tk->group_us[tk->n];
		tk->hits[i] = tk->hits[tk->n];
	}
}

/* Whether the centre of predicted box p is inside a box another track
 * took this frame. */
static int track_in_group(const struct vigil_box *p, const struct vigil_box *boxes, int n,
			  const unsigned char *used)
{
	float cx = p->x + p->w / 2, cy = p->y + p->h / 2;

	for (int j = 0; j < n; j++)
		if (used[j] && cx >= boxes[j].x && cx <= boxes[j].x + boxes[j].w &&
		    cy >= boxes[j].y && cy <= boxes[j].y + boxes[j].h)
			return 1;
	return 0;
}

void tracker_update(struct tracker *tk, const struct vigil_box *boxes, int n, int64_t now_us)
{
	double dt = tk->last_us ? (double)(now_us - tk->last_us) / 1e6 : 0;
	unsigned char used_box[64] = { 0 }, used_track[TRACK_MAX] = { 0 };

	if (n > 64)
		n = 64;
	if (dt < 0 || dt > 5)
		dt = 0;
	tk->last_us = now_us;
	/* Predict. */
	for (int i = 0; i < tk->n; i++) {
		tk->t[i].box.x += tk->t[i].vx * (float)dt;
		tk->t[i].box.y += tk->t[i].vy * (float)dt;
	}
	/* Greedy matching, best pair first (a handful of objects: n x m is
	 * small enough to rescan). */
	for (;;) {
		double best = TRACK_MIN_SCORE;
		int bi = -1, bj = -1;

		for (int i = 0; i < tk->n; i++) {
			if (used_track[i])
				continue;
			for (int j = 0; j < n; j++) {
				double s;
				if (used_box[j])
					continue;
				s = track_score(&tk->t[i].box, &boxes[j]);
				if (s > best) {
					best = s;
					bi = i;
					bj = j;
				}
			}
		}
		if (bi < 0)
			break;
		used_track[bi] = used_box[bj] = 1;
		struct vigil_track *t = &tk->t[bi];
		double since = (double)(now_us - tk->seen_us[bi]) / 1e6;
		if (since > 0) {
			/* Velocity of the centre since it was last seen (its
			 * predicted box is where it was plus velocity x time). */
			float cx = boxes[bj].x + boxes[bj].w / 2, cy = boxes[bj].y + boxes[bj].h / 2;
			float px = t->box.x + t->box.w / 2, py = t->box.y + t->box.h / 2;
			float vx = t->vx + (cx - px) / (float)since;
			float vy = t->vy + (cy - py) / (float)since;
			if (tk->hits[bi] == 1) {
				t->vx = vx;
				t->vy = vy;
			} else {
				t->vx += TRACK_GAIN * (vx - t->vx);
				t->vy += TRACK_GAIN * (vy - t->vy);
			}
		}
		t->box = boxes[bj];
		t->hidden = 0;
		tk->seen_us[bi] = now_us;
		tk->hits[bi]++;
	}
	/* Coast the unmatched tracks, or end them. One whose prediction is
	 * inside another object's box is merged with it (two people
	 * crossing): it lives while the group lasts, up to TRACK_GROUP_S. */
	for (int i = tk->n - 1; i >= 0; i--) {
		double unseen = (double)(now_us - tk->seen_us[i]) / 1e6;
		if (used_track[i])
			continue;
		if (unseen <= TRACK_GROUP_S && tk->hits[i] >= TRACK_GROUP_HITS &&
		    track_in_group(&tk->t[i].box, boxes, n, used_box))
			tk->group_us[i] = now_us;
		if ((double)(now_us - (tk->group_us[i] > tk->seen_us[i] ? tk->group_us[i]
							: tk->seen_us[i])) / 1e6 > tk->coast_s)
			track_remove(tk, i);
		else
			tk->t[i].hidden++;
	}
	/* New objects. */
	for (int j = 0; j < n && tk->n < TRACK_MAX; j++) {
		struct vigil_track *t;
		if (used_box[j])
			continue;
		t = &tk->t[tk->n];
		memset(t, 0, sizeof(*t));
		t->id = tk->next_id++;
		t->box = boxes[j];
		t->first_us = now_us;
		tk->seen_us[tk->n] = now_us;
		tk->group_us[tk->n] = 0;
		tk->hits[tk->n] = 1;
		tk->n++;
	}
}
