/* vigil detector plugin interface, ABI 2 (public; make install puts it
 * in INCLUDEDIR/vigil, and `pkg-config --cflags vigil-plugin` lets a
 * plugin include it as "vigil_plugin.h"; plugins/README.md is the guide).
 *
 * A detector is a shared object <name>.so that exports one constant
 *
 *     VIGIL_PLUGIN_EXPORT const struct vigil_plugin vigil_plugin = {
 *             VIGIL_PLUGIN_HEAD, .name = "mydet", ... };
 *
 * The host (vigild) opens each plugin once per process with
 * dlopen(RTLD_NOW) and refuses it unless abi equals the host's
 * VIGIL_PLUGIN_ABI, struct_size covers every field of ABI 2, name equals
 * the file name, init and process are set, and its options and kinds
 * tables are well formed. Before the first camera uses it, the host
 * calls load (optional) once per process; then, for every camera that
 * uses it, allocates state_size zeroed bytes, stores each option's
 * default (or the camera's configured value) at the option's offset in
 * that state, and calls init once, process once per analysed frame and
 * destroy at the end. unload (optional) runs once when the process is
 * done with the plugin.
 *
 * State belongs to one camera thread: a plugin needs no locking for it.
 * What load prepares (a model, a table) is shared read-only by all the
 * cameras' threads. process must not block; it runs in the decode loop.
 *
 * Frames are luma only (8-bit, already downscaled to the analysis width,
 * about 320 pixels). Coordinates everywhere are normalised 0..1 from the
 * top left of the picture.
 *
 * How this interface grows without breaking built plugins:
 *   - abi changes only when something incompatible changes; the host
 *     refuses a plugin built for another abi.
 *   - struct vigil_plugin, vigil_load, vigil_setup and vigil_frame start
 *     with (or carry) struct_size, the size the writer of the struct was
 *     built with. Fields are only ever appended; a reader reads a field
 *     only when struct_size covers it (VIGIL_HAS_FIELD), and takes the
 *     field as zero otherwise. So a newer host runs older plugins of the
 *     same abi, and a plugin built against a newer header can tell what
 *     an older host gave it.
 *   - Rows of tables and arrays (vigil_option, vigil_event_kind,
 *     vigil_zone, vigil_observation) have a fixed size within an abi:
 *     their reserved fields are zero today and may get a meaning later,
 *     with zero meaning today's behaviour. Write rows with designated
 *     initializers (or the VIGIL_OPTION_* macros) so reserved fields are
 *     zero; the host zeroes observations before each process call. */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define VIGIL_PLUGIN_ABI 2
#define VIGIL_PLUGIN_SYMBOL "vigil_plugin"
/* Put before the descriptor: plugins may build with hidden visibility. */
#define VIGIL_PLUGIN_EXPORT __attribute__((visibility("default")))
/* The first two fields of every descriptor. */
#define VIGIL_PLUGIN_HEAD .abi = VIGIL_PLUGIN_ABI, .struct_size = sizeof(struct vigil_plugin)

/* 1 when the struct *s (with its struct_size) includes field. */
#define VIGIL_HAS_FIELD(s, field) \
	((s)->struct_size >= offsetof(__typeof__(*(s)), field) + sizeof((s)->field))

#define VIGIL_MAX_BOXES 8          /* boxes per observation */
#define VIGIL_MAX_OBS 16           /* observations per frame */
#define VIGIL_MAX_POINTS 32        /* polygon corners */
#define VIGIL_MAX_STRING 1024      /* longest string option value, bytes */

/* Levels of log lines (vigild maps them onto its own). */
enum vigil_log_level {
	VIGIL_LOG_ERROR,           /* the plugin cannot do its work */
	VIGIL_LOG_WARNING,         /* something is off; it goes on */
	VIGIL_LOG_INFO,            /* a rare, notable change */
	VIGIL_LOG_DEBUG,           /* shown only with vigild -v */
};

/* Opaque to plugins: the host's context of a log line (which camera,
 * which plugin). Pass it back to log as given. */
struct vigil_log_ctx;

/* Log one line. The host names the camera (if any) and the plugin in the
 * line; fmt needs no newline. Thread-safe, never blocks for long. */
typedef void (*vigil_log_fn)(const struct vigil_log_ctx *ctx, enum vigil_log_level level,
			     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

enum vigil_opt_type {
	VIGIL_OPT_INT,     /* int; def, min, max */
	VIGIL_OPT_DOUBLE,  /* double; def, min, max */
	VIGIL_OPT_BOOL,    /* int, 0 or 1; def; configured as true / false */
	VIGIL_OPT_STRING,  /* const char *, owned by the host, valid until
			    * destroy; def_str (NULL stays NULL); min, max:
			    * length range in bytes (max 0: VIGIL_MAX_STRING) */
	VIGIL_OPT_ENUM,    /* int: index into values; configured as one of
			    * the names; def_str names the default (NULL:
			    * the first) */
};

/* One row of a plugin's options table; the table ends with name NULL. */
struct vigil_option {
	const char *name;          /* a-z, 0-9, '_' */
	enum vigil_opt_type type;
	size_t offset;             /* where the value lives in the state */
	double def, min, max;      /* default and inclusive range */
	const char *help;
	const char *const *values; /* VIGIL_OPT_ENUM: names, ending with NULL */
	const char *def_str;       /* VIGIL_OPT_STRING, VIGIL_OPT_ENUM */
	void *reserved[4];
};

/* Rows of the options table; the table ends with VIGIL_OPTIONS_END. */
#define VIGIL_OPTION_INT(n, off, d, lo, hi, h) \
	{ .name = (n), .type = VIGIL_OPT_INT, .offset = (off), .def = (d), .min = (lo), \
	  .max = (hi), .help = (h) }
#define VIGIL_OPTION_DOUBLE(n, off, d, lo, hi, h) \
	{ .name = (n), .type = VIGIL_OPT_DOUBLE, .offset = (off), .def = (d), .min = (lo), \
	  .max = (hi), .help = (h) }
#define VIGIL_OPTION_BOOL(n, off, d, h) \
	{ .name = (n), .type = VIGIL_OPT_BOOL, .offset = (off), .def = (d), .max = 1, \
	  .help = (h) }
#define VIGIL_OPTION_STRING(n, off, d, maxlen, h) \
	{ .name = (n), .type = VIGIL_OPT_STRING, .offset = (off), .def_str = (d), \
	  .max = (maxlen), .help = (h) }
#define VIGIL_OPTION_ENUM(n, off, vals, d, h) \
	{ .name = (n), .type = VIGIL_OPT_ENUM, .offset = (off), .values = (vals), \
	  .def_str = (d), .help = (h) }
#define VIGIL_OPTIONS_END { .name = NULL }

/* A named polygon of the camera's configuration. Zones are where the
 * camera watches (when none are configured, the whole picture is); masks
 * are never watched. */
struct vigil_zone {
	const char *name;          /* NULL for masks */
	int npoints;
	float points[2 * VIGIL_MAX_POINTS];   /* x0, y0, x1, y1, ... */
	double sensitivity;        /* 0..1, higher finds fainter changes */
	double min_size;           /* smallest object, percent of the zone */
	void *reserved[2];
};

/* What the host tells a plugin once per process, before any camera uses
 * it (load). Valid only during the call: copy what you keep. */
struct vigil_load {
	size_t struct_size;
	const char *plugin_dir;    /* where the .so is (data files beside it) */
	const struct vigil_log_ctx *log_ctx;
	vigil_log_fn log;          /* never NULL */
};

/* What the host tells a plugin instance once, before the first frame.
 * Valid only during init, except log_ctx and log, valid until destroy. */
struct vigil_setup {
	size_t struct_size;
	const char *camera;        /* camera id; lives until destroy */
	int width, height;         /* analysis frame size */
	double fps;                /* nominal frame rate (0 when unknown) */
	const struct vigil_zone *zones;
	int nzones;
	const struct vigil_zone *masks;
	int nmasks;
	/* Log a line about this camera: log(log_ctx, VIGIL_LOG_INFO, ...).
	 * Never NULL. */
	const struct vigil_log_ctx *log_ctx;
	vigil_log_fn log;
	void *shared;              /* what load stored, or NULL */
};

struct vigil_box {
	float x, y, w, h;
};

/* An object the host follows from frame to frame (see vigil_frame's
 * tracks): the moving objects the camera's detectors reported as boxes,
 * matched across frames. id stays the same while the object is seen or
 * coasts (hidden for up to about a second, its box then predicted). */
struct vigil_track {
	uint32_t id;               /* 1, 2, ... per camera; never reused */
	struct vigil_box box;      /* normalised, current or predicted */
	float vx, vy;              /* velocity of the box centre, picture per s */
	int64_t first_us;          /* wall time first seen */
	int hidden;                /* frames since last seen (0: seen now) */
	void *reserved[2];
};

struct vigil_frame {
	size_t struct_size;
	const uint8_t *data;       /* luma, width x height, rows stride apart */
	int width, height, stride;
	int64_t pts_us;            /* stream time */
	int64_t wall_us;           /* wall-clock arrival, CLOCK_REALTIME */
	/* Appended fields (ABI 2 continued; read them with VIGIL_HAS_FIELD:
	 * an older host leaves them out). */
	int key;                   /* 1: a keyframe (intra-coded; its difference
				    * from the frame before is partly coding) */
	int ntracks;
	const struct vigil_track *tracks;  /* the host's tracks as of the
				    * previous frame (this frame's detectors are
				    * what updates them); valid during process */
};

/* A condition present in this frame. The host's event engine turns runs
 * of observations into events; a plugin reports a condition on every
 * frame on which it holds. type must be one of the plugin's kinds: the
 * host refuses (and logs, once per camera) any other. */
struct vigil_observation {
	const char *type;          /* alert type, e.g. "motion", "tamper.covered" */
	float score;               /* 0..1, strength of the evidence */
	int zone;                  /* index into setup zones, -1: whole picture */
	int nboxes;
	struct vigil_box boxes[VIGIL_MAX_BOXES];
	void *reserved[2];
};

struct vigil_observations {
	int count;
	struct vigil_observation obs[VIGIL_MAX_OBS];
};

/* How the event engine treats one observation type of a plugin. type is
 * a topic level or dotted levels: a-z, 0-9, '_', '.' (not first or last,
 * never two together); it becomes the alert's type. */
struct vigil_event_kind {
	const char *type;
	double start_s;            /* condition must last this long to start */
	double end_s;              /* and be absent this long to end */
	void *reserved[2];
};

struct vigil_plugin {
	int abi;                   /* VIGIL_PLUGIN_ABI (VIGIL_PLUGIN_HEAD) */
	unsigned struct_size;      /* sizeof(struct vigil_plugin) (VIGIL_PLUGIN_HEAD) */
	const char *name;          /* equals the file name without .so */
	const char *description;
	size_t state_size;
	const struct vigil_option *options;     /* ends with name NULL; may be NULL */
	const struct vigil_event_kind *kinds;   /* ends with type NULL; at least one */

	/* Optional, once per process before the first init: prepare what
	 * every camera shares and store it in *shared (given to init as
	 * setup->shared). Returns 0 or a negative errno; on failure no
	 * camera runs the plugin, and unload is not called. */
	int (*load)(const struct vigil_load *load, void **shared);
	/* Optional, once per process after the last destroy. */
	void (*unload)(void *shared);

	/* Returns 0 or a negative errno; on failure destroy is still called. */
	int (*init)(void *state, const struct vigil_setup *setup);
	/* Fill out (count starts at 0). Returns 0 or a negative errno. */
	int (*process)(void *state, const struct vigil_frame *frame,
		       struct vigil_observations *out);
	/* Free what init and process allocated; state itself is the host's.
	 * Optional. */
	void (*destroy)(void *state);
	/* Fields of later versions are appended here. */
};

/* The size of the ABI 2 descriptor: a smaller struct_size is refused. */
#define VIGIL_PLUGIN_SIZE_V2 \
	(offsetof(struct vigil_plugin, destroy) + sizeof(void (*)(void *)))

#endif
