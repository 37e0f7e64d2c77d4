/* Local lighting changes of the motion plugin (headlights sweeping the
 * road, a lamp, a shadow); see motion.h.
 *
 * Light falling on a surface multiplies what the surface reflects: a lit
 * patch shows the background's own texture, brighter (or darker where
 * light is taken away), and the light varies smoothly across the patch.
 * An object in front of the background hides that texture behind its own
 * or behind none. So each object's foreground pixels are compared with
 * the background under them: within every 4x4 cell the cell's mean is
 * removed (that removes the light's smooth shape, nearly constant over 4
 * pixels), and the rest of the frame is fitted, over the whole object,
 * as a gain times the rest of the background. The object is light, and
 * is dropped, when
 *  - the background has texture there at all (else nothing can be told,
 *    and the object is kept),
 *  - the fit is good: normalised cross-correlation of at least
 *    LIGHT_NCC, and
 *  - the fit leaves little unexplained: what remains is of the order of
 *    the noise. An object that stopped is slowly learnt into the
 *    background, which correlates the two; a textured one keeps its own
 *    texture left over, and a flat one does not correlate at all. Only
 *    a faintly textured object mostly learnt already (some 15 s after it
 *    stopped; it would fade out later anyway) passes for light.
 *
 * The model is left as for any object (learnt slowly there, deviation
 * untouched): a sweeping light is gone before it would be learnt, and
 * learning it would make the background wrong once it has passed.
 *
 * Cost: one pass over the foreground pixels of each object's cells. */
#include "motion.h"

#define LIGHT_NCC 0.5            /* least correlation of frame and background */
#define LIGHT_RESIDUAL 16.0      /* most variance left over, x the noise's */
#define LIGHT_TEXTURE 0.5        /* least background texture, x the noise's */

/* Sums over an object's cells of the products of frame (F) and
 * background (B) pixels less their cell's means. */
struct motion_light_sums {
	double fb, ff, bb;
	int pixels;
};

/* Add the foreground pixels of the cell at (cx, cy) to s. */
static void motion_light_cell(const struct motion_state *m, const struct vigil_frame *f,
			      int cx, int cy, struct motion_light_sums *s)
{
	int n = 0, sf = 0, sb = 0, sff = 0, sbb = 0, sfb = 0;

	for (int y = cy * MOTION_CELL; y < (cy + 1) * MOTION_CELL; y++) {
		size_t at = (size_t)y * (size_t)m->width + (size_t)(cx * MOTION_CELL);
		const uint8_t *row = f->data + (size_t)y * (size_t)f->stride + cx * MOTION_CELL;
		const uint16_t *bg = m->bg + at;
		const uint8_t *fg = m->fg + at;

		/* Background pixels of the cell (fg 0) count for nothing. */
		for (int x = 0; x < MOTION_CELL; x++) {
			int k = fg[x], fv = row[x] * k, bv = ((bg[x] + 128) >> 8) * k;
			n += k;
			sf += fv;
			sb += bv;
			sff += fv * fv;
			sbb += bv * bv;
			sfb += fv * bv;
		}
	}
	if (n < 2)
		return;
	/* sum (F - mean F)(B - mean B) = (n sum FB - sum F sum B) / n */
	s->fb += (double)(n * sfb - sf * sb) / n;
	s->ff += (double)(n * sff - sf * sf) / n;
	s->bb += (double)(n * sbb - sb * sb) / n;
	s->pixels += n;
}

/* Is object i the background under different light? noise2 is the
 * picture's noise variance. Only the object's own cells count, not those
 * of another object inside its box. */
static int motion_light_is(const struct motion_state *m, const struct vigil_frame *f,
			   int i, double noise2)
{
	const struct motion_object *o = &m->objects[i];
	struct motion_light_sums s = { 0, 0, 0, 0 };
	double residual;

	for (int cy = o->y0; cy <= o->y1; cy++)
		for (int cx = o->x0; cx <= o->x1; cx++)
			if (m->label[cy * m->cw + cx] == i + 1)
				motion_light_cell(m, f, cx, cy, &s);
	if (s.pixels == 0 || s.bb < LIGHT_TEXTURE * noise2 * s.pixels || s.fb <= 0)
		return 0;
	/* Left over after the best gain: ff - fb^2 / bb; and the correlation
	 * fb / sqrt(ff bb) compared squared (fb > 0). */
	residual = s.ff - s.fb * s.fb / s.bb;
	return s.fb * s.fb >= LIGHT_NCC * LIGHT_NCC * s.ff * s.bb &&
	       residual <= LIGHT_RESIDUAL * noise2 * s.pixels;
}

void motion_light_drop(struct motion_state *m, const struct vigil_frame *f, int sigma8)
{
	/* sigma8 is 8 x the noise. At least one luma level: on a picture
	 * whose noise the encoder smoothed away, the rounding and the light's
	 * own shape inside a cell would otherwise count as texture. */
	double sigma = sigma8 > 8 ? sigma8 / 8.0 : 1.0;
	int kept = 0;

	/* Objects kept move down; object i is judged before anything is
	 * written over it, under its own label. */
	for (int i = 0; i < m->nobjects; i++)
		if (!motion_light_is(m, f, i, sigma * sigma))
			m->objects[kept++] = m->objects[i];
	m->nobjects = kept;
}
