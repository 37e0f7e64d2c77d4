/* Camera keys about detection: zones, masks and detector options.
 *
 *   zones = ( { name = "yard"; polygon = [x1, y1, x2, y2, ...];
 *               schedule = "mon-fri 20:00-04:00"; severity = "high";
 *               sensitivity = 0.5; min_size = 0.5; dwell = 20; } );
 *   masks = ( { polygon = [ ... ]; } );
 *   detect = { motion = { option = value; ... }; tamper = { }; };
 *
 * Each problem is reported as FILE:LINE: message at the offending setting.
 * Detector options (numbers, true / false, strings) are checked against
 * the options table of the plugin itself, taken from the process's plugin
 * registry (plugin.h). */
#include "config_detect.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "topic.h"

#define ZONE_DEFAULT_SENSITIVITY 0.5
#define ZONE_DEFAULT_MIN_SIZE 0.5   /* percent of the zone */

/* Any numeric setting (int, int64, float, bool) as a double, integers
 * as written; -1 if none. */
static int cfg_number(const struct cfg_ctx *ctx, const config_setting_t *s, double *v)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		*v = (double)cfg_int_value(ctx, s);
		return 0;
	case CONFIG_TYPE_FLOAT:
		*v = config_setting_get_float(s);
		return 0;
	case CONFIG_TYPE_BOOL:
		*v = config_setting_get_bool(s);
		return 0;
	}
	return -1;
}

/* Twice the signed area of a polygon (shoelace formula). */
static double cfg_polygon_area2(const float *p, int n)
{
	double a = 0;

	for (int i = 0; i < n; i++) {
		int j = (i + 1) % n;
		a += (double)p[2 * i] * p[2 * j + 1] - (double)p[2 * j] * p[2 * i + 1];
	}
	return a;
}

/* A polygon: 3..VIGIL_MAX_POINTS x, y pairs within 0..1, with an area. */
static void cfg_polygon(struct cfg_ctx *ctx, const config_setting_t *s,
			struct vigil_zone *z, const char *where)
{
	int t = config_setting_type(s), n = config_setting_length(s);

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		cfg_error(ctx, s, "%spolygon must be a list of numbers [x1, y1, x2, y2, ...]",
			  where);
		return;
	}
	if (n % 2 || n < 6 || n > 2 * VIGIL_MAX_POINTS) {
		cfg_error(ctx, s, "%spolygon needs 3 to %d x, y pairs, not %d numbers",
			  where, VIGIL_MAX_POINTS, n);
		return;
	}
	for (int i = 0; i < n; i++) {
		double v;
		if (cfg_number(ctx, config_setting_get_elem(s, (unsigned)i), &v) < 0 ||
		    v < 0 || v > 1) {
			cfg_error(ctx, s, "%spolygon coordinate %d must be a number from 0 to 1 "
				  "(normalised, from the top left)", where, i + 1);
			return;
		}
		z->points[i] = (float)v;
	}
	if (cfg_polygon_area2(z->points, n / 2) == 0) {
		cfg_error(ctx, s, "%spolygon has no area", where);
		return;
	}
	z->npoints = n / 2;
}

/* One element of zones (is_mask 0) or masks (is_mask 1). */
static void cfg_zone(struct cfg_ctx *ctx, const config_setting_t *s,
		     struct vigil_zone_conf *zc, int is_mask, const char *where0)
{
	const int count = config_setting_length(s);
	const char *name = NULL;
	char where[256];

	zc->line = cfg_line(s);
	zc->z.sensitivity = ZONE_DEFAULT_SENSITIVITY;
	zc->z.min_size = ZONE_DEFAULT_MIN_SIZE;
	config_setting_lookup_string(s, "name", &name);
	snprintf(where, sizeof(where), "%s%s '%s': ", where0, is_mask ? "mask" : "zone",
		 name ? name : "?");
	for (int i = 0; i < count; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *key = config_setting_name(m);
		const char *str = config_setting_get_string(m);
		double v;

		if (strcmp(key, "polygon") == 0) {
			cfg_polygon(ctx, m, &zc->z, where);
		} else if (strcmp(key, "name") == 0 && str) {
			/* Part of event ids, hence of clip file names. */
			if (!topic_token_ok(str))
				cfg_error(ctx, m, "%sname must be 1 to %d letters, digits, '_' or '-'",
					  where, VIGIL_TOKEN_MAX);
			free(zc->name);
			zc->name = strdup(str);
		} else if (!is_mask && strcmp(key, "schedule") == 0 && str) {
			char err[200];
			if (schedule_parse(str, &zc->schedule, err, sizeof(err)) < 0)
				cfg_error(ctx, m, "%sschedule %s", where, err);
		} else if (!is_mask && strcmp(key, "severity") == 0 && str) {
			if (config_severity_rank(str) < 0)
				cfg_error(ctx, m, "%sseverity must be one of low, medium, high, "
					  "critical, not '%s'", where, str);
			else
				zc->severity = strdup(str);
		} else if (!is_mask && strcmp(key, "sensitivity") == 0) {
			if (cfg_number(ctx, m, &v) < 0 || v < 0 || v > 1)
				cfg_error(ctx, m, "%ssensitivity must be a number from 0 to 1", where);
			else
				zc->z.sensitivity = v;
		} else if (!is_mask && strcmp(key, "min_size") == 0) {
			if (cfg_number(ctx, m, &v) < 0 || v < 0 || v > 100)
				cfg_error(ctx, m, "%smin_size must be a percentage of the zone, 0 to 100",
					  where);
			else
				zc->z.min_size = v;
		} else if (!is_mask && strcmp(key, "dwell") == 0) {
			if (cfg_number(ctx, m, &v) < 0 || config_setting_type(m) == CONFIG_TYPE_BOOL ||
			    v < 1 || v > 86400)
				cfg_error(ctx, m, "%sdwell must be a number of seconds from 1 to "
					  "86400 (how long one object may stay before 'loitering')",
					  where);
			else
				zc->dwell = v;
			zc->dwell_line = cfg_line(m);
		} else if (strcmp(key, "name") == 0 || strcmp(key, "schedule") == 0 ||
			   strcmp(key, "severity") == 0) {
			cfg_error(ctx, m, "%s%s must be a string", where, key);
		} else {
			cfg_error(ctx, m, "%sunknown key '%s' (%s)", where, key,
				  is_mask ? "a mask has: name, polygon"
					  : "a zone has: name, polygon, schedule, severity, "
					    "sensitivity, min_size, dwell");
		}
	}
	if (!config_setting_get_member(s, "polygon"))
		cfg_error(ctx, s, "%smissing polygon", where);
	if (!is_mask && !zc->name)
		cfg_error(ctx, s, "%smissing name", where);
	zc->z.name = zc->name;
}

/* The zones or masks list of a camera; zone names must be unique. */
static void cfg_zone_list(struct cfg_ctx *ctx, const config_setting_t *s,
			  struct vigil_zone_conf **out, int *nout, int is_mask,
			  const char *where)
{
	int n = config_setting_length(s);

	*out = calloc((size_t)n + 1, sizeof(**out));
	if (!*out)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct vigil_zone_conf *zc = &(*out)[*nout];

		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			cfg_error(ctx, e, "%s%s: element %d must be a group { ... }", where,
				  is_mask ? "masks" : "zones", i + 1);
			continue;
		}
		(*nout)++;
		cfg_zone(ctx, e, zc, is_mask, where);
		for (int j = 0; !is_mask && zc->name && j + 1 < *nout; j++)
			if ((*out)[j].name && strcmp((*out)[j].name, zc->name) == 0)
				cfg_error(ctx, e, "%sduplicate zone name '%s' (first at line %d)",
					  where, zc->name, (*out)[j].line);
	}
}

void cfg_zones(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
	       const char *where)
{
	struct vigil_camera *cam = base;

	cfg_zone_list(ctx, s, &cam->zones, &cam->nzones, 0, where);
}

void cfg_masks(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
	       const char *where)
{
	struct vigil_camera *cam = base;

	cfg_zone_list(ctx, s, &cam->masks, &cam->nmasks, 1, where);
}

void cfg_detect(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
		const char *where)
{
	struct vigil_camera *cam = base;
	int n = config_setting_length(s);

	cam->detectors = calloc((size_t)n + 1, sizeof(*cam->detectors));
	if (!cam->detectors)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		struct vigil_detector *d = &cam->detectors[cam->ndetectors];
		int nopt = config_setting_length(g);

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			cfg_error(ctx, g, "%sdetect.%s must be a group of options { ... }",
				  where, config_setting_name(g));
			continue;
		}
		cam->ndetectors++;
		d->name = strdup(config_setting_name(g));
		d->line = cfg_line(g);
		d->opts = calloc((size_t)nopt + 1, sizeof(*d->opts));
		for (int j = 0; d->opts && j < nopt; j++) {
			const config_setting_t *o = config_setting_get_elem(g, (unsigned)j);
			struct vigil_detector_option *op = &d->opts[d->nopts];
			int t = config_setting_type(o);

			if (t == CONFIG_TYPE_STRING &&
			    !cfg_utf8_ok(config_setting_get_string(o))) {
				cfg_error(ctx, o, "%sdetect.%s.%s is not valid UTF-8", where,
					  d->name, config_setting_name(o));
				continue;
			} else if (t == CONFIG_TYPE_STRING) {
				op->kind = DETECT_STRING;
				op->str = strdup(config_setting_get_string(o));
				if (!op->str)
					continue;
			} else if (t == CONFIG_TYPE_BOOL) {
				op->kind = DETECT_BOOL;
				op->value = config_setting_get_bool(o);
			} else if (cfg_number(ctx, o, &op->value) == 0) {
				op->kind = DETECT_NUMBER;
			} else {
				cfg_error(ctx, o, "%sdetect.%s.%s must be a number, true, false or "
					  "a string", where, d->name, config_setting_name(o));
				continue;
			}
			op->key = strdup(config_setting_name(o));
			op->line = cfg_line(o);
			d->nopts++;
		}
	}
}

/* Check one camera's detector against the plugin's own option table
 * (the plugin comes from the process's registry: opened once, whatever
 * the number of cameras). */
static void cfg_check_detector(struct cfg_ctx *ctx, const char *file,
			       const struct vigil_camera *cam,
			       const struct vigil_detector *d)
{
	const struct vigil_plugin *p;
	char err[PATH_MAX + 400];

	p = plugin_get(ctx->cfg->plugin_dir, d->name, err, sizeof(err));
	if (!p) {
		cfg_error_at(ctx, file, d->line ? d->line : cam->line, "camera '%s': %s",
			     cam->id, err);
		return;
	}
	for (int i = 0; i < d->nopts; i++) {
		const struct vigil_detector_option *op = &d->opts[i];
		const struct vigil_option *o = plugin_find_option(p, op->key);
		double v;

		if (!o) {
			plugin_option_names(p, err, sizeof(err));
			cfg_error_at(ctx, file, op->line,
				     "camera '%s': detect.%s: unknown option '%s' (known: %s)",
				     cam->id, d->name, op->key, err);
		} else if (plugin_option_value(o, op, &v, err, sizeof(err)) < 0) {
			cfg_error_at(ctx, file, op->line, "camera '%s': detect.%s.%s %s",
				     cam->id, d->name, op->key, err);
		}
	}
}

/* Tripwires, loitering and the activity baseline follow the tracks the
 * host makes of the motion detector's boxes: without that detector they
 * would never fire. Refused, each where it is set, rather than loading
 * motion behind the user's back (its own alerts would come with it). */
static void cfg_check_tracks(struct cfg_ctx *ctx, const char *file,
			     const struct vigil_camera *cam)
{
	static const char why[] = "needs the motion detector (tracks are made from its "
				  "boxes), which detect leaves out: add motion = { }; to detect";

	for (int k = 0; k < cam->ndetectors; k++)
		if (cam->detectors[k].name && strcmp(cam->detectors[k].name, "motion") == 0)
			return;
	for (int i = 0; i < cam->nlines; i++)
		cfg_error_at(ctx, file, cam->lines[i].line ? cam->lines[i].line : cam->line,
			     "camera '%s': line '%s' %s", cam->id, cam->lines[i].name, why);
	for (int z = 0; z < cam->nzones; z++)
		if (cam->zones[z].dwell > 0)
			cfg_error_at(ctx, file, cam->zones[z].dwell_line ? cam->zones[z].dwell_line
					       : cam->line,
				     "camera '%s': zone '%s': dwell %s", cam->id,
				     cam->zones[z].name, why);
	if (cam->activity.enabled)
		cfg_error_at(ctx, file, cam->activity.line ? cam->activity.line : cam->line,
			     "camera '%s': activity %s", cam->id, why);
}

void cfg_detect_finish(struct cfg_ctx *ctx, const config_t *lc)
{
	static const char *const defaults[] = { "motion", "tamper" };
	struct vigil_config *cfg = ctx->cfg;
	const char *file = config_setting_source_file(config_root_setting(lc));
	char dir[PATH_MAX];

	if (!cfg->plugin_dir)
		cfg->plugin_dir = strdup(plugin_default_dir(dir, sizeof(dir)));
	for (size_t i = 0; cfg->cameras && i < cfg->ncameras; i++) {
		struct vigil_camera *cam = &cfg->cameras[i];

		if (!cam->detectors) {
			cam->detectors = calloc(2, sizeof(*cam->detectors));
			for (int k = 0; cam->detectors && k < 2; k++) {
				cam->detectors[k].name = strdup(defaults[k]);
				cam->ndetectors++;
			}
		}
		if (!cam->id)
			continue;
		for (int k = 0; k < cam->ndetectors; k++)
			cfg_check_detector(ctx, file ? file : ctx->path, cam, &cam->detectors[k]);
		cfg_check_tracks(ctx, file ? file : ctx->path, cam);
	}
}

void cfg_camera_free_detect(struct vigil_camera *cam)
{
	for (int i = 0; cam->zones && i < cam->nzones; i++) {
		free(cam->zones[i].name);
		free(cam->zones[i].severity);
	}
	for (int i = 0; cam->masks && i < cam->nmasks; i++) {
		free(cam->masks[i].name);
		free(cam->masks[i].severity);
	}
	free(cam->zones);
	free(cam->masks);
	for (int i = 0; cam->detectors && i < cam->ndetectors; i++) {
		free(cam->detectors[i].name);
		for (int j = 0; j < cam->detectors[i].nopts; j++) {
			free(cam->detectors[i].opts[j].key);
			free(cam->detectors[i].opts[j].str);
		}
		free(cam->detectors[i].opts);
	}
	free(cam->detectors);
	cfg_lines_free(cam);
}

/* Deep copy of the zones (or masks) of a camera; names point into the
 * copy. Returns 0 or -1 when out of memory (what was copied is kept for
 * cfg_camera_free_detect). */
static int cfg_zones_dup(struct vigil_zone_conf **dst, int *ndst,
			 const struct vigil_zone_conf *src, int n)
{
	*dst = NULL;
	*ndst = 0;
	if (n <= 0)
		return 0;
	*dst = calloc((size_t)n, sizeof(**dst));
	if (!*dst)
		return -1;
	for (int i = 0; i < n; i++) {
		struct vigil_zone_conf *d = &(*dst)[i];
		*d = src[i];
		d->name = src[i].name ? strdup(src[i].name) : NULL;
		d->severity = src[i].severity ? strdup(src[i].severity) : NULL;
		d->z.name = d->name;
		(*ndst)++;
		if ((src[i].name && !d->name) || (src[i].severity && !d->severity))
			return -1;
	}
	return 0;
}

int cfg_camera_dup_detect(struct vigil_camera *d, const struct vigil_camera *c)
{
	if (cfg_zones_dup(&d->zones, &d->nzones, c->zones, c->nzones) < 0 ||
	    cfg_zones_dup(&d->masks, &d->nmasks, c->masks, c->nmasks) < 0 ||
	    cfg_lines_dup(d, c) < 0)
		return -1;
	d->count_interval = c->count_interval;
	d->activity = c->activity;
	d->detectors = NULL;
	d->ndetectors = 0;
	if (c->ndetectors <= 0)
		return 0;
	d->detectors = calloc((size_t)c->ndetectors, sizeof(*d->detectors));
	if (!d->detectors)
		return -1;
	for (int i = 0; i < c->ndetectors; i++) {
		const struct vigil_detector *s = &c->detectors[i];
		struct vigil_detector *t = &d->detectors[i];
		t->line = s->line;
		t->name = strdup(s->name);
		d->ndetectors++;
		if (!t->name)
			return -1;
		if (s->nopts > 0) {
			t->opts = calloc((size_t)s->nopts, sizeof(*t->opts));
			if (!t->opts)
				return -1;
		}
		for (int j = 0; j < s->nopts; j++) {
			t->opts[j] = s->opts[j];
			t->opts[j].key = strdup(s->opts[j].key);
			t->opts[j].str = s->opts[j].str ? strdup(s->opts[j].str) : NULL;
			t->nopts++;
			if (!t->opts[j].key || (s->opts[j].str && !t->opts[j].str))
				return -1;
		}
	}
	return 0;
}

static int cfg_zone_equal(const struct vigil_zone_conf *a, const struct vigil_zone_conf *b)
{
	return ((!a->name && !b->name) || (a->name && b->name && !strcmp(a->name, b->name))) &&
	       ((!a->severity && !b->severity) ||
		(a->severity && b->severity && !strcmp(a->severity, b->severity))) &&
	       a->z.npoints == b->z.npoints &&
	       !memcmp(a->z.points, b->z.points, sizeof(a->z.points[0]) * 2 * (size_t)a->z.npoints) &&
	       a->z.sensitivity == b->z.sensitivity && a->z.min_size == b->z.min_size &&
	       a->dwell == b->dwell &&
	       !memcmp(&a->schedule, &b->schedule, sizeof(a->schedule));
}

int cfg_camera_detect_equal(const struct vigil_camera *a, const struct vigil_camera *b)
{
	if (a->nzones != b->nzones || a->nmasks != b->nmasks || a->ndetectors != b->ndetectors ||
	    a->count_interval != b->count_interval || !cfg_lines_equal(a, b) ||
	    memcmp(&a->activity, &b->activity, sizeof(a->activity)))
		return 0;
	for (int i = 0; i < a->nzones; i++)
		if (!cfg_zone_equal(&a->zones[i], &b->zones[i]))
			return 0;
	for (int i = 0; i < a->nmasks; i++)
		if (!cfg_zone_equal(&a->masks[i], &b->masks[i]))
			return 0;
	for (int i = 0; i < a->ndetectors; i++) {
		const struct vigil_detector *x = &a->detectors[i], *y = &b->detectors[i];
		if (strcmp(x->name, y->name) || x->nopts != y->nopts)
			return 0;
		for (int j = 0; j < x->nopts; j++) {
			const struct vigil_detector_option *u = &x->opts[j], *v = &y->opts[j];
			if (strcmp(u->key, v->key) || u->kind != v->kind || u->value != v->value ||
			    (u->str && strcmp(u->str, v->str)))
				return 0;
		}
	}
	return 1;
}
