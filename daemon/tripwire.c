/* Tripwires; see tripwire.h. */
#include "tripwire.h"

#include <math.h>
#include <string.h>

int tripwire_side(const float *p, float x, float y, float margin)
{
	float dx = p[2] - p[0], dy = p[3] - p[1];
	float len = sqrtf(dx * dx + dy * dy);
	/* Cross product: negative on the left of the direction of travel
	 * as seen on the picture (y grows downwards). */
	float d = len > 0 ? (dx * (y - p[1]) - dy * (x - p[0])) / len : 0;

	return d < -margin ? -1 : d > margin ? 1 : 0;
}

int tripwire_through(const float *p, float x0, float y0, float x1, float y1, float margin)
{
	float dx = p[2] - p[0], dy = p[3] - p[1];
	float mx = x1 - x0, my = y1 - y0;
	float den = dx * my - dy * mx, len = sqrtf(dx * dx + dy * dy), u;

	if (fabsf(den) < 1e-12f || len <= 0)
		return 0;
	/* Where along the line (0: first point, 1: second) the move meets
	 * it: p1 + u d = q0 + s m, crossed with m. */
	u = ((x0 - p[0]) * my - (y0 - p[1]) * mx) / den;
	return u >= -margin / len && u <= 1 + margin / len;
}

void tripwire_init(struct tripwire *tw, const struct vigil_line_conf *conf)
{
	memset(tw, 0, sizeof(*tw));
	tw->conf = conf;
}

static struct tripwire_mark *tripwire_mark(struct tripwire *tw, uint32_t id)
{
	for (int i = 0; i < tw->nmarks; i++)
		if (tw->marks[i].id == id)
			return &tw->marks[i];
	return NULL;
}

int tripwire_step(struct tripwire *tw, const struct vigil_track *t, int n, int64_t now_us,
		  struct tripwire_crossing *out)
{
	const float *p = tw->conf->points;
	int nout = 0, keep = 0;

	for (int i = 0; i < n; i++) {
		float x = t[i].box.x + t[i].box.w / 2, y = t[i].box.y + t[i].box.h / 2;
		struct tripwire_mark *m = tripwire_mark(tw, t[i].id);
		int side;

		if (t[i].hidden)
			continue;      /* a prediction crosses nothing */
		side = tripwire_side(p, x, y, TRIPWIRE_MARGIN);
		if (!side)
			continue;
		if (!m) {
			if (tw->nmarks == TRACK_MAX)
				continue;
			m = &tw->marks[tw->nmarks++];
			*m = (struct tripwire_mark){ .id = t[i].id, .side = side, .x = x, .y = y,
						     .us = now_us };
			continue;
		}
		if (side != m->side && now_us - m->us <= TRIPWIRE_GAP_US &&
		    tripwire_through(p, m->x, m->y, x, y, TRIPWIRE_MARGIN)) {
			int dir = m->side < 0 ? LINE_A_B : LINE_B_A;
			tw->count[dir - 1]++;
			atomic_fetch_add(&tw->total[dir - 1], 1);
			out[nout].track = i;
			out[nout].dir = dir;
			nout++;
		}
		m->side = side;
		m->x = x;
		m->y = y;
		m->us = now_us;
	}
	/* Forget tracks that ended. */
	for (int k = 0; k < tw->nmarks; k++) {
		int alive = 0;
		for (int i = 0; i < n && !alive; i++)
			alive = t[i].id == tw->marks[k].id;
		if (alive)
			tw->marks[keep++] = tw->marks[k];
	}
	tw->nmarks = keep;
	return nout;
}
