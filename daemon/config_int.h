/* Internals shared by the configuration loader's files: the key tables'
 * types, the walker and error printer (config_walk.c), the integer and
 * UTF-8 checks (config_lex.c) and the option values (config_options.c).
 * config.c loads and checks a file and calls these and config_detect.h;
 * none of them calls back into it. Not for use outside the loader. */
#ifndef VIGIL_CONFIG_INT_H
#define VIGIL_CONFIG_INT_H

#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

/* CFG_INCLUDE rows splice another table (sub) into this one. */
enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_GROUP, CFG_LIST, CFG_INCLUDE };

struct cfg_ctx;
/* Handles a whole setting itself; base is the struct being filled and
 * where the message prefix ("camera 'cam01': "). */
typedef void (*cfg_list_fn)(struct cfg_ctx *ctx, const config_setting_t *s,
			    void *base, const char *where);

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;                /* field in the struct being filled */
	int required;
	long min, max;                /* CFG_INT range */
	const struct cfg_key *sub;    /* CFG_GROUP, CFG_INCLUDE: keys of the group */
	cfg_list_fn list;             /* when set: handles the setting */
};

/* An integer literal of the file that libconfig wraps to an int. */
struct cfg_bigint {
	char *file;
	int line;
	long long value;   /* as written (saturated beyond 64 bits) */
};

struct cfg_ctx {
	const char *path;
	FILE *err;
	int errors;
	struct vigil_config *cfg;
	struct cfg_bigint *big;   /* see cfg_scan_ints() */
	size_t nbig;
};

/* config_walk.c: apply a key table to a group: every member must be a
 * known key of the right type; every required key must be present.
 * 'where' prefixes the messages ("camera 'cam01': "), 'path' the key
 * names ("alerts."). */
void cfg_walk(struct cfg_ctx *ctx, const config_setting_t *group,
	      const struct cfg_key *keys, void *base, const char *where,
	      const char *path);

/* Print one error as FILE:LINE: message. line 0 means "whole file". */
void cfg_error_at(struct cfg_ctx *ctx, const char *file, int line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline int cfg_line(const config_setting_t *s)
{
	return s && config_setting_source_line(s) ? (int)config_setting_source_line(s) : 1;
}

/* The root group has no line of its own: its errors point at line 1. */
#define cfg_error(ctx, s, ...) \
	cfg_error_at(ctx, config_setting_source_file(s), cfg_line(s), __VA_ARGS__)

/* config_lex.c: record the integer literals of the configuration's text
 * that do not fit an int, before the walk; free them after.
 * cfg_int_value() is an integer setting's value as written. */
void cfg_scan_ints(struct cfg_ctx *ctx, const char *text);
void cfg_scan_free(struct cfg_ctx *ctx);
long long cfg_int_value(const struct cfg_ctx *ctx, const config_setting_t *s);

/* Whether s is valid UTF-8 (no overlong forms, no surrogates). */
int cfg_utf8_ok(const char *s);

/* config_options.c: mark the options of a camera (or of the defaults
 * group) unset; check the enumerated ones set in group s; fill a camera's
 * unset options from the defaults group d, then from built-ins. */
void cfg_options_unset(struct vigil_camera *c);
void cfg_options_check(struct cfg_ctx *ctx, const config_setting_t *s,
		       const struct vigil_camera *c, const char *where);
void cfg_options_inherit(struct vigil_camera *c, const struct vigil_camera *d);

#endif
