/* vigil configuration loader and checker.
 *
 * The accepted keys are data: one table per group, each row naming a key,
 * its type, where it is stored and its limits; a generic walker
 * (config_walk.c) applies a table to a libconfig group and reports every
 * problem with file and line. This file holds the tables, the checks of
 * cameras and alert endpoints that span keys (duplicate camera ids, URL
 * schemes, CURVE), the top-level checks and the loading of the file.
 * Detection keys are config_detect.c's, option values config_options.c's,
 * and freeing, copying and comparing the result config_data.c's. */
#include "config.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "clipdb.h"
#include "config_detect.h"
#include "config_int.h"
#include "event.h"
#include "topic.h"

/* Every stage that keeps a token in a fixed field holds the longest one
 * the checker accepts: none of them cuts an id (the supervisor's and
 * the status page's fields are checked in supervisor.c). */
#define CFG_HOLDS(field) (sizeof(field) > VIGIL_TOKEN_MAX)
_Static_assert(CFG_HOLDS(((struct clipdb_row *)0)->camera), "clip index camera");
/* "<id>-<type>-<zone>-<13 digits>" with a type of 15 characters. */
_Static_assert(sizeof(((struct event_state *)0)->id) > 2 * VIGIL_TOKEN_MAX + 15 + 3 + 13,
	       "event id");

static const char *const cfg_sites[] = { "key", "public", "normal", NULL };
static const char *const cfg_site_severities[] = { "critical", "high", "medium" };

static void cfg_cameras(struct cfg_ctx *ctx, const config_setting_t *list,
			void *base, const char *where);
static void cfg_endpoints(struct cfg_ctx *ctx, const config_setting_t *list,
			  void *base, const char *where);

#define CAM(f) offsetof(struct vigil_camera, f)
#define TOP(f) offsetof(struct vigil_config, f)

/* Per-camera recording overrides; retention and quota are global. */
static const struct cfg_key cfg_camera_recording_keys[] = {
	{ "pre_seconds", CFG_INT, CAM(recording.pre_seconds), 0, 0, 60, NULL, NULL },
	{ "post_seconds", CFG_INT, CAM(recording.post_seconds), 0, 0, 600, NULL, NULL },
	{ "max_seconds", CFG_INT, CAM(recording.max_seconds), 0, 10, 3600, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key cfg_analysis_keys[] = {
	{ "mode", CFG_STR, CAM(analysis_mode), 0, 0, 0, NULL, NULL },
	{ "fps", CFG_INT, CAM(analysis_fps), 0, 1, 100, NULL, NULL },
	{ "width", CFG_INT, CAM(analysis_width), 0, 64, 4096, NULL, NULL },
	{ "hold", CFG_INT, CAM(analysis_hold), 0, 1, 600, NULL, NULL },
	{ "skip_repeats", CFG_BOOL, CAM(analysis_skip_repeats), 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

/* Options a camera may set and the defaults group may set for all. */
static const struct cfg_key cfg_option_keys[] = {
	{ "transport", CFG_STR, CAM(transport), 0, 0, 0, NULL, NULL },
	{ "open_timeout", CFG_INT, CAM(open_timeout), 0, 1, 300, NULL, NULL },
	{ "read_timeout", CFG_INT, CAM(read_timeout), 0, 1, 300, NULL, NULL },
	{ "loop", CFG_BOOL, CAM(loop), 0, 0, 0, NULL, NULL },
	{ "max_width", CFG_INT, CAM(max_width), 0, 16, 16384, NULL, NULL },
	{ "max_height", CFG_INT, CAM(max_height), 0, 16, 16384, NULL, NULL },
	{ "analysis", CFG_GROUP, 0, 0, 0, 0, cfg_analysis_keys, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key cfg_camera_keys[] = {
	{ "id", CFG_STR, CAM(id), 1, 0, 0, NULL, NULL },
	{ "name", CFG_STR, CAM(name), 0, 0, 0, NULL, NULL },
	{ "district", CFG_STR, CAM(district), 0, 0, 0, NULL, NULL },
	{ "grid", CFG_STR, CAM(grid), 0, 0, 0, NULL, NULL },
	{ "site", CFG_STR, CAM(site), 0, 0, 0, NULL, NULL },
	{ "url", CFG_STR, CAM(url), 0, 0, 0, NULL, NULL },
	{ "detect_url", CFG_STR, CAM(detect_url), 0, 0, 0, NULL, NULL },
	{ "record_url", CFG_STR, CAM(record_url), 0, 0, 0, NULL, NULL },
	{ "zones", CFG_LIST, 0, 0, 0, 0, NULL, cfg_zones },
	{ "masks", CFG_LIST, 0, 0, 0, 0, NULL, cfg_masks },
	{ "detect", CFG_GROUP, 0, 0, 0, 0, NULL, cfg_detect },
	{ "lines", CFG_LIST, 0, 0, 0, 0, NULL, cfg_lines },
	{ "activity", CFG_GROUP, 0, 0, 0, 0, NULL, cfg_activity },
	{ "count_interval", CFG_INT, CAM(count_interval), 0, 1, 86400, NULL, NULL },
	{ "pace", CFG_BOOL, CAM(pace), 0, 0, 0, NULL, NULL },
	{ "recording", CFG_GROUP, 0, 0, 0, 0, cfg_camera_recording_keys, NULL },
	{ "", CFG_INCLUDE, 0, 0, 0, 0, cfg_option_keys, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key cfg_recording_keys[] = {
	{ "pre_seconds", CFG_INT, TOP(recording.pre_seconds), 0, 0, 60, NULL, NULL },
	{ "post_seconds", CFG_INT, TOP(recording.post_seconds), 0, 0, 600, NULL, NULL },
	{ "max_seconds", CFG_INT, TOP(recording.max_seconds), 0, 10, 3600, NULL, NULL },
	{ "retention_days", CFG_INT, TOP(recording.retention_days), 0, 0, 36500, NULL, NULL },
	{ "quota", CFG_STR, TOP(recording.quota), 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key cfg_curve_keys[] = {
	{ "secret_key_file", CFG_STR, TOP(curve_secret_key_file), 1, 0, 0, NULL, NULL },
	{ "clients_dir", CFG_STR, TOP(curve_clients_dir), 1, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key cfg_alerts_keys[] = {
	{ "publish", CFG_STR, TOP(publish), 1, 0, 0, NULL, NULL },
	{ "replay", CFG_STR, TOP(replay), 0, 0, 0, NULL, NULL },
	{ "insecure", CFG_BOOL, TOP(insecure), 0, 0, 0, NULL, NULL },
	{ "journal_days", CFG_INT, TOP(journal_days), 0, 1, 3650, NULL, NULL },
	{ "thumbnail", CFG_BOOL, TOP(thumbnail), 0, 0, 0, NULL, NULL },
	{ "thumbnail_width", CFG_INT, TOP(thumbnail_width), 0, 64, 1280, NULL, NULL },
	{ "curve", CFG_GROUP, 0, 0, 0, 0, cfg_curve_keys, NULL },
	{ "endpoints", CFG_LIST, 0, 0, 0, 0, NULL, cfg_endpoints },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key cfg_status_keys[] = {
	{ "metrics_port", CFG_INT, TOP(metrics_port), 0, 0, 65535, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

/* The HTTP API (docs/http.md); the bind address is checked below. */
static const struct cfg_key cfg_http_keys[] = {
	{ "port", CFG_INT, TOP(http_port), 0, 0, 65535, NULL, NULL },
	{ "bind", CFG_STR, TOP(http_bind), 0, 0, 0, NULL, NULL },
	{ "token_file", CFG_STR, TOP(http_token_file), 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

/* Static split: node is this server's index among nodes. */
static const struct cfg_key cfg_cluster_static_keys[] = {
	{ "node", CFG_INT, TOP(node), 1, 0, 1023, NULL, NULL },
	{ "nodes", CFG_INT, TOP(nodes), 1, 1, 1024, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

/* ZooKeeper mode (the group has zookeeper): node is this server's name. */
static const struct cfg_key cfg_cluster_zk_keys[] = {
	{ "zookeeper", CFG_STR, TOP(zk_hosts), 1, 0, 0, NULL, NULL },
	{ "node", CFG_STR, TOP(zk_node), 1, 0, 0, NULL, NULL },
	{ "name", CFG_STR, TOP(zk_cluster), 0, 0, 0, NULL, NULL },
	{ "session_timeout", CFG_INT, TOP(zk_session_timeout), 0, 2, 60, NULL, NULL },
	{ "rejoin_delay", CFG_INT, TOP(zk_rejoin_delay), 0, 0, 3600, NULL, NULL },
	{ "batch", CFG_INT, TOP(zk_batch), 0, 1, 100000, NULL, NULL },
	{ "capacity", CFG_INT, TOP(zk_capacity), 0, 0, 100000, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

/* "host:port[,host:port...]", each port 1..65535, no chroot suffix (the
 * daemon keeps its nodes under /vigil/<cluster.name>). */
static int cfg_zk_hosts_ok(const char *s)
{
	const char *p = s;

	if (!*s)
		return 0;
	while (*p) {
		const char *end = strchr(p, ','), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char port[8];
		char *tail;

		colon = NULL;
		for (const char *c = p; c < p + len; c++)
			if (*c == ':')
				colon = c;
		if (!colon || colon == p || (size_t)(p + len - colon - 1) >= sizeof(port) ||
		    p + len == colon + 1)
			return 0;
		for (const char *h = p; h < colon; h++)
			if (*h == '/' || *h == ' ')
				return 0;
		memcpy(port, colon + 1, (size_t)(p + len - colon - 1));
		port[p + len - colon - 1] = '\0';
		long v = strtol(port, &tail, 10);
		if (*tail || v < 1 || v > 65535)
			return 0;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return 0;
	}
	return 1;
}

/* The cluster group: a static split (node = index; nodes = count) unless
 * it names ZooKeeper, where node is a name and the rest is optional. */
static void cfg_cluster(struct cfg_ctx *ctx, const config_setting_t *s, void *base,
			const char *where)
{
	struct vigil_config *cfg = base;
	const config_setting_t *node = config_setting_get_member(s, "node");

	if (!config_setting_get_member(s, "zookeeper")) {
		if (node && config_setting_type(node) == CONFIG_TYPE_STRING) {
			cfg_error(ctx, node, "%scluster.node is a name only with cluster.zookeeper; "
				  "for a static split it is this server's index (0..nodes-1)", where);
			return;
		}
		cfg_walk(ctx, s, cfg_cluster_static_keys, base, where, "cluster.");
		return;
	}
	if (node && config_setting_type(node) != CONFIG_TYPE_STRING) {
		cfg_error(ctx, node, "%scluster.node must be this server's name (a string) "
			  "with cluster.zookeeper", where);
		return;
	}
	cfg_walk(ctx, s, cfg_cluster_zk_keys, base, where, "cluster.");
	if (cfg->zk_hosts && !cfg_zk_hosts_ok(cfg->zk_hosts))
		cfg_error(ctx, config_setting_get_member(s, "zookeeper"),
			  "%scluster.zookeeper '%s' must be host:port[,host:port...]", where,
			  cfg->zk_hosts);
	if (cfg->zk_node && !topic_token_ok(cfg->zk_node))
		cfg_error(ctx, node, "%scluster.node '%s' must be 1 to %d letters, digits, '_' "
			  "or '-'", where, cfg->zk_node, VIGIL_TOKEN_MAX);
	if (cfg->zk_cluster && !topic_token_ok(cfg->zk_cluster))
		cfg_error(ctx, config_setting_get_member(s, "name"),
			  "%scluster.name '%s' must be 1 to %d letters, digits, '_' or '-'", where,
			  cfg->zk_cluster, VIGIL_TOKEN_MAX);
}

static const struct cfg_key cfg_top_keys[] = {
	{ "instance", CFG_STR, TOP(instance), 0, 0, 0, NULL, NULL },
	{ "workers", CFG_INT, TOP(workers), 0, 0, 256, NULL, NULL },
	{ "data_dir", CFG_STR, TOP(data_dir), 0, 0, 0, NULL, NULL },
	{ "plugin_dir", CFG_STR, TOP(plugin_dir), 0, 0, 0, NULL, NULL },
	{ "stats_interval", CFG_INT, TOP(stats_interval), 0, 1, 86400, NULL, NULL },
	{ "defaults", CFG_GROUP, TOP(defaults), 0, 0, 0, cfg_option_keys, NULL },
	{ "alerts", CFG_GROUP, 0, 1, 0, 0, cfg_alerts_keys, NULL },
	{ "recording", CFG_GROUP, 0, 0, 0, 0, cfg_recording_keys, NULL },
	{ "status", CFG_GROUP, 0, 0, 0, 0, cfg_status_keys, NULL },
	{ "http", CFG_GROUP, 0, 0, 0, 0, cfg_http_keys, NULL },
	{ "cluster", CFG_GROUP, 0, 0, 0, 0, NULL, cfg_cluster },
	{ "cameras", CFG_LIST, 0, 1, 0, 0, NULL, cfg_cameras },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

/* A token key of a camera (id, district, grid): reported at its line. */
static void cfg_check_token(struct cfg_ctx *ctx, const config_setting_t *cam,
			    const char *key, const char *v, const char *where)
{
	const config_setting_t *s = config_setting_get_member(cam, key);

	if (!v || topic_token_ok(v))
		return;
	if (!topic_token_chars(v))
		cfg_error(ctx, s ? s : cam, "%s%s may only contain letters, digits, '_' and '-'",
			  where, key);
	else
		cfg_error(ctx, s ? s : cam, "%s%s is %zu characters long, at most %d are allowed "
			  "(it names topics and files)", where, key, strlen(v), VIGIL_TOKEN_MAX);
}

/* Accepted sources: rtsp://, rtsps://, file:// and plain paths. */
static int cfg_url_ok(const char *url)
{
	const char *sep = strstr(url, "://");

	if (!sep)
		return url[0] != '\0';
	return strncmp(url, "rtsp://", 7) == 0 || strncmp(url, "rtsps://", 8) == 0 ||
	       strncmp(url, "file://", 7) == 0;
}

static int cfg_site_index(const char *site)
{
	for (int i = 0; cfg_sites[i]; i++)
		if (strcmp(cfg_sites[i], site) == 0)
			return i;
	return -1;
}

static char *cfg_strdup_default(char *v, const char *def)
{
	return v ? v : strdup(def);
}

/* Checks of one camera that span keys; fills defaults. */
static void cfg_camera_finish(struct cfg_ctx *ctx, const config_setting_t *s,
			      struct vigil_camera *cam, const char *where)
{
	static const char *const url_keys[] = { "url", "detect_url", "record_url" };
	char *urls[] = { cam->url, cam->detect_url, cam->record_url };

	cfg_check_token(ctx, s, "id", cam->id, where);
	cfg_check_token(ctx, s, "district", cam->district, where);
	cfg_check_token(ctx, s, "grid", cam->grid, where);
	if (cam->name && strlen(cam->name) > VIGIL_NAME_MAX)
		cfg_error(ctx, config_setting_get_member(s, "name"),
			  "%sname is %zu bytes long, at most %d are allowed", where,
			  strlen(cam->name), VIGIL_NAME_MAX);
	if (cam->site && cfg_site_index(cam->site) < 0)
		cfg_error(ctx, s, "%ssite must be one of key, public, normal, not '%s'",
			  where, cam->site);
	for (int i = 0; i < 3; i++) {
		char red[512];
		if (!urls[i] || cfg_url_ok(urls[i]))
			continue;
		log_redact_url(urls[i], red, sizeof(red));
		cfg_error(ctx, config_setting_get_member(s, url_keys[i]),
			  "%s%s '%s' has an unsupported scheme (use rtsp://, rtsps://, file:// or a path)",
			  where, url_keys[i], red);
	}
	if (!cam->url && !cam->detect_url)
		cfg_error(ctx, s, "%smissing url (set url, or detect_url)", where);
	cfg_options_check(ctx, s, cam, where);

	if (!cam->detect_url && cam->url)
		cam->detect_url = strdup(cam->url);
	if (!cam->record_url && (cam->url || cam->detect_url))
		cam->record_url = strdup(cam->url ? cam->url : cam->detect_url);
	cam->district = cfg_strdup_default(cam->district, "none");
	cam->grid = cfg_strdup_default(cam->grid, "none");
	cam->site = cfg_strdup_default(cam->site, "normal");
	cam->name = cfg_strdup_default(cam->name, cam->id ? cam->id : "");
}

/* pace = false reads a file once, as fast as it decodes, on the file's
 * clock: only for a camera whose one source is a file, and not looping
 * (a loop would decode for ever at full speed with time racing ahead).
 * Checked once loop is known (it may come from defaults). */
static void cfg_check_pace(struct cfg_ctx *ctx, const config_setting_t *s,
			   const struct vigil_camera *cam)
{
	const config_setting_t *p = s ? config_setting_get_member(s, "pace") : NULL;
	const char *url = cam->detect_url;
	char where[160], red[512];

	if (!p || cam->pace)
		return;
	snprintf(where, sizeof(where), "camera '%s': ", cam->id ? cam->id : "?");
	if (url && strstr(url, "://") && strncmp(url, "file://", 7) != 0) {
		log_redact_url(url, red, sizeof(red));
		cfg_error(ctx, p, "%space = false is for a file, not '%s': a live stream "
			  "comes at its own rate", where, red);
	} else if (url && cam->record_url && strcmp(url, cam->record_url) != 0) {
		cfg_error(ctx, p, "%space = false needs one file for detection and "
			  "recording (record_url differs)", where);
	} else if (cam->loop) {
		cfg_error(ctx, p, "%space = false reads the file once; it cannot be "
			  "combined with loop = true", where);
	}
}

static void cfg_cameras(struct cfg_ctx *ctx, const config_setting_t *list,
			void *base, const char *where_unused)
{
	(void)base;
	(void)where_unused;
	struct vigil_config *cfg = ctx->cfg;
	int n = config_setting_length(list);

	cfg->cameras = calloc((size_t)n + 1, sizeof(*cfg->cameras));
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		struct vigil_camera *cam = &cfg->cameras[cfg->ncameras++];
		const char *id = NULL;
		char where[160];

		cam->line = (int)config_setting_source_line(s);
		cfg_options_unset(cam);
		cam->pace = 1;
		cam->recording.pre_seconds = -1;
		cam->recording.post_seconds = -1;
		cam->recording.max_seconds = -1;
		if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
			cfg_error(ctx, s, "cameras: element %d must be a group { ... }", i + 1);
			continue;
		}
		config_setting_lookup_string(s, "id", &id);
		if (id)
			snprintf(where, sizeof(where), "camera '%s': ", id);
		else
			snprintf(where, sizeof(where), "camera #%d: ", i + 1);
		cfg_walk(ctx, s, cfg_camera_keys, cam, where, "");
		cfg_camera_finish(ctx, s, cam, where);
		for (size_t j = 0; cam->id && j + 1 < cfg->ncameras; j++) {
			if (cfg->cameras[j].id && strcmp(cfg->cameras[j].id, cam->id) == 0) {
				cfg_error(ctx, s, "duplicate camera id '%s' (first defined at line %d)",
					  cam->id, cfg->cameras[j].line);
				break;
			}
		}
	}
	if (n == 0)
		cfg_error(ctx, list, "cameras: the list is empty");
}

/* A list of strings, [ "a", "b" ] or ( "a", "b" ); each element checked
 * by ok() (NULL: any). Returns the count stored in *out. */
static size_t cfg_strings(struct cfg_ctx *ctx, const config_setting_t *s, char ***out,
			  const char *what, int (*ok)(const char *), const char *rule)
{
	int n = config_setting_length(s);
	size_t k = 0;

	*out = calloc((size_t)n + 1, sizeof(**out));
	for (int i = 0; i < n && *out; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_get_string(e);
		if (!v) {
			cfg_error(ctx, s, "%s: element %d must be a string", what, i + 1);
			continue;
		}
		if (ok && !ok(v)) {
			cfg_error(ctx, s, "%s: '%s' %s", what, v, rule);
			continue;
		}
		(*out)[k++] = strdup(v);
	}
	return k;
}

/* Topic prefixes of an endpoint: they name alerts or line counts,
 * printable, no spaces. */
static int cfg_topic_ok(const char *t)
{
	if (strncmp(t, "alert.", 6) != 0 && strncmp(t, "count.", 6) != 0)
		return 0;
	for (; *t; t++)
		if (*t <= ' ' || *t > '~')
			return 0;
	return 1;
}

/* alerts.endpoints: ( { bind = "..."; clients = [ ... ]; topics = [ ... ]; } ) */
static void cfg_endpoints(struct cfg_ctx *ctx, const config_setting_t *list,
			  void *base, const char *where)
{
	struct vigil_config *cfg = ctx->cfg;
	int n = config_setting_length(list);

	(void)base;
	(void)where;
	cfg->endpoints = calloc((size_t)n + 1, sizeof(*cfg->endpoints));
	for (int i = 0; i < n && cfg->endpoints; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct vigil_endpoint *ep = &cfg->endpoints[cfg->nendpoints++];
		char what[64];

		ep->line = (int)config_setting_source_line(g);
		snprintf(what, sizeof(what), "alerts.endpoints #%d", i + 1);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			cfg_error(ctx, g, "%s must be a group { ... }", what);
			continue;
		}
		for (int j = 0; j < config_setting_length(g); j++) {
			const config_setting_t *m = config_setting_get_elem(g, (unsigned)j);
			const char *name = config_setting_name(m);
			int t = config_setting_type(m);
			if (strcmp(name, "bind") == 0 && t == CONFIG_TYPE_STRING) {
				free(ep->bind);
				ep->bind = strdup(config_setting_get_string(m));
			} else if ((strcmp(name, "clients") == 0 || strcmp(name, "topics") == 0) &&
				   (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST)) {
				char sub[96];
				snprintf(sub, sizeof(sub), "%s %s", what, name);
				if (name[0] == 'c')
					ep->nclients = cfg_strings(ctx, m, &ep->clients, sub, topic_token_chars,
								   "must name a key file (letters, digits, '_', '-')");
				else
					ep->ntopics = cfg_strings(ctx, m, &ep->topics, sub, cfg_topic_ok,
								  "must start with 'alert.' or 'count.' and have no "
								  "spaces");
			} else if (strcmp(name, "bind") == 0 || strcmp(name, "clients") == 0 ||
				   strcmp(name, "topics") == 0) {
				cfg_error(ctx, m, "%s: %s must be %s", what, name,
					  name[0] == 'b' ? "a string" : "a list of strings [ ... ]");
			} else {
				cfg_error(ctx, m, "%s: unknown key '%s'", what, name);
			}
		}
		if (!ep->bind)
			cfg_error(ctx, g, "%s: missing required key 'bind'", what);
	}
}

static int cfg_endpoint_ok(const char *ep)
{
	return strncmp(ep, "tcp://", 6) == 0 || strncmp(ep, "ipc://", 6) == 0;
}

static int cfg_is_tcp(const char *ep)
{
	return ep && strncmp(ep, "tcp://", 6) == 0;
}

/* TCP endpoints need CURVE unless plain TCP is asked for explicitly;
 * per-endpoint allow-lists need CURVE in any case. */
static void cfg_check_security(struct cfg_ctx *ctx, const config_t *lc)
{
	struct vigil_config *cfg = ctx->cfg;
	const int curve = cfg->curve_secret_key_file != NULL;
	const char *hint = "configure alerts.curve, or set alerts.insecure = true to allow plain TCP";

	if (!curve && !cfg->insecure) {
		if (cfg_is_tcp(cfg->publish))
			cfg_error(ctx, config_lookup(lc, "alerts.publish"),
				  "alerts.publish '%s' is TCP without CURVE: %s", cfg->publish, hint);
		if (cfg_is_tcp(cfg->replay))
			cfg_error(ctx, config_lookup(lc, "alerts.replay"),
				  "alerts.replay '%s' is TCP without CURVE: %s", cfg->replay, hint);
	}
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		const struct vigil_endpoint *ep = &cfg->endpoints[i];
		const char *file = ctx->path;

		if (!ep->bind)
			continue;
		if (!cfg_endpoint_ok(ep->bind))
			cfg_error_at(ctx, file, ep->line,
				     "alerts.endpoints #%zu: bind '%s' must be a tcp:// or ipc:// endpoint",
				     i + 1, ep->bind);
		else if (!curve && !cfg->insecure && cfg_is_tcp(ep->bind))
			cfg_error_at(ctx, file, ep->line, "alerts.endpoints #%zu: '%s' is TCP without CURVE: %s",
				     i + 1, ep->bind, hint);
		if (!curve && ep->nclients)
			cfg_error_at(ctx, file, ep->line,
				     "alerts.endpoints #%zu: clients need alerts.curve (keys identify them)",
				     i + 1);
		if ((cfg->publish && strcmp(ep->bind, cfg->publish) == 0) ||
		    (cfg->replay && strcmp(ep->bind, cfg->replay) == 0))
			cfg_error_at(ctx, file, ep->line,
				     "alerts.endpoints #%zu: bind '%s' is already used", i + 1, ep->bind);
	}
}

/* The quota must parse; cameras inherit the recording values they do not
 * set themselves. */
static void cfg_check_recording(struct cfg_ctx *ctx, const config_t *lc)
{
	struct vigil_recording *g = &ctx->cfg->recording;

	if (g->quota && config_parse_quota(g->quota, &g->quota_bytes,
					   &g->quota_percent) < 0)
		cfg_error(ctx, config_lookup(lc, "recording.quota"),
			  "recording.quota '%s' must be a size (\"20G\", \"500M\", bytes) "
			  "or a percentage of the filesystem (\"80%%\")", g->quota);
	for (size_t i = 0; i < ctx->cfg->ncameras; i++) {
		struct vigil_recording *r = &ctx->cfg->cameras[i].recording;
		if (r->pre_seconds < 0)
			r->pre_seconds = g->pre_seconds;
		if (r->post_seconds < 0)
			r->post_seconds = g->post_seconds;
		if (r->max_seconds < 0)
			r->max_seconds = g->max_seconds;
		r->retention_days = g->retention_days;
		r->quota_bytes = g->quota_bytes;
		r->quota_percent = g->quota_percent;
	}
}

/* http: a numeric address to bind (no name lookup at start), a port of
 * its own, a token file named by an absolute path. */
static void cfg_check_http(struct cfg_ctx *ctx, const config_t *lc)
{
	struct vigil_config *cfg = ctx->cfg;
	unsigned char addr[sizeof(struct in6_addr)];

	if (cfg->http_bind && inet_pton(AF_INET, cfg->http_bind, addr) != 1 &&
	    inet_pton(AF_INET6, cfg->http_bind, addr) != 1)
		cfg_error(ctx, config_lookup(lc, "http.bind"),
			  "http.bind must be an IPv4 or IPv6 address, not '%s'", cfg->http_bind);
	if (cfg->http_port && cfg->http_port == cfg->metrics_port)
		cfg_error(ctx, config_lookup(lc, "http.port"),
			  "http.port must differ from status.metrics_port (%d)", cfg->metrics_port);
	if (cfg->http_token_file && !cfg->http_token_file[0]) {
		free(cfg->http_token_file);
		cfg->http_token_file = NULL;
	}
	if (cfg->http_token_file && cfg->http_token_file[0] != '/')
		cfg_error(ctx, config_lookup(lc, "http.token_file"),
			  "http.token_file must be an absolute path, not '%s' (empty: the default, "
			  "DATA_DIR/http.token)", cfg->http_token_file);
	cfg->http_bind = cfg_strdup_default(cfg->http_bind, "127.0.0.1");
}

static void cfg_check_top(struct cfg_ctx *ctx, const config_t *lc)
{
	struct vigil_config *cfg = ctx->cfg;
	const config_setting_t *pub = config_lookup(lc, "alerts.publish");
	const config_setting_t *rep = config_lookup(lc, "alerts.replay");

	if (cfg->publish && !cfg_endpoint_ok(cfg->publish))
		cfg_error(ctx, pub, "alerts.publish '%s' must be a tcp:// or ipc:// endpoint",
			  cfg->publish);
	if (cfg->replay && !cfg_endpoint_ok(cfg->replay))
		cfg_error(ctx, rep, "alerts.replay '%s' must be a tcp:// or ipc:// endpoint",
			  cfg->replay);
	if (cfg->replay && cfg->publish && strcmp(cfg->replay, cfg->publish) == 0)
		cfg_error(ctx, rep, "alerts.replay must differ from alerts.publish");
	cfg_check_security(ctx, lc);
	if (cfg->instance && !topic_token_chars(cfg->instance))
		cfg_error(ctx, config_lookup(lc, "instance"),
			  "instance may only contain letters, digits, '_' and '-'");
	else if (cfg->instance && !topic_token_ok(cfg->instance))
		cfg_error(ctx, config_lookup(lc, "instance"),
			  "instance is %zu characters long, at most %d are allowed",
			  strlen(cfg->instance), VIGIL_TOKEN_MAX);
	if (cfg->node >= cfg->nodes)
		cfg_error(ctx, config_lookup(lc, "cluster.node"),
			  "cluster.node must be less than cluster.nodes (%d), not %d",
			  cfg->nodes, cfg->node);
	const config_setting_t *defaults = config_lookup(lc, "defaults");
	if (defaults)
		cfg_options_check(ctx, defaults, &cfg->defaults, "defaults: ");
	for (size_t i = 0; i < cfg->ncameras; i++) {
		cfg_options_inherit(&cfg->cameras[i], &cfg->defaults);
		cfg_check_pace(ctx, config_setting_get_elem(config_lookup(lc, "cameras"),
							    (unsigned)i), &cfg->cameras[i]);
	}
	if (cfg->stats_interval <= 0)
		cfg->stats_interval = 60;
	cfg->instance = cfg_strdup_default(cfg->instance, "vigil");
	cfg->data_dir = cfg_strdup_default(cfg->data_dir, "/var/lib/vigil");
	if (config_zk_mode(cfg))
		cfg->zk_cluster = cfg_strdup_default(cfg->zk_cluster, "default");
	cfg_check_recording(ctx, lc);
	cfg_check_http(ctx, lc);
}

/* The whole file, NUL-terminated, at most CONFIG_MAX_BYTES. */
static char *cfg_read_all(const char *path, size_t *len, int *e)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	*e = 0;
	if (!f) {
		*e = errno;
		return NULL;
	}
	for (;;) {
		if (cap - n < 65536) {
			char *b;
			cap = cap ? cap * 2 : 65536;
			if (cap > CONFIG_MAX_BYTES + 65536 || !(b = realloc(buf, cap + 1))) {
				*e = cap > CONFIG_MAX_BYTES + 65536 ? EFBIG : ENOMEM;
				break;
			}
			buf = b;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n > CONFIG_MAX_BYTES) {
			*e = EFBIG;
			break;
		}
		if (r == 0) {
			if (ferror(f))
				*e = EIO;
			break;
		}
	}
	fclose(f);
	if (*e) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* @include would make the children read files of their own: the text
 * handed down must be the whole configuration. */
static void cfg_refuse_include(struct cfg_ctx *ctx, const char *text)
{
	int line = 1;

	for (const char *p = text; *p; line++) {
		const char *q = p + strspn(p, " \t");
		if (strncmp(q, "@include", 8) == 0)
			cfg_error_at(ctx, ctx->path, line, "@include is not supported: the daemon "
				     "hands one checked file to its processes; put everything in it");
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
}

int config_load_text(const char *path, struct vigil_config *cfg, FILE *err, char **text,
		     size_t *textlen)
{
	struct cfg_ctx ctx = { .path = path, .err = err, .cfg = cfg };
	config_t lc;
	size_t len = 0;
	int e;
	char *buf;

	memset(cfg, 0, sizeof(*cfg));
	cfg->file = strdup(path);
	cfg->workers = 1;
	cfg->nodes = 1;
	cfg->zk_session_timeout = 6;
	cfg->zk_rejoin_delay = 30;
	cfg->zk_batch = 32;
	cfg->journal_days = 30;
	cfg->thumbnail_width = 320;
	cfg_options_unset(&cfg->defaults);
	cfg->recording.pre_seconds = 5;
	cfg->recording.post_seconds = 10;
	cfg->recording.max_seconds = 300;
	cfg->recording.retention_days = 30;
	if (text)
		*text = NULL;
	/* Read once: what is checked is exactly what is handed down. */
	buf = cfg_read_all(path, &len, &e);
	if (!buf) {
		cfg_error_at(&ctx, path, 0, "cannot read file: %s", strerror(e));
		return ctx.errors;
	}
	if (strlen(buf) != len)
		cfg_error_at(&ctx, path, 0, "the file contains a NUL byte");
	cfg_refuse_include(&ctx, buf);
	if (ctx.errors) {
		free(buf);
		return ctx.errors;
	}
	config_init(&lc);
	if (config_read_string(&lc, buf) != CONFIG_TRUE) {
		cfg_error_at(&ctx, config_error_file(&lc), config_error_line(&lc),
			     "%s", config_error_text(&lc));
		config_destroy(&lc);
		free(buf);
		return ctx.errors;
	}
	cfg_scan_ints(&ctx, buf);
	cfg_walk(&ctx, config_root_setting(&lc), cfg_top_keys, cfg, "", "");
	cfg_check_top(&ctx, &lc);
	cfg_detect_finish(&ctx, &lc);
	cfg_scan_free(&ctx);
	config_destroy(&lc);
	if (text && !ctx.errors) {
		*text = buf;
		*textlen = len;
	} else {
		free(buf);
	}
	return ctx.errors;
}

int config_load(const char *path, struct vigil_config *cfg, FILE *err)
{
	return config_load_text(path, cfg, err, NULL, NULL);
}

const char *config_site_severity(const char *site)
{
	int i = cfg_site_index(site);

	return i < 0 ? "medium" : cfg_site_severities[i];
}
