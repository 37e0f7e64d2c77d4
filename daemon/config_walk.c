/* The configuration loader's key-table walker and its error printer.
 *
 * A table row names a key, its type, where it is stored and its limits
 * (config_int.h); cfg_walk applies a table to a libconfig group, so that
 * unknown keys, wrong types, values out of range and missing required
 * keys are all reported the same way, as FILE:LINE: message. Every other
 * file of the loader reports through cfg_error_at. */
#include "config_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *cfg_type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_STR: return "a string";
	case CFG_INT: return "an integer";
	case CFG_BOOL: return "true or false";
	case CFG_INCLUDE: break;
	case CFG_GROUP: return "a group { ... }";
	case CFG_LIST: return "a list ( ... )";
	}
	return "?";
}

void cfg_error_at(struct cfg_ctx *ctx, const char *file, int line,
		  const char *fmt, ...)
{
	va_list ap;

	if (!file)
		file = ctx->path;
	if (line > 0)
		fprintf(ctx->err, "%s:%d: ", file, line);
	else
		fprintf(ctx->err, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->err);
	ctx->errors++;
}

static int cfg_type_matches(const config_setting_t *s, enum cfg_type t)
{
	int st = config_setting_type(s);

	switch (t) {
	case CFG_STR: return st == CONFIG_TYPE_STRING;
	case CFG_INT: return st == CONFIG_TYPE_INT || st == CONFIG_TYPE_INT64;
	case CFG_BOOL: return st == CONFIG_TYPE_BOOL;
	case CFG_INCLUDE: break;
	case CFG_GROUP: return st == CONFIG_TYPE_GROUP;
	case CFG_LIST: return st == CONFIG_TYPE_LIST;
	}
	return 0;
}

static const struct cfg_key *cfg_find_key(const struct cfg_key *keys,
					  const char *name)
{
	for (; keys->name; keys++) {
		if (keys->type == CFG_INCLUDE) {
			const struct cfg_key *k = cfg_find_key(keys->sub, name);
			if (k)
				return k;
		} else if (strcmp(keys->name, name) == 0) {
			return keys;
		}
	}
	return NULL;
}

/* Store one scalar setting into the struct at base. */
static void cfg_store(struct cfg_ctx *ctx, const config_setting_t *s,
		      const struct cfg_key *k, void *base, const char *where,
		      const char *name)
{
	if (k->type == CFG_STR) {
		char **field = (char **)((char *)base + k->offset);
		const char *v = config_setting_get_string(s);
		if (!cfg_utf8_ok(v)) {
			cfg_error(ctx, s, "%s%s is not valid UTF-8", where, name);
			return;
		}
		free(*field);
		*field = strdup(v);
	} else if (k->type == CFG_INT) {
		/* As written: libconfig wraps what does not fit an int. */
		long long v = cfg_int_value(ctx, s);
		if (v < k->min || v > k->max) {
			cfg_error(ctx, s, "%s%s must be between %ld and %ld, not %lld",
				  where, name, k->min, k->max, v);
			return;
		}
		*(int *)((char *)base + k->offset) = (int)v;
	} else if (k->type == CFG_BOOL) {
		*(int *)((char *)base + k->offset) = config_setting_get_bool(s);
	}
}

/* Apply a key table to a group: every member must be a known key of the
 * right type; every required key must be present. 'where' prefixes the
 * messages ("camera 'cam01': "), 'path' the key names ("alerts."). */
void cfg_walk(struct cfg_ctx *ctx, const config_setting_t *group,
	      const struct cfg_key *keys, void *base, const char *where,
	      const char *path)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct cfg_key *k = cfg_find_key(keys, name);
		char sub[128];

		if (!k) {
			cfg_error(ctx, s, "%sunknown key '%s%s'", where, path, name);
			continue;
		}
		if (!cfg_type_matches(s, k->type)) {
			cfg_error(ctx, s, "%s%s%s must be %s", where, path, name,
				  cfg_type_name(k->type));
			continue;
		}
		snprintf(sub, sizeof(sub), "%s%s", path, name);
		if (k->list) {
			k->list(ctx, s, base, where);
		} else if (k->type == CFG_GROUP) {
			strncat(sub, ".", sizeof(sub) - strlen(sub) - 1);
			cfg_walk(ctx, s, k->sub, (char *)base + k->offset, where, sub);
		} else {
			cfg_store(ctx, s, k, base, where, sub);
		}
	}
	for (const struct cfg_key *k = keys; k->name; k++)
		if (k->required && !config_setting_get_member(group, k->name))
			cfg_error(ctx, group, "%smissing required key '%s%s'", where,
				  path, k->name);
}
