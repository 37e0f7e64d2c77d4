/* Detector plugin instances (one plugin running for one camera) and the
 * log function plugins are given; see plugin.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin_int.h"

/* Who a plugin's log line is about. */
struct vigil_log_ctx {
	char *camera;              /* NULL: no camera (load) */
	char plugin[];
};

struct vigil_log_ctx *plugin_log_ctx_new(const char *camera, const char *plugin)
{
	size_t np = strlen(plugin) + 1, nc = camera ? strlen(camera) + 1 : 0;
	struct vigil_log_ctx *c = malloc(sizeof(*c) + np + nc);

	if (!c)
		return NULL;
	memcpy(c->plugin, plugin, np);
	c->camera = camera ? memcpy(c->plugin + np, camera, nc) : NULL;
	return c;
}

void plugin_log(const struct vigil_log_ctx *ctx, enum vigil_log_level level,
		const char *fmt, ...)
{
	static const int prio[] = {
		[VIGIL_LOG_ERROR] = LOG_ERR, [VIGIL_LOG_WARNING] = LOG_WARNING,
		[VIGIL_LOG_INFO] = LOG_INFO, [VIGIL_LOG_DEBUG] = LOG_DEBUG,
	};
	int lv = (int)level < 0 ? VIGIL_LOG_ERROR
		 : (int)level > VIGIL_LOG_DEBUG ? VIGIL_LOG_DEBUG : (int)level;
	char msg[900];
	va_list ap;

	if (prio[lv] > log_get_level() || !ctx)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vlog(prio[lv], ctx->camera, "%s: %s", ctx->plugin, msg);
}

/* Store a value at its option's offset in the state. */
static void plugin_store(void *state, const struct vigil_option *o, double v,
			 const char *str)
{
	char *at = (char *)state + o->offset;

	switch (o->type) {
	case VIGIL_OPT_DOUBLE:
		*(double *)at = v;
		break;
	case VIGIL_OPT_STRING:
		*(const char **)at = str;
		break;
	default:
		*(int *)at = (int)v;
	}
}

/* Each option's default. */
static void plugin_store_defaults(void *state, const struct vigil_plugin *p)
{
	for (const struct vigil_option *o = p->options; o && o->name; o++) {
		double v = o->def;
		if (o->type == VIGIL_OPT_ENUM) {
			v = 0;
			for (int i = 0; o->def_str && o->values[i]; i++)
				if (strcmp(o->values[i], o->def_str) == 0)
					v = i;
		}
		plugin_store(state, o, v, o->def_str);
	}
}

/* The camera's options. They were checked when the configuration was
 * read; checked again here for a caller that did not read one. */
static int plugin_store_options(struct plugin_instance *pi, const struct vigil_detector *d,
				char *err, size_t errlen)
{
	for (int i = 0; i < d->nopts; i++) {
		const struct vigil_detector_option *op = &d->opts[i];
		const struct vigil_option *o = plugin_find_option(pi->p, op->key);
		const char *str = NULL;
		char why[300];
		double v;

		if (!o) {
			snprintf(err, errlen, "detector '%s': unknown option '%s'", d->name, op->key);
			return -EINVAL;
		}
		if (plugin_option_value(o, op, &v, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "detector '%s': option '%s' %s", d->name, op->key, why);
			return -EINVAL;
		}
		if (o->type == VIGIL_OPT_STRING) {
			char **s = realloc(pi->strings, (size_t)(pi->nstrings + 1) * sizeof(*s));
			if (!s)
				return -ENOMEM;
			pi->strings = s;
			str = s[pi->nstrings] = strdup(op->str);
			if (!str)
				return -ENOMEM;
			pi->nstrings++;
		}
		plugin_store(pi->state, o, v, str);
	}
	return 0;
}

int plugin_instance_init(struct plugin_instance *pi, const char *dir,
			 const struct vigil_detector *d,
			 const struct vigil_setup *setup, char *err, size_t errlen)
{
	struct plugin_lib *lib;
	struct vigil_setup s = *setup;
	int r;

	memset(pi, 0, sizeof(*pi));
	lib = plugin_lib_get(dir, d->name, err, errlen);
	if (!lib)
		return -ENOENT;
	r = plugin_lib_start(lib, err, errlen);
	if (r < 0)
		return r;
	pi->p = lib->p;
	pi->state = calloc(1, pi->p->state_size ? pi->p->state_size : 1);
	pi->log_ctx = plugin_log_ctx_new(setup->camera, pi->p->name);
	if (!pi->state || !pi->log_ctx) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	plugin_store_defaults(pi->state, pi->p);
	r = plugin_store_options(pi, d, err, errlen);
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		return r;
	}
	s.struct_size = sizeof(s);
	s.log_ctx = pi->log_ctx;
	s.log = plugin_log;
	s.shared = lib->shared;
	pi->init_called = 1;
	r = pi->p->init(pi->state, &s);
	if (r < 0) {
		snprintf(err, errlen, "detector '%s' failed to start: %s", d->name,
			 strerror(-r));
		return r;
	}
	pi->ready = 1;
	return 0;
}

int plugin_instance_process(struct plugin_instance *pi, const struct vigil_frame *f,
			    struct vigil_observations *out)
{
	struct vigil_frame fr = *f;
	int r, n = 0;

	memset(out, 0, sizeof(*out));
	pi->refused = 0;
	if (!pi->ready)
		return -EINVAL;
	fr.struct_size = sizeof(fr);
	r = pi->p->process(pi->state, &fr, out);
	if (out->count < 0)
		out->count = 0;
	if (out->count > VIGIL_MAX_OBS)
		out->count = VIGIL_MAX_OBS;
	/* Only the types it declared: the event engine times events by
	 * their kind, and subscribers filter on them. */
	for (int k = 0; k < out->count; k++) {
		const char *type = out->obs[k].type;

		if (type && plugin_kind(pi->p, type)) {
			if (n != k)
				out->obs[n] = out->obs[k];
			n++;
			continue;
		}
		pi->refused++;
		snprintf(pi->refused_type, sizeof(pi->refused_type), "%s", type ? type : "(null)");
	}
	out->count = n;
	return r;
}

void plugin_instance_free(struct plugin_instance *pi)
{
	if (!pi)
		return;
	if (pi->init_called && pi->p->destroy)
		pi->p->destroy(pi->state);
	free(pi->state);
	for (int i = 0; i < pi->nstrings; i++)
		free(pi->strings[i]);
	free(pi->strings);
	free(pi->log_ctx);
	memset(pi, 0, sizeof(*pi));
}
