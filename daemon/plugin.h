/* Host side of detector plugins: the process's plugin registry (each
 * <dir>/<name>.so opened and checked once per process, shared by the
 * configuration check and every camera thread) and one instance per
 * camera with the camera's options. The interface plugins implement is
 * plugins/vigil_plugin.h.
 *
 * The registry is one of the few process-wide things in vigild, as the
 * dynamic linker's own table of loaded objects is: a plugin is a
 * property of the process, not of a camera. It is thread-safe. A plugin
 * file replaced on disk is picked up when the process restarts; one that
 * failed to load is tried again when its file changes. */
#ifndef VIGIL_PLUGIN_HOST_H
#define VIGIL_PLUGIN_HOST_H

#include <stddef.h>

#include "config.h"
#include "vigil_plugin.h"

/* A plugin in the registry; valid until plugin_registry_close. */
struct plugin_lib;

/* Where plugins live when plugin_dir is not configured: <exe dir>/plugins
 * (or <exe dir>/../plugins) when it exists, so that a build tree works
 * without installation; else /usr/lib/vigil/plugins. */
const char *plugin_default_dir(char *buf, size_t len);

/* The plugin dir/name.so from the registry, opened and checked the first
 * time it is asked for. Returns its descriptor, or NULL with a message
 * (what is wrong and what to do) in err. */
const struct vigil_plugin *plugin_get(const char *dir, const char *name,
				      char *err, size_t errlen);
/* Run every loaded plugin's unload, close them and empty the registry.
 * No instance may be running. */
void plugin_registry_close(void);

const struct vigil_option *plugin_find_option(const struct vigil_plugin *p,
					      const char *key);
/* Comma-separated option names, for "unknown option" messages. */
void plugin_option_names(const struct vigil_plugin *p, char *buf, size_t len);
/* Check a configured value against its option. Returns 0 and the value to
 * store in *num (for an enum, the index of the name), or -EINVAL with the
 * rest of a sentence about the option in err ("must be true or false"). */
int plugin_option_value(const struct vigil_option *o, const struct vigil_detector_option *v,
			double *num, char *err, size_t errlen);

/* One plugin running for one camera. */
struct plugin_instance {
	const struct vigil_plugin *p;
	void *state;
	struct vigil_log_ctx *log_ctx;  /* names the camera and the plugin */
	char **strings;          /* string option values the state points at */
	int nstrings;
	int init_called;         /* destroy is due */
	int ready;               /* init succeeded */
	int refused;             /* observations of types not among its kinds,
				  * in the last process call */
	char refused_type[48];   /* the type of the last one refused */
};

/* Get the plugin from the registry (running its load the first time),
 * allocate its state, store defaults and the camera's options, and call
 * init. setup's log fields and struct_size are filled in by the host.
 * Returns 0 or a negative errno (message in err). */
int plugin_instance_init(struct plugin_instance *pi, const char *dir,
			 const struct vigil_detector *d,
			 const struct vigil_setup *setup, char *err, size_t errlen);
/* One frame. Observations whose type is not among the plugin's kinds are
 * removed from out and counted in pi->refused. */
int plugin_instance_process(struct plugin_instance *pi, const struct vigil_frame *f,
			    struct vigil_observations *out);
/* Destroy the state. NULL and half-built are fine. */
void plugin_instance_free(struct plugin_instance *pi);

/* The plugin's event kind of an observation type, or NULL. */
const struct vigil_event_kind *plugin_kind(const struct vigil_plugin *p, const char *type);

#endif
