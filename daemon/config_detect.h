/* Camera keys about detection (config_detect.c): zones, masks and
 * detector options, checked against each plugin's options table. Called
 * by the loader (config.c) and by the configuration's copies and
 * comparisons (config_data.c). Not for use outside the configuration. */
#ifndef VIGIL_CONFIG_DETECT_H
#define VIGIL_CONFIG_DETECT_H

#include "config_int.h"

/* Handlers of the camera keys zones, masks and detect (cfg_list_fn). */
void cfg_zones(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
	       const char *where);
void cfg_masks(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
	       const char *where);
void cfg_detect(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
		const char *where);
/* config_lines.c: the camera key lines (tripwires), and their copy,
 * comparison and freeing. */
void cfg_lines(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
	       const char *where);
int cfg_lines_dup(struct vigil_camera *d, const struct vigil_camera *c);
int cfg_lines_equal(const struct vigil_camera *a, const struct vigil_camera *b);
void cfg_lines_free(struct vigil_camera *cam);
/* The camera group activity (the baseline's knobs). */
void cfg_activity(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
		  const char *where);
/* After the walk: default detectors, and options checked against each
 * plugin's table (the plugins are loaded from the plugin directory). */
void cfg_detect_finish(struct cfg_ctx *ctx, const config_t *lc);
void cfg_camera_free_detect(struct vigil_camera *cam);
/* Deep copy of zones, masks and detectors (0, or -1 out of memory) and
 * their comparison (1 when the same), for reloads. */
int cfg_camera_dup_detect(struct vigil_camera *d, const struct vigil_camera *c);
int cfg_camera_detect_equal(const struct vigil_camera *a, const struct vigil_camera *b);

#endif
