/* Zones, masks and objects of the motion plugin; see motion.h. */
#include "motion.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Even-odd rule: is (x, y) inside the polygon? */
static int motion_inside(const struct vigil_zone *z, float x, float y)
{
	int in = 0;

	for (int i = 0, j = z->npoints - 1; i < z->npoints; j = i++) {
		float xi = z->points[2 * i], yi = z->points[2 * i + 1];
		float xj = z->points[2 * j], yj = z->points[2 * j + 1];
		if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
			in = !in;
	}
	return in;
}

/* Threshold factor for a sensitivity 0..1: 6 sigma down to 1 sigma, x 8. */
static uint8_t motion_k(double sensitivity)
{
	return (uint8_t)(8.0 * (6.0 - 5.0 * sensitivity) + 0.5);
}

/* Which zones each cell belongs to (by its centre), and its threshold. */
int motion_regions_init(struct motion_state *m, const struct vigil_setup *setup)
{
	const int ncell = m->cw * m->ch;

	m->nzones = setup->nzones < MOTION_MAX_ZONES ? setup->nzones : MOTION_MAX_ZONES;
	if (setup->nzones > MOTION_MAX_ZONES)
		m->log(m->log_ctx, VIGIL_LOG_WARNING, "only the first %d zones are watched",
		       MOTION_MAX_ZONES);
	for (int z = 0; z < m->nzones; z++)
		m->zones[z] = setup->zones[z];
	m->cell_zones = calloc((size_t)ncell, sizeof(*m->cell_zones));
	m->cell_k = calloc((size_t)ncell, 1);
	if (!m->cell_zones || !m->cell_k)
		return -ENOMEM;
	memset(m->zone_cells, 0, sizeof(m->zone_cells));
	for (int cy = 0; cy < m->ch; cy++) {
		for (int cx = 0; cx < m->cw; cx++) {
			float x = ((float)cx + 0.5f) * MOTION_CELL / (float)m->width;
			float y = ((float)cy + 0.5f) * MOTION_CELL / (float)m->height;
			int c = cy * m->cw + cx, masked = 0;
			double sens = -1;

			for (int k = 0; k < setup->nmasks; k++)
				masked |= motion_inside(&setup->masks[k], x, y);
			if (masked)
				continue;
			if (!m->nzones) {
				m->cell_zones[c] = 1;
				m->zone_cells[0] += 1;
				m->cell_k[c] = motion_k(m->sensitivity);
				continue;
			}
			for (int z = 0; z < m->nzones; z++) {
				if (!motion_inside(&m->zones[z], x, y))
					continue;
				m->cell_zones[c] |= (uint16_t)(1u << z);
				m->zone_cells[z] += 1;
				if (m->zones[z].sensitivity > sens)
					sens = m->zones[z].sensitivity;
			}
			if (sens >= 0)
				m->cell_k[c] = motion_k(sens);
		}
	}
	/* The same per pixel of a cell row, in 16 bits, so that the
	 * per-pixel loop reads it directly and stays vectorised. */
	m->krow = calloc((size_t)m->width * (size_t)m->ch, sizeof(*m->krow));
	if (!m->krow)
		return -ENOMEM;
	for (int cy = 0; cy < m->ch; cy++)
		for (int x = 0; x < m->cw * MOTION_CELL; x++)
			m->krow[cy * m->width + x] = m->cell_k[cy * m->cw + x / MOTION_CELL];
	return 0;
}

/* Small-noise removal: a foreground cell with no foreground neighbour
 * (8-neighbourhood) is dropped. */
void motion_regions_clean(struct motion_state *m)
{
	const int cw = m->cw, ch = m->ch;

	for (int cy = 0; cy < ch; cy++) {
		for (int cx = 0; cx < cw; cx++) {
			int c = cy * cw + cx, n = 0;

			m->clean[c] = 0;
			if (!m->cells[c])
				continue;
			for (int dy = -1; dy <= 1 && !n; dy++)
				for (int dx = -1; dx <= 1; dx++) {
					int x = cx + dx, y = cy + dy;
					if ((dx || dy) && x >= 0 && y >= 0 && x < cw && y < ch &&
					    m->cells[y * cw + x]) {
						n = 1;
						break;
					}
				}
			m->clean[c] = (uint8_t)n;
		}
	}
}

/* Join foreground cells into objects. Cells up to two apart join (a
 * closing on the cell grid), so a person whose legs and shirt differ
 * from the background by different amounts stays one object. Each cell
 * is labelled with its object's index + 1 (objects past the array's
 * end share the label one past it). */
void motion_regions_objects(struct motion_state *m)
{
	const int cw = m->cw, ch = m->ch, ncell = cw * ch;
	const int maxobj = (int)(sizeof(m->objects) / sizeof(m->objects[0]));

	m->nobjects = 0;
	memset(m->label, 0, (size_t)ncell * sizeof(*m->label));
	for (int i = 0; i < ncell; i++) {
		struct motion_object o = { cw, ch, -1, -1, 0 };
		const uint16_t id = (uint16_t)(m->nobjects + 1);
		int sp = 0;

		if (!m->clean[i] || m->label[i])
			continue;
		m->label[i] = id;
		m->stack[sp++] = i;
		while (sp > 0) {
			int c = m->stack[--sp], cx = c % cw, cy = c / cw;
			o.cells++;
			if (cx < o.x0) o.x0 = cx;
			if (cx > o.x1) o.x1 = cx;
			if (cy < o.y0) o.y0 = cy;
			if (cy > o.y1) o.y1 = cy;
			for (int dy = -2; dy <= 2; dy++) {
				for (int dx = -2; dx <= 2; dx++) {
					int nx = cx + dx, ny = cy + dy, nc;
					if (nx < 0 || ny < 0 || nx >= cw || ny >= ch)
						continue;
					nc = ny * cw + nx;
					if (m->clean[nc] && !m->label[nc]) {
						m->label[nc] = id;
						m->stack[sp++] = nc;
					}
				}
			}
		}
		if (m->nobjects < maxobj)
			m->objects[m->nobjects++] = o;
	}
}

/* Zones an object touches: the union of its foreground cells' zones. */
static unsigned motion_object_zones(const struct motion_state *m,
				    const struct motion_object *o)
{
	unsigned zones = 0;

	for (int y = o->y0; y <= o->y1; y++)
		for (int x = o->x0; x <= o->x1; x++)
			if (m->clean[y * m->cw + x])
				zones |= m->cell_zones[y * m->cw + x];
	return zones;
}

/* An object's cell bounds as a normalised box. */
static struct vigil_box motion_box_of(const struct motion_state *m,
				      const struct motion_object *o)
{
	struct vigil_box b = {
		.x = (float)(o->x0 * MOTION_CELL) / (float)m->width,
		.y = (float)(o->y0 * MOTION_CELL) / (float)m->height,
		.w = (float)((o->x1 - o->x0 + 1) * MOTION_CELL) / (float)m->width,
		.h = (float)((o->y1 - o->y0 + 1) * MOTION_CELL) / (float)m->height,
	};
	return b;
}

/* One observation per zone holding an object at least min_size percent
 * of the zone (by box area); boxes largest first. */
void motion_regions_observe(struct motion_state *m, float score,
			    struct vigil_observations *out)
{
	int nz = m->nzones ? m->nzones : 1;
	unsigned zmask[64];

	for (int i = 0; i < m->nobjects; i++)
		zmask[i] = motion_object_zones(m, &m->objects[i]);
	for (int z = 0; z < nz && out->count < VIGIL_MAX_OBS; z++) {
		struct vigil_observation *ob = &out->obs[out->count];
		double min_size = m->nzones ? m->zones[z].min_size : m->min_size;
		float zc = m->zone_cells[z], best = 0;

		memset(ob, 0, sizeof(*ob));
		if (zc <= 0)
			continue;
		for (int i = 0; i < m->nobjects; i++) {
			const struct motion_object *o = &m->objects[i];
			float area = (float)((o->x1 - o->x0 + 1) * (o->y1 - o->y0 + 1));
			int pos;

			if (!(zmask[i] & (1u << z)) || area * 100.0f < (float)min_size * zc)
				continue;
			struct vigil_box b = motion_box_of(m, o);
			pos = ob->nboxes < VIGIL_MAX_BOXES ? ob->nboxes : VIGIL_MAX_BOXES - 1;
			if (ob->nboxes == VIGIL_MAX_BOXES &&
			    ob->boxes[pos].w * ob->boxes[pos].h >= b.w * b.h)
				continue;
			while (pos > 0 && ob->boxes[pos - 1].w * ob->boxes[pos - 1].h < b.w * b.h) {
				ob->boxes[pos] = ob->boxes[pos - 1];
				pos--;
			}
			ob->boxes[pos] = b;
			if (ob->nboxes < VIGIL_MAX_BOXES)
				ob->nboxes++;
			if (area / zc > best)
				best = area / zc;
		}
		if (!ob->nboxes)
			continue;
		ob->type = "motion";
		ob->zone = m->nzones ? z : -1;
		ob->score = best > score ? (best > 1 ? 1 : best) : score;
		out->count++;
	}
}
