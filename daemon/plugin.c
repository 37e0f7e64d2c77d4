/* Detector plugin registry and the checks a plugin passes when it is
 * loaded; see plugin.h. Instances are in plugin_instance.c. */
#include "plugin.h"
#include "plugin_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "plugin_int.h"

#define PLUGIN_MAX_ROWS 256           /* a table without its end row is refused */
#define PLUGIN_MAX_STATE (64u << 20)  /* per camera */

/* The registry: a short list (a handful of plugins), under one lock. */
static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;
static struct plugin_lib *plugin_libs;
static unsigned plugin_opens;

/* 1 when path names a directory. */
static int plugin_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *plugin_default_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/plugins", exe);
			if (plugin_is_dir(buf))
				return buf;
			snprintf(buf, len, "%s/../plugins", exe);
			if (plugin_is_dir(buf))
				return buf;
			/* Installed: PREFIX/bin/vigild, PREFIX/lib/vigil/plugins. */
			snprintf(buf, len, "%s/../lib/vigil/plugins", exe);
			if (plugin_is_dir(buf))
				return buf;
		}
	}
	snprintf(buf, len, "/usr/lib/vigil/plugins");
	return buf;
}

/* Names of plugins and options: a-z, 0-9, '_'; with dots, a kind's type
 * (topic levels: no dot first, last or twice in a row). */
static int plugin_token_ok(const char *s, int dots)
{
	if (!s || !*s || *s == '.')
		return 0;
	for (; *s; s++) {
		if (*s == '.' && dots && s[1] != '.' && s[1])
			continue;
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	}
	return 1;
}

/* Bytes and alignment of an option's value in the state. */
static size_t plugin_opt_size(enum vigil_opt_type t, size_t *align)
{
	switch (t) {
	case VIGIL_OPT_INT:
	case VIGIL_OPT_BOOL:
	case VIGIL_OPT_ENUM:
		*align = _Alignof(int);
		return sizeof(int);
	case VIGIL_OPT_DOUBLE:
		*align = _Alignof(double);
		return sizeof(double);
	case VIGIL_OPT_STRING:
		*align = _Alignof(const char *);
		return sizeof(const char *);
	}
	return 0;
}

static int plugin_enum_index(const struct vigil_option *o, const char *name)
{
	for (int i = 0; o->values[i]; i++)
		if (strcmp(o->values[i], name) == 0)
			return i;
	return -1;
}

/* One row of the options table; 0 or -1 with a message in err. */
static int plugin_check_option(const struct vigil_plugin *p, const struct vigil_option *o,
			       char *err, size_t errlen)
{
	size_t align = 1, size = plugin_opt_size(o->type, &align);

	if (!size) {
		snprintf(err, errlen, "has an unknown type (%d)", (int)o->type);
		return -1;
	}
	if (o->offset % align || o->offset + size > p->state_size) {
		snprintf(err, errlen, "lies outside the state (offset %zu, state_size %zu)",
			 o->offset, p->state_size);
		return -1;
	}
	switch (o->type) {
	case VIGIL_OPT_INT:
	case VIGIL_OPT_DOUBLE:
		if (!(o->min <= o->def && o->def <= o->max) ||
		    (o->type == VIGIL_OPT_INT && (o->min < INT_MIN || o->max > INT_MAX))) {
			snprintf(err, errlen, "has default %g outside its range %g..%g", o->def,
				 o->min, o->max);
			return -1;
		}
		break;
	case VIGIL_OPT_BOOL:
		if (o->def != 0 && o->def != 1) {
			snprintf(err, errlen, "is a bool with default %g (0 or 1)", o->def);
			return -1;
		}
		break;
	case VIGIL_OPT_STRING:
		if (o->min < 0 || o->max < 0 || o->max > VIGIL_MAX_STRING ||
		    (o->max && o->min > o->max) ||
		    (o->def_str && strlen(o->def_str) > (o->max ? o->max : VIGIL_MAX_STRING))) {
			snprintf(err, errlen, "has a bad length range or default");
			return -1;
		}
		break;
	case VIGIL_OPT_ENUM:
		if (!o->values || !o->values[0]) {
			snprintf(err, errlen, "is an enum without values");
			return -1;
		}
		if (o->def_str && plugin_enum_index(o, o->def_str) < 0) {
			snprintf(err, errlen, "has default '%s', not one of its values", o->def_str);
			return -1;
		}
		break;
	}
	return 0;
}

/* The options table: rows well formed, names unique. */
static int plugin_check_options(const struct vigil_plugin *p, char *err, size_t errlen)
{
	char why[200];

	for (int i = 0; p->options && p->options[i].name; i++) {
		const struct vigil_option *o = &p->options[i];

		if (i >= PLUGIN_MAX_ROWS) {
			snprintf(err, errlen, "options table has no end row");
			return -1;
		}
		if (!plugin_token_ok(o->name, 0))
			snprintf(why, sizeof(why), "name may only contain a-z, 0-9 and '_'");
		else if (plugin_check_option(p, o, why, sizeof(why)) == 0)
			why[0] = '\0';
		for (int j = 0; !why[0] && j < i; j++)
			if (strcmp(p->options[j].name, o->name) == 0)
				snprintf(why, sizeof(why), "appears twice");
		if (why[0]) {
			snprintf(err, errlen, "option %d ('%s') %s", i + 1, o->name, why);
			return -1;
		}
	}
	return 0;
}

/* The kinds table: at least one, types usable in topics, unique, times
 * from 0 to an hour. */
static int plugin_check_kinds(const struct vigil_plugin *p, char *err, size_t errlen)
{
	int i;

	for (i = 0; p->kinds && p->kinds[i].type; i++) {
		const struct vigil_event_kind *k = &p->kinds[i];
		const char *why = NULL;

		if (i >= PLUGIN_MAX_ROWS) {
			snprintf(err, errlen, "kinds table has no end row");
			return -1;
		}
		if (!plugin_token_ok(k->type, 1))
			why = "type may only contain a-z, 0-9, '_' and single inner dots";
		else if (!(k->start_s >= 0 && k->start_s <= 3600 && k->end_s >= 0 &&
			   k->end_s <= 3600))
			why = "start_s and end_s must be 0 to 3600 seconds";
		for (int j = 0; !why && j < i; j++)
			if (strcmp(p->kinds[j].type, k->type) == 0)
				why = "appears twice";
		if (why) {
			snprintf(err, errlen, "kind %d ('%s'): %s", i + 1, k->type ? k->type : "?",
				 why);
			return -1;
		}
	}
	if (i == 0) {
		snprintf(err, errlen, "lists no kinds: it could report nothing");
		return -1;
	}
	return 0;
}

/* Everything the host checks before it uses a descriptor. */
static int plugin_check(const char *path, const char *name, const struct vigil_plugin *p,
			char *err, size_t errlen)
{
	char why[400];

	if (p->abi != VIGIL_PLUGIN_ABI) {
		snprintf(err, errlen, "%s has plugin ABI %d, this vigild needs %d: rebuild it "
			 "against this vigil's vigil_plugin.h", path, p->abi, VIGIL_PLUGIN_ABI);
		return -EPROTO;
	}
	if (p->struct_size < VIGIL_PLUGIN_SIZE_V2) {
		snprintf(err, errlen, "%s has a descriptor of %u bytes, ABI %d needs at least "
			 "%zu (set struct_size with VIGIL_PLUGIN_HEAD)", path, p->struct_size,
			 VIGIL_PLUGIN_ABI, (size_t)VIGIL_PLUGIN_SIZE_V2);
		return -EPROTO;
	}
	if (!p->name || strcmp(p->name, name) != 0) {
		snprintf(err, errlen, "%s calls itself '%s': a plugin's name must be its file "
			 "name without .so", path, p->name ? p->name : "");
		return -EINVAL;
	}
	if (!p->init || !p->process) {
		snprintf(err, errlen, "%s has no %s function: not a complete detector", path,
			 !p->init ? "init" : "process");
		return -EINVAL;
	}
	if (p->state_size > PLUGIN_MAX_STATE) {
		snprintf(err, errlen, "%s wants %zu bytes of state per camera (at most %u)",
			 path, p->state_size, PLUGIN_MAX_STATE);
		return -EINVAL;
	}
	if (plugin_check_options(p, why, sizeof(why)) < 0 ||
	    plugin_check_kinds(p, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -EINVAL;
	}
	return 0;
}

/* dlopen and check one plugin file into lib; 0 or a negative errno with
 * lib->err set. */
static int plugin_lib_open(struct plugin_lib *lib)
{
	const struct vigil_plugin *p;
	int r;

	lib->dl = dlopen(lib->path, RTLD_NOW | RTLD_LOCAL);
	plugin_opens++;
	if (!lib->dl) {
		snprintf(lib->err, sizeof(lib->err),
			 "cannot load detector '%s': %s (is plugin_dir right?)", lib->name,
			 dlerror());
		return -ENOENT;
	}
	p = dlsym(lib->dl, VIGIL_PLUGIN_SYMBOL);
	if (!p) {
		snprintf(lib->err, sizeof(lib->err), "%s does not export '%s': not a vigil detector",
			 lib->path, VIGIL_PLUGIN_SYMBOL);
		r = -EINVAL;
	} else {
		r = plugin_check(lib->path, lib->name, p, lib->err, sizeof(lib->err));
	}
	if (r < 0) {
		dlclose(lib->dl);
		lib->dl = NULL;
		return r;
	}
	lib->p = p;
	log_debug(NULL, "plugin %s loaded (%u plugin file(s) opened by this process)",
		  lib->path, plugin_opens);
	return 0;
}

/* What identifies a file's version for retrying a failed load. */
static void plugin_file_id(const char *path, struct plugin_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) == 0) {
		id->exists = 1;
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		id->size = st.st_size;
		id->mtime = st.st_mtim;
	}
}

static int plugin_file_same(const struct plugin_file_id *a, const struct plugin_file_id *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void plugin_lib_free(struct plugin_lib *lib)
{
	if (!lib)
		return;
	if (lib->dl)
		dlclose(lib->dl);
	free(lib->path);
	free(lib->name);
	free(lib->dir);
	free(lib->load_ctx);
	free(lib);
}

/* The registry entry of dir/name.so, added (and opened) when new; a
 * failed one is opened again when its file changed. Under plugin_lock.
 * NULL when out of memory. */
static struct plugin_lib *plugin_lookup(const char *dir, const char *name)
{
	struct plugin_lib *lib;
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s.so", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	for (lib = plugin_libs; lib; lib = lib->next) {
		if (strcmp(lib->path, path) != 0)
			continue;
		if (!lib->p) {
			struct plugin_file_id now;
			plugin_file_id(path, &now);
			if (!plugin_file_same(&now, &lib->file)) {
				lib->file = now;
				plugin_lib_open(lib);
			}
		}
		return lib;
	}
	lib = calloc(1, sizeof(*lib));
	if (!lib)
		return NULL;
	lib->path = strdup(path);
	lib->name = strdup(name);
	lib->dir = strdup(dir);
	if (!lib->path || !lib->name || !lib->dir) {
		plugin_lib_free(lib);
		return NULL;
	}
	plugin_file_id(path, &lib->file);
	plugin_lib_open(lib);
	lib->next = plugin_libs;
	plugin_libs = lib;
	return lib;
}

struct plugin_lib *plugin_lib_get(const char *dir, const char *name, char *err,
				  size_t errlen)
{
	struct plugin_lib *lib;

	if (!plugin_token_ok(name, 0)) {
		snprintf(err, errlen, "detector name '%s' may only contain a-z, 0-9 and '_'",
			 name);
		return NULL;
	}
	pthread_mutex_lock(&plugin_lock);
	lib = plugin_lookup(dir, name);
	if (!lib) {
		snprintf(err, errlen, "cannot load detector '%s': out of memory or path too long",
			 name);
	} else if (!lib->p) {
		snprintf(err, errlen, "%s", lib->err);
		lib = NULL;
	}
	pthread_mutex_unlock(&plugin_lock);
	return lib;
}

const struct vigil_plugin *plugin_get(const char *dir, const char *name, char *err,
				      size_t errlen)
{
	struct plugin_lib *lib = plugin_lib_get(dir, name, err, errlen);

	return lib ? lib->p : NULL;
}

int plugin_lib_start(struct plugin_lib *lib, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&plugin_lock);
	if (!lib->started) {
		lib->started = 1;
		if (lib->p->load) {
			struct vigil_load ld = { .struct_size = sizeof(ld), .plugin_dir = lib->dir,
						 .log = plugin_log };
			lib->load_ctx = plugin_log_ctx_new(NULL, lib->p->name);
			ld.log_ctx = lib->load_ctx;
			lib->load_rc = lib->load_ctx ? lib->p->load(&ld, &lib->shared) : -ENOMEM;
			if (lib->load_rc > 0)
				lib->load_rc = -EIO;
		}
	}
	r = lib->load_rc;
	if (r < 0)
		snprintf(err, errlen, "detector '%s' failed to load: %s", lib->name,
			 strerror(-r));
	pthread_mutex_unlock(&plugin_lock);
	return r;
}

void plugin_registry_close(void)
{
	pthread_mutex_lock(&plugin_lock);
	while (plugin_libs) {
		struct plugin_lib *lib = plugin_libs;

		plugin_libs = lib->next;
		if (lib->started && lib->load_rc == 0 && lib->p->unload)
			lib->p->unload(lib->shared);
		plugin_lib_free(lib);
	}
	pthread_mutex_unlock(&plugin_lock);
}

unsigned plugin_registry_opens(void)
{
	unsigned n;

	pthread_mutex_lock(&plugin_lock);
	n = plugin_opens;
	pthread_mutex_unlock(&plugin_lock);
	return n;
}

const struct vigil_option *plugin_find_option(const struct vigil_plugin *p,
					      const char *key)
{
	for (const struct vigil_option *o = p->options; o && o->name; o++)
		if (strcmp(o->name, key) == 0)
			return o;
	return NULL;
}

void plugin_option_names(const struct vigil_plugin *p, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (const struct vigil_option *o = p->options; o && o->name; o++) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", o->name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "none");
}

/* "a, b or c": the names of an enum's values. */
static void plugin_enum_names(const struct vigil_option *o, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; o->values[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 i == 0 ? "" : o->values[i + 1] ? ", " : " or ", o->values[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int plugin_option_value(const struct vigil_option *o, const struct vigil_detector_option *v,
			double *num, char *err, size_t errlen)
{
	char names[400];
	size_t len, max;

	switch (o->type) {
	case VIGIL_OPT_INT:
	case VIGIL_OPT_DOUBLE:
		if (v->kind != DETECT_NUMBER) {
			snprintf(err, errlen, "must be a number");
			return -EINVAL;
		}
		if (!(v->value >= o->min && v->value <= o->max)) {
			snprintf(err, errlen, "must be between %g and %g, not %g", o->min, o->max,
				 v->value);
			return -EINVAL;
		}
		if (o->type == VIGIL_OPT_INT && v->value != (double)(long)v->value) {
			snprintf(err, errlen, "must be a whole number");
			return -EINVAL;
		}
		*num = v->value;
		return 0;
	case VIGIL_OPT_BOOL:
		if (v->kind != DETECT_BOOL) {
			snprintf(err, errlen, "must be true or false");
			return -EINVAL;
		}
		*num = v->value != 0;
		return 0;
	case VIGIL_OPT_STRING:
		if (v->kind != DETECT_STRING) {
			snprintf(err, errlen, "must be a string");
			return -EINVAL;
		}
		len = strlen(v->str);
		max = o->max ? (size_t)o->max : VIGIL_MAX_STRING;
		if (len < (size_t)o->min || len > max) {
			snprintf(err, errlen, "must be %g to %zu bytes long, not %zu", o->min, max,
				 len);
			return -EINVAL;
		}
		*num = 0;
		return 0;
	case VIGIL_OPT_ENUM:
		plugin_enum_names(o, names, sizeof(names));
		if (v->kind != DETECT_STRING) {
			snprintf(err, errlen, "must be one of %s (a string)", names);
			return -EINVAL;
		}
		*num = plugin_enum_index(o, v->str);
		if (*num < 0) {
			snprintf(err, errlen, "must be one of %s, not '%s'", names, v->str);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "has a type this vigild does not know");
	return -EINVAL;
}

const struct vigil_event_kind *plugin_kind(const struct vigil_plugin *p, const char *type)
{
	for (const struct vigil_event_kind *k = p->kinds; k && k->type; k++)
		if (strcmp(k->type, type) == 0)
			return k;
	return NULL;
}
