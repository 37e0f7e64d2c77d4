/* Detector plugin host; see plugin.h. */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Plugin names become file names: keep them to a safe alphabet. */
static int plugin_name_ok(const char *name)
{
	if (!*name)
		return 0;
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int plugin_open(const char *dir, const char *name, struct plugin_lib *lib,
		char *err, size_t errlen)
{
	char path[PATH_MAX];
	const struct vigil_plugin *p;

	memset(lib, 0, sizeof(*lib));
	if (!plugin_name_ok(name)) {
		snprintf(err, errlen, "detector name '%s' may only contain a-z, 0-9 and '_'",
			 name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	lib->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib->dl) {
		snprintf(err, errlen, "cannot load detector '%s': %s (is plugin_dir right?)",
			 name, dlerror());
		return -ENOENT;
	}
	p = dlsym(lib->dl, VIGIL_PLUGIN_SYMBOL);
	if (!p) {
		snprintf(err, errlen, "%s does not export '%s': not a vigil detector",
			 path, VIGIL_PLUGIN_SYMBOL);
		plugin_close(lib);
		return -EINVAL;
	}
	if (p->abi != VIGIL_PLUGIN_ABI) {
		snprintf(err, errlen, "%s has plugin ABI %d, this vigild needs %d: rebuild it",
			 path, p->abi, VIGIL_PLUGIN_ABI);
		plugin_close(lib);
		return -EPROTO;
	}
	if (!p->name || strcmp(p->name, name) != 0 || !p->process || !p->init) {
		snprintf(err, errlen, "%s is incomplete (name, init or process missing)", path);
		plugin_close(lib);
		return -EINVAL;
	}
	lib->p = p;
	return 0;
}

void plugin_close(struct plugin_lib *lib)
{
	if (!lib)
		return;
	if (lib->dl)
		dlclose(lib->dl);
	memset(lib, 0, sizeof(*lib));
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

/* Store an option value at its offset in a plugin's state. */
static void plugin_store(void *state, const struct vigil_option *o, double v)
{
	char *at = (char *)state + o->offset;

	if (o->type == VIGIL_OPT_INT)
		*(int *)at = (int)v;
	else
		*(double *)at = v;
}

int plugin_instance_init(struct plugin_instance *pi, const char *dir,
			 const struct vigil_detector *d,
			 const struct vigil_setup *setup, char *err, size_t errlen)
{
	const struct vigil_plugin *p;
	int r;

	memset(pi, 0, sizeof(*pi));
	r = plugin_open(dir, d->name, &pi->lib, err, errlen);
	if (r < 0)
		return r;
	p = pi->lib.p;
	pi->state = calloc(1, p->state_size ? p->state_size : 1);
	if (!pi->state) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (const struct vigil_option *o = p->options; o && o->name; o++)
		plugin_store(pi->state, o, o->def);
	/* Options were checked against the table when the config was read;
	 * a plugin replaced since then is checked again here. */
	for (int i = 0; i < d->nopts; i++) {
		const struct vigil_option *o = plugin_find_option(p, d->opts[i].key);
		if (!o || d->opts[i].value < o->min || d->opts[i].value > o->max) {
			snprintf(err, errlen, "detector '%s': option '%s' unknown or out of range",
				 d->name, d->opts[i].key);
			return -EINVAL;
		}
		plugin_store(pi->state, o, d->opts[i].value);
	}
	r = p->init(pi->state, setup);
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
	out->count = 0;
	if (!pi->ready)
		return -EINVAL;
	return pi->lib.p->process(pi->state, f, out);
}

void plugin_instance_free(struct plugin_instance *pi)
{
	if (!pi)
		return;
	if (pi->state && pi->lib.p && pi->lib.p->destroy)
		pi->lib.p->destroy(pi->state);
	free(pi->state);
	plugin_close(&pi->lib);
	memset(pi, 0, sizeof(*pi));
}
