/* Host side of detector plugins: loading <dir>/<name>.so, checking its
 * ABI, and running one instance per camera with the camera's options.
 * The interface plugins implement is plugins/vigil_plugin.h. */
#ifndef VIGIL_PLUGIN_HOST_H
#define VIGIL_PLUGIN_HOST_H

#include <stddef.h>

#include "config.h"
#include "vigil_plugin.h"

struct plugin_lib {
	void *dl;
	const struct vigil_plugin *p;
};

/* Where plugins live when plugin_dir is not configured: <exe dir>/plugins
 * (or <exe dir>/../plugins) when it exists, so that a build tree works
 * without installation; else /usr/lib/vigil/plugins. */
const char *plugin_default_dir(char *buf, size_t len);

/* Open dir/name.so. Returns 0, or a negative errno with a message (the
 * dlerror() text and a hint) in err. */
int plugin_open(const char *dir, const char *name, struct plugin_lib *lib,
		char *err, size_t errlen);
void plugin_close(struct plugin_lib *lib);

const struct vigil_option *plugin_find_option(const struct vigil_plugin *p,
					      const char *key);
/* Comma-separated option names, for "unknown option" messages. */
void plugin_option_names(const struct vigil_plugin *p, char *buf, size_t len);

/* One plugin running for one camera. */
struct plugin_instance {
	struct plugin_lib lib;
	void *state;
	int ready;               /* init succeeded */
};

/* Load the plugin, allocate its state, store defaults and the camera's
 * options, and call init. Returns 0 or a negative errno (message in err). */
int plugin_instance_init(struct plugin_instance *pi, const char *dir,
			 const struct vigil_detector *d,
			 const struct vigil_setup *setup, char *err, size_t errlen);
int plugin_instance_process(struct plugin_instance *pi, const struct vigil_frame *f,
			    struct vigil_observations *out);
/* Destroy the state and close the library. NULL and half-built are fine. */
void plugin_instance_free(struct plugin_instance *pi);

#endif
