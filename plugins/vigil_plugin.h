/* vigil detector plugin interface (public, stable within one ABI version).
 *
 * A detector is a shared object <name>.so that exports one constant
 *
 *     VIGIL_PLUGIN_EXPORT const struct vigil_plugin vigil_plugin = {
 *             .abi = VIGIL_PLUGIN_ABI, ... };
 *
 * The host (vigild) opens it with dlopen(RTLD_NOW), refuses it unless abi
 * equals the host's VIGIL_PLUGIN_ABI, and then, for every camera that uses
 * it, allocates state_size zeroed bytes, stores each option's default (or
 * the camera's configured value) at the option's offset in that state, and
 * calls init once, process once per analysed frame and destroy at the end.
 * State belongs to one camera thread: a plugin needs no locking and must
 * keep no globals. process must not block; it runs in the decode loop.
 *
 * Frames are luma only (8-bit, already downscaled to the analysis width,
 * about 320 pixels). Coordinates everywhere are normalised 0..1 from the
 * top left of the picture. */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define VIGIL_PLUGIN_ABI 1
#define VIGIL_PLUGIN_SYMBOL "vigil_plugin"
/* Put before the descriptor: plugins may build with hidden visibility. */
#define VIGIL_PLUGIN_EXPORT __attribute__((visibility("default")))

#define VIGIL_MAX_BOXES 8          /* boxes per observation */
#define VIGIL_MAX_OBS 16           /* observations per frame */
#define VIGIL_MAX_POINTS 32        /* polygon corners */

enum vigil_opt_type {
	VIGIL_OPT_INT,     /* stored as int */
	VIGIL_OPT_DOUBLE,  /* stored as double */
};

/* One row of a plugin's options table; the table ends with name NULL. */
struct vigil_option {
	const char *name;
	enum vigil_opt_type type;
	size_t offset;             /* where the value lives in the state */
	double def, min, max;      /* default and inclusive range */
	const char *help;
};

/* A named polygon of the camera's configuration. Zones are where the
 * camera watches (when none are configured, the whole picture is); masks
 * are never watched. */
struct vigil_zone {
	const char *name;          /* NULL for masks */
	int npoints;
	float points[2 * VIGIL_MAX_POINTS];   /* x0, y0, x1, y1, ... */
	double sensitivity;        /* 0..1, higher finds fainter changes */
	double min_size;           /* smallest object, percent of the zone */
};

/* What the host tells a plugin instance once, before the first frame. */
struct vigil_setup {
	const char *camera;        /* camera id, for log lines */
	int width, height;         /* analysis frame size */
	double fps;                /* nominal frame rate (0 when unknown) */
	const struct vigil_zone *zones;
	int nzones;
	const struct vigil_zone *masks;
	int nmasks;
	/* Log a line about this camera; prio as in syslog.h. */
	void (*log)(int prio, const char *camera, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
};

struct vigil_frame {
	const uint8_t *data;       /* luma, width x height, rows stride apart */
	int width, height, stride;
	int64_t pts_us;            /* stream time */
	int64_t wall_us;           /* wall-clock arrival, CLOCK_REALTIME */
};

struct vigil_box {
	float x, y, w, h;
};

/* A condition present in this frame. The host's event engine turns runs
 * of observations into events; a plugin reports a condition on every
 * frame on which it holds. */
struct vigil_observation {
	const char *type;          /* alert type, e.g. "motion", "tamper.covered" */
	float score;               /* 0..1, strength of the evidence */
	int zone;                  /* index into setup zones, -1: whole picture */
	int nboxes;
	struct vigil_box boxes[VIGIL_MAX_BOXES];
};

struct vigil_observations {
	int count;
	struct vigil_observation obs[VIGIL_MAX_OBS];
};

/* How the event engine treats one observation type of a plugin. */
struct vigil_event_kind {
	const char *type;
	double start_s;            /* condition must last this long to start */
	double end_s;              /* and be absent this long to end */
};

struct vigil_plugin {
	int abi;                   /* VIGIL_PLUGIN_ABI */
	const char *name;          /* equals the file name without .so */
	const char *description;
	size_t state_size;
	const struct vigil_option *options;     /* ends with name NULL */
	const struct vigil_event_kind *kinds;   /* ends with type NULL */

	/* Returns 0 or a negative errno; on failure destroy is still called. */
	int (*init)(void *state, const struct vigil_setup *setup);
	/* Fill out (count starts at 0). Returns 0 or a negative errno. */
	int (*process)(void *state, const struct vigil_frame *frame,
		       struct vigil_observations *out);
	/* Free what init and process allocated; state itself is the host's. */
	void (*destroy)(void *state);
};

#endif
