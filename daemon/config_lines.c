/* Camera key lines: tripwires counted and alerted on by direction.
 *
 *   lines = ( { name = "gate"; points = [x1, y1, x2, y2];
 *               direction = "a-b"; } );
 *
 * Points are normalised 0..1 like zone polygons. Side a is on the left
 * of the segment going from (x1, y1) to (x2, y2) as seen on the picture;
 * direction says which crossings alert ("a-b", "b-a" or "both", the
 * default); both directions are always counted. The name is a topic
 * token: counts go out on count.<district>.<grid>.<camera>.<name>. */
#include "config_detect.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

#define LINE_MIN_LENGTH 0.02      /* shorter than this it is a point */

static int cfg_line_direction(const char *s)
{
	if (strcmp(s, "a-b") == 0)
		return LINE_A_B;
	if (strcmp(s, "b-a") == 0)
		return LINE_B_A;
	if (strcmp(s, "both") == 0)
		return LINE_BOTH;
	return 0;
}

/* points = [x1, y1, x2, y2]: four numbers 0..1, the two ends apart. */
static void cfg_line_points(struct cfg_ctx *ctx, const config_setting_t *s,
			    struct vigil_line_conf *lc, const char *where)
{
	int n = config_setting_length(s);

	if ((config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	     config_setting_type(s) != CONFIG_TYPE_LIST) || n != 4) {
		cfg_error(ctx, s, "%spoints must be [x1, y1, x2, y2]: the two ends of the line",
			  where);
		return;
	}
	for (int i = 0; i < 4; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		int t = config_setting_type(e);
		double v = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(e)
			   : t == CONFIG_TYPE_INT ? config_setting_get_int(e) : -1;

		if ((t != CONFIG_TYPE_FLOAT && t != CONFIG_TYPE_INT) || !(v >= 0 && v <= 1)) {
			cfg_error(ctx, s, "%spoints coordinate %d must be a number from 0 to 1 "
				  "(a fraction of the picture)", where, i + 1);
			return;
		}
		lc->points[i] = (float)v;
	}
	if (hypot(lc->points[2] - lc->points[0], lc->points[3] - lc->points[1]) <
	    LINE_MIN_LENGTH)
		cfg_error(ctx, s, "%spoints are the same place: a line needs two ends at "
			  "least %g of the picture apart", where, LINE_MIN_LENGTH);
}

static void cfg_tripwire(struct cfg_ctx *ctx, const config_setting_t *s,
			 struct vigil_line_conf *lc, const char *where0)
{
	const char *name = NULL;
	char where[256];

	lc->line = cfg_line(s);
	lc->direction = LINE_BOTH;
	config_setting_lookup_string(s, "name", &name);
	snprintf(where, sizeof(where), "%sline '%s': ", where0, name ? name : "?");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *key = config_setting_name(m);
		const char *str = config_setting_get_string(m);

		if (strcmp(key, "points") == 0) {
			cfg_line_points(ctx, m, lc, where);
		} else if (strcmp(key, "name") == 0 && str) {
			if (!topic_token_ok(str))
				cfg_error(ctx, m, "%sname must be 1 to %d letters, digits, '_' or '-' "
					  "(it is part of the count topic)", where, TOPIC_TOKEN_MAX);
			free(lc->name);
			lc->name = strdup(str);
		} else if (strcmp(key, "direction") == 0 && str) {
			lc->direction = cfg_line_direction(str);
			if (!lc->direction)
				cfg_error(ctx, m, "%sdirection must be \"a-b\", \"b-a\" or \"both\", "
					  "not '%s'", where, str);
		} else if (strcmp(key, "name") == 0 || strcmp(key, "direction") == 0) {
			cfg_error(ctx, m, "%s%s must be a string", where, key);
		} else {
			cfg_error(ctx, m, "%sunknown key '%s' (a line has: name, points, direction)",
				  where, key);
		}
	}
	if (!config_setting_get_member(s, "points"))
		cfg_error(ctx, s, "%smissing points", where);
	if (!lc->name)
		cfg_error(ctx, s, "%smissing name", where);
}

void cfg_lines(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
	       const char *where)
{
	struct vigil_camera *cam = base;
	int n = config_setting_length(s);

	cam->lines = calloc((size_t)n + 1, sizeof(*cam->lines));
	if (!cam->lines)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct vigil_line_conf *lc = &cam->lines[cam->nlines];

		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			cfg_error(ctx, e, "%slines: element %d must be a group { ... }", where,
				  i + 1);
			continue;
		}
		cam->nlines++;
		cfg_tripwire(ctx, e, lc, where);
		for (int j = 0; lc->name && j + 1 < cam->nlines; j++)
			if (cam->lines[j].name && strcmp(cam->lines[j].name, lc->name) == 0)
				cfg_error(ctx, e, "%sduplicate line name '%s' (first at line %d)",
					  where, lc->name, cam->lines[j].line);
	}
}

int cfg_lines_dup(struct vigil_camera *d, const struct vigil_camera *c)
{
	d->lines = NULL;
	d->nlines = 0;
	if (c->nlines <= 0)
		return 0;
	d->lines = calloc((size_t)c->nlines, sizeof(*d->lines));
	if (!d->lines)
		return -1;
	for (int i = 0; i < c->nlines; i++) {
		d->lines[i] = c->lines[i];
		d->lines[i].name = c->lines[i].name ? strdup(c->lines[i].name) : NULL;
		d->nlines++;
		if (c->lines[i].name && !d->lines[i].name)
			return -1;
	}
	return 0;
}

int cfg_lines_equal(const struct vigil_camera *a, const struct vigil_camera *b)
{
	if (a->nlines != b->nlines)
		return 0;
	for (int i = 0; i < a->nlines; i++) {
		const struct vigil_line_conf *x = &a->lines[i], *y = &b->lines[i];
		if ((x->name || y->name) && (!x->name || !y->name || strcmp(x->name, y->name)))
			return 0;
		if (memcmp(x->points, y->points, sizeof(x->points)) || x->direction != y->direction)
			return 0;
	}
	return 1;
}

void cfg_lines_free(struct vigil_camera *cam)
{
	for (int i = 0; cam->lines && i < cam->nlines; i++)
		free(cam->lines[i].name);
	free(cam->lines);
	cam->lines = NULL;
	cam->nlines = 0;
}

/* activity = { learn_days = 14; tail = 4; consecutive = 2; clock = "wall"; }:
 * whole numbers in range, clock "wall" or "stream". */
void cfg_activity(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
		  const char *where)
{
	static const struct {
		const char *key;
		size_t off;
		int min, max, def;
	} keys[] = {
		{ "learn_days", offsetof(struct vigil_activity_conf, learn_days), 1, 365, 14 },
		{ "tail", offsetof(struct vigil_activity_conf, tail), 1, 12, 4 },
		{ "consecutive", offsetof(struct vigil_activity_conf, consecutive), 1, 96, 2 },
	};
	struct vigil_activity_conf *a = &((struct vigil_camera *)base)->activity;

	a->enabled = 1;
	a->line = cfg_line(s);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		*(int *)((char *)a + keys[k].off) = keys[k].def;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *key = config_setting_name(m);
		size_t k;

		if (strcmp(key, "clock") == 0) {
			const char *v = config_setting_get_string(m);
			if (!v || (strcmp(v, "wall") && strcmp(v, "stream")))
				cfg_error(ctx, m, "%sactivity.clock must be \"wall\" or \"stream\"",
					  where);
			else
				a->stream_clock = strcmp(v, "stream") == 0;
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(key, keys[k].key) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			cfg_error(ctx, m, "%sactivity: unknown key '%s' (known: learn_days, tail, "
				  "consecutive, clock)", where, key);
			continue;
		}
		if (config_setting_type(m) != CONFIG_TYPE_INT ||
		    config_setting_get_int(m) < keys[k].min ||
		    config_setting_get_int(m) > keys[k].max) {
			cfg_error(ctx, m, "%sactivity.%s must be a whole number from %d to %d", where,
				  key, keys[k].min, keys[k].max);
			continue;
		}
		*(int *)((char *)a + keys[k].off) = config_setting_get_int(m);
	}
}
