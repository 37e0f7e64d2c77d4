/* Internals shared by the plugin host's files (plugin.c: the registry;
 * plugin_instance.c: instances and their log lines). Not for use outside
 * the host. */
#ifndef VIGIL_PLUGIN_INT_H
#define VIGIL_PLUGIN_INT_H

#include <limits.h>
#include <sys/types.h>
#include <time.h>

#include "plugin.h"

/* A file's identity, to notice that a plugin that failed was replaced. */
struct plugin_file_id {
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct plugin_lib {
	struct plugin_lib *next;
	char *path, *name, *dir;
	void *dl;
	const struct vigil_plugin *p;  /* NULL: failed to open or check (err) */
	char err[PATH_MAX + 300];
	struct plugin_file_id file;    /* when it failed */
	int started;                   /* load was called (or there is none) */
	int load_rc;                   /* what load returned */
	void *shared;                  /* what load stored */
	struct vigil_log_ctx *load_ctx;
};

/* The registry entry of a good plugin, or NULL with a message in err. */
struct plugin_lib *plugin_lib_get(const char *dir, const char *name, char *err,
				  size_t errlen);
/* Run the plugin's load once per process; later calls return what the
 * first returned. 0 or a negative errno (message in err). */
int plugin_lib_start(struct plugin_lib *lib, char *err, size_t errlen);

/* The host's log function given to plugins, and its context: camera
 * (NULL: none) and plugin name, both copied. Freed with free(). */
void plugin_log(const struct vigil_log_ctx *ctx, enum vigil_log_level level,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));
struct vigil_log_ctx *plugin_log_ctx_new(const char *camera, const char *plugin);

#endif
