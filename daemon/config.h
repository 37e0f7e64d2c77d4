/* vigil configuration: load and check a libconfig file.
 *
 * config_load() reads the file, checks every key against the tables in
 * config.c and fills struct vigil_config. Each problem is printed once as
 * "FILE:LINE: message" to the given stream; the return value is the number
 * of problems (0: the configuration is valid and fully filled in). */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "topic.h"

/* Longest camera id, district, grid, zone name and instance, in bytes.
 * They are topic segments and parts of event ids and file names, and are
 * copied into fixed fields (status page, clip index, crash records): the
 * checker refuses longer ones so that no later stage has to cut or drop
 * them. An event id "<id>-<type>-<zone>-<ms>" then stays within 96 bytes
 * for types of up to 15 characters. config.c asserts the sizes. The token
 * rules are the topic module's. */
#define VIGIL_TOKEN_MAX TOPIC_TOKEN_MAX

/* Longest camera name, in bytes (it is copied into every alert). */
#define VIGIL_NAME_MAX 200

/* Clip recording (group "recording", globally and per camera). Per-camera
 * values of -1 mean "not set here": they take the global value. */
struct vigil_recording {
	int pre_seconds;    /* pre-roll before the trigger */
	int post_seconds;   /* after the event's end */
	int max_seconds;    /* a clip is split after this long */
	int retention_days; /* global only: 0 keeps clips forever */
	char *quota;        /* global only: "20G", "500M", "80%" or bytes */
	int64_t quota_bytes;  /* parsed quota: bytes, or 0 */
	int quota_percent;    /* parsed quota: percent of the filesystem, or 0 */
};

#include "schedule.h"
#include "vigil_plugin.h"

/* A zone (or mask) of a camera: the polygon the plugins see, plus what
 * only the event engine needs. */
struct vigil_zone_conf {
	struct vigil_zone z;      /* z.name points at name */
	char *name;
	struct schedule schedule; /* count 0: always armed */
	char *severity;           /* NULL: the camera's */
	double dwell;             /* seconds one object may stay before
				   * "loitering"; 0: no loitering alert */
	int dwell_line;           /* where dwell is set */
	int line;
};

/* A tripwire (camera key "lines"): a segment of the picture and the
 * crossings to alert on. Side a is on the left of the segment going from
 * its first point to its second, as seen on the picture. */
enum vigil_line_dir { LINE_A_B = 1, LINE_B_A = 2, LINE_BOTH = 3 };

/* Activity baseline (camera group "activity"; activity.h). */
struct vigil_activity_conf {
	int enabled;              /* the group is there */
	int learn_days;           /* of data an hour of the week needs (14) */
	int tail;                 /* improbable: Poisson tail below 10^-tail (4) */
	int consecutive;          /* improbable intervals in a row (2) */
	int stream_clock;         /* time from the stream's timestamps */
	int line;
};

struct vigil_line_conf {
	char *name;               /* a token: part of the count topic */
	float points[4];          /* x1, y1, x2, y2, normalised */
	int direction;            /* enum vigil_line_dir: which crossings alert */
	int line;
};

/* What a detector option's setting is in the file. */
enum vigil_detector_value { DETECT_NUMBER, DETECT_BOOL, DETECT_STRING };

/* One configured option of a detector plugin. */
struct vigil_detector_option {
	char *key;
	enum vigil_detector_value kind;
	double value;     /* DETECT_NUMBER; DETECT_BOOL: 0 or 1 */
	char *str;        /* DETECT_STRING */
	int line;
};

/* A detector a camera runs: plugin name and the options set for it. */
struct vigil_detector {
	char *name;
	int line;
	struct vigil_detector_option *opts;
	int nopts;
};

struct vigil_camera {
	char *id;         /* unique, [A-Za-z0-9_-]{1,VIGIL_TOKEN_MAX}, in topics */
	char *name;       /* human name, defaults to id */
	char *district;   /* topic segment */
	char *grid;       /* topic segment */
	char *site;       /* priority class: key, public or normal */
	char *url;        /* one URL for both detection and recording */
	char *detect_url; /* analysis stream; defaults to url */
	char *record_url; /* clip stream; defaults to url */
	struct vigil_recording recording; /* pre/post/max, filled from global */
	int line;         /* where the camera is defined */
	struct vigil_zone_conf *zones;   /* none: the whole picture */
	int nzones;
	struct vigil_zone_conf *masks;   /* never watched */
	int nmasks;
	struct vigil_detector *detectors; /* default: motion and tamper */
	int ndetectors;
	struct vigil_line_conf *lines;    /* tripwires */
	int nlines;
	int count_interval;   /* seconds between line counts; 0: default 60 */
	struct vigil_activity_conf activity;

	/* Ingest and analysis options; unset (-1 / NULL) while loading, then
	 * taken from the config's defaults group, then from built-ins. */
	char *transport;      /* "tcp" (default) or "udp" */
	int open_timeout;     /* seconds to connect and probe, default 10 */
	int read_timeout;     /* seconds without data before "down", default 5 */
	int loop;             /* file input: start again at the end, default 0 */
	int pace;             /* file input: read at the file's rate (default 1);
			       * 0: as fast as it decodes, time from the file
			       * (camera only: not in defaults) */
	char *analysis_mode;  /* "full" (default), "fps", "keyframes" or "gated" */
	int analysis_fps;     /* frames analysed per second in "fps" mode, default 5 */
	int analysis_width;   /* analysis width in pixels, default 320 */
	int analysis_hold;    /* "gated": quiet seconds before decoding stops, default 5 */
	int analysis_skip_repeats;  /* "full": leave repeated pictures out, default 1 */
	int max_width;        /* larger pictures are refused, default 4096 */
	int max_height;       /* idem, default 2304 */

	/* Not configuration: the worker sets them for a camera it runs under
	 * a cluster claim (ZooKeeper mode); alerts carry them. */
	char owner_node[VIGIL_TOKEN_MAX + 1];
	long long owner_epoch;    /* the claim's czxid, 0 when unclaimed */
};

/* An extra publish endpoint (alerts.endpoints): its own socket, its own
 * allowed clients (names of .pub files in the clients directory) and the
 * topic prefixes those clients may receive (all when none). */
struct vigil_endpoint {
	char *bind;
	char **clients;
	size_t nclients;
	char **topics;
	size_t ntopics;
	int line;
};
enum vigil_analysis_mode { ANALYSIS_FULL, ANALYSIS_FPS, ANALYSIS_KEYFRAMES, ANALYSIS_GATED };

struct vigil_config {
	char *file;       /* path the config was read from */
	char *instance;   /* names this daemon in alerts */
	int workers;      /* worker processes; 0 means one per core */
	char *data_dir;   /* journal, clips, runtime sockets */
	char *plugin_dir; /* detector plugins: <plugin_dir>/<name>.so */
	char *publish;    /* alerts.publish: ZeroMQ PUB endpoint */
	char *replay;     /* alerts.replay: ROUTER endpoint, or NULL */
	int insecure;     /* alerts.insecure: plain TCP explicitly allowed */
	int journal_days; /* alerts.journal_days: retention of the journal */
	int thumbnail;        /* alerts.thumbnail: JPEG of the triggering frame */
	int thumbnail_width;  /* alerts.thumbnail_width, pixels */
	char *curve_secret_key_file;  /* alerts.curve.secret_key_file */
	char *curve_clients_dir;      /* alerts.curve.clients_dir */
	struct vigil_endpoint *endpoints;
	size_t nendpoints;
	int stats_interval;   /* seconds between per-camera stats lines */
	int metrics_port; /* status.metrics_port: loopback HTTP /metrics, 0 off */
	int http_port;        /* http.port: the HTTP API (docs/http.md), 0 off */
	char *http_bind;      /* http.bind: an IPv4 or IPv6 address, default 127.0.0.1 */
	char *http_token_file; /* http.token_file: default DATA_DIR/http.token */
	int node;         /* cluster.node: this server's index, 0..nodes-1 */
	int nodes;        /* cluster.nodes: servers sharing the inventory */
	/* ZooKeeper mode (cluster.zookeeper set): the cameras follow the
	 * live members instead of node/nodes, see cluster.h. */
	char *zk_hosts;       /* cluster.zookeeper: "host:port,host:port" */
	char *zk_node;        /* cluster.node: this server's name */
	char *zk_cluster;     /* cluster.name: the cluster's folder, "default" */
	int zk_session_timeout;  /* cluster.session_timeout, seconds */
	int zk_rejoin_delay;     /* cluster.rejoin_delay, seconds */
	int zk_batch;            /* cluster.batch: cameras handed over per second */
	int zk_capacity;         /* cluster.capacity: advertised, 0 unknown */
	struct vigil_camera defaults;  /* the defaults group */
	struct vigil_recording recording;
	struct vigil_camera *cameras;
	size_t ncameras;
};

/* Returns the number of errors printed to err (0 on success). The config
 * must be released with config_free() whatever the result. */
int config_load(const char *path, struct vigil_config *cfg, FILE *err);
/* The same, and when it has no error also the file's text as it was read
 * and checked (malloc'd, *text NULL otherwise): the supervisor hands that
 * text to its children, which never read the file themselves. */
int config_load_text(const char *path, struct vigil_config *cfg, FILE *err, char **text,
		     size_t *len);
/* A configuration file larger than this is refused. */
#define CONFIG_MAX_BYTES (64 * 1024 * 1024)
void config_free(struct vigil_config *cfg);

/* The analysis mode of a camera as an enum. */
enum vigil_analysis_mode config_analysis_mode(const struct vigil_camera *cam);

/* Severity of alerts from a camera, derived from its site class. */
const char *config_site_severity(const char *site);

/* Rank of a severity name (low 0 .. critical 3), -1 when unknown. */
int config_severity_rank(const char *severity);
const char *config_severity_name(int rank);

/* Number of worker processes to run for this config (resolves 0). */
int config_worker_count(const struct vigil_config *cfg);

/* Whether the cluster is coordinated through ZooKeeper. */
static inline int config_zk_mode(const struct vigil_config *cfg)
{
	return cfg->zk_hosts != NULL;
}

/* Whether camera i belongs to this server's shard of the inventory (in
 * ZooKeeper mode every camera may: the claims decide, see cluster.h). */
int config_camera_local(const struct vigil_config *cfg, size_t i);

/* Number of cameras in this server's shard. */
size_t config_local_count(const struct vigil_config *cfg);

/* Whether the relay runs the same under both configs: everything under
 * alerts it uses, the instance name and the data directory. */
int config_relay_equal(const struct vigil_config *a, const struct vigil_config *b);

/* Whether two camera definitions are the same in every field. */
int config_camera_equal(const struct vigil_camera *a, const struct vigil_camera *b);

/* Deep copy of a camera definition (NULL when out of memory) and its
 * destructor (NULL-safe). */
struct vigil_camera *config_camera_dup(const struct vigil_camera *c);
void config_camera_free(struct vigil_camera *c);

/* Parse a quota: a byte count with an optional K/M/G/T suffix (powers of
 * 1024), or a percentage "N%" of the filesystem. Returns 0 or -EINVAL. */
int config_parse_quota(const char *s, int64_t *bytes, int *percent);

#endif
