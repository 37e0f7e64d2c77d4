/* vigil-console: the monitoring room's web console.
 *
 * One process: an ingest thread follows every configured vigil node over
 * ZeroMQ (ingest.c) and stores each alert once in SQLite (store.c); new
 * alerts and acknowledgements go to the event hub (hub.c), from which
 * every browser's event stream reads; libmicrohttpd serves the pages,
 * the JSON API and the media proxy (http.c, api.c, media.c, static.c).
 * Users and their districts live in the same database (userdb.c). */
#ifndef VIGIL_CONSOLE_H
#define VIGIL_CONSOLE_H

#include <json-c/json.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "userdb.h"

#define CONSOLE_MAX_NODES     32

enum site_class { SITE_KEY, SITE_PUBLIC, SITE_NORMAL, SITE_COUNT };

struct console_node {
	char name[CONSOLE_NAME_MAX];
	char *alerts, *replay;          /* ZeroMQ endpoints */
	char *server_key;               /* file with the server's public key */
	char *http;                     /* http://HOST:PORT of vigild's HTTP API */
	char *token_file;               /* bearer token for http */
	char host[128];
	int port;
};

/* cluster = { ... }: the nodes are the live members of a vigil cluster. */
struct console_cluster {
	char *zookeeper;                /* "host:port,...", NULL: no cluster */
	char *name;                     /* cluster.name of the nodes */
	char *server_key, *token_file;  /* shared by the members' nodes */
};

struct console_config {
	char *bind;
	int port;
	char *tls_cert, *tls_key;
	char *db;
	char *web_root;
	char *client_key;               /* CURVE key file (vigilctl keygen), or NULL */
	int targets[SITE_COUNT];        /* response targets in seconds */
	/* Configured nodes first, then members found in ZooKeeper. Only the
	 * ingest's member lookup adds nodes, and only at the end: it fills
	 * nodes[nnodes] and then increments nnodes, so a reader that loads
	 * nnodes once may use nodes[0 .. nnodes-1] without a lock. Nodes are
	 * never changed or removed while the console runs. */
	struct console_node nodes[CONSOLE_MAX_NODES];
	_Atomic int nnodes;
	struct console_cluster cluster;
	int max_sse;                    /* event streams at once */
	int max_requests;               /* other requests at once */
	int request_timeout;            /* seconds to send a whole request */
};

/* cconf.c */
int cconf_load(struct console_config *c, const char *path);
void cconf_free(struct console_config *c);
/* Read a node's token into buf: 0 or negative errno. */
int cconf_token(const struct console_node *n, char *buf, size_t size);
const char *site_name(enum site_class s);
int site_parse(const char *s);
/* Add a member of the cluster as a node (endpoints copied, the
 * cluster's server_key and token_file): 0, -EEXIST (a node of that
 * name), -ENOSPC, -EINVAL (bad name or http). Only one thread may add. */
int cconf_add_member(struct console_config *c, const char *name, const char *alerts,
		     const char *replay, const char *http);

/* util.c */
int64_t now_us(void);
double mono_s(void);
/* "2026-12-05T01:02:03.456Z"; buf of at least 32 bytes. */
char *iso_time(int64_t us, char *buf, size_t n);
/* ISO 8601 (UTC, optional fraction and Z) or microseconds; -1 if neither. */
int64_t parse_time(const char *s);
/* A relative path of plain segments: letters, digits, '_', '-', '.',
 * none empty or starting with '.' (so no "..", no hidden files), at most
 * max bytes. */
int path_ok(const char *p, size_t max);
const char *jstr(json_object *o, const char *key);
int64_t jint(json_object *o, const char *key, int64_t def);


/* store.c: alerts, events and acknowledgements. Each thread opens its
 * own store (one SQLite connection). */
struct store {
	sqlite3 *db;
	const struct console_config *cfg;
};

int store_open(struct store *s, const char *path, const struct console_config *cfg);
/* Open a database store_open() has made: no schema work (a connection
 * of each HTTP thread). */
int store_attach(struct store *s, const char *path, const struct console_config *cfg);
void store_close(struct store *s);
/* Store one alert of a node; returns 1 if new, 0 if already stored, <0
 * on error. On 1, *view is the alert as the API shows it (caller frees)
 * and district is set. */
int store_alert(struct store *s, const char *node, json_object *a, const char *payload,
		char **view, char *district, size_t dn);
/* Newest stored (epoch, seq) per instance: for resuming. */
struct tail_cursor;
int store_positions(struct store *s, struct tail_cursor **out, int *n);

struct alert_query {
	const char *district, *grid, *severity, *type, *camera;
	int unacked;
	int64_t from, to;       /* -1: open */
	int limit;
};
/* {"alerts":[...]} for the user; NULL on error. */
json_object *store_alerts(struct store *s, const struct user *u, const struct alert_query *q);
/* Acknowledge an event: 0 and *ack set, -ENOENT (unknown or not
 * visible), -EEXIST (acknowledged already: *ack the first one). */
int store_ack(struct store *s, const struct user *u, const char *key, const char *note,
	      json_object **ack, char *district, size_t dn);
json_object *store_stats(struct store *s, const struct user *u);
/* Last alert of a camera of a node that the user may see, or NULL. */
json_object *store_last_alert(struct store *s, const struct user *u, const char *node,
			      const char *camera);
/* 1 when some alert of node visible to u names path as clip or
 * snapshot. */
int store_media_visible(struct store *s, const struct user *u, const char *node,
			const char *path);
/* The district of the newest alert of a camera, into buf; 0 or -ENOENT. */
int store_camera_district(struct store *s, const char *node, const char *camera, char *buf,
			  size_t n);

/* hub.c: recent events for the streams. */
struct hub;
struct hub *hub_new(int capacity);
void hub_free(struct hub *h);
void hub_push(struct hub *h, const char *event, const char *district, const char *data);
void hub_stop(struct hub *h);
/* Wake every waiting reader now (hub_read returns 0), e.g. so that
 * streams notice a session that ended. */
void hub_kick(struct hub *h);
/* Write into buf (size n) the events after *pos that u may see, waiting
 * up to wait_ms for one; returns bytes written, 0 on timeout, -1 when the
 * hub stops or the reader fell out of the ring. */
long hub_read(struct hub *h, const struct user *u, uint64_t *pos, char *buf, size_t n,
	      int wait_ms);
uint64_t hub_head(struct hub *h);
uint64_t hub_boot(struct hub *h);

/* ingest.c */
struct ingest;
/* Follows the configured nodes, and with cluster.zookeeper the members
 * of the cluster (looked up again every few seconds; members.c). */
struct ingest *ingest_start(struct console_config *c, struct hub *h);
void ingest_stop(struct ingest *in);
/* Start following nodes[i] (ingest.c); 0 or -1. */
int ingest_follow(struct ingest *in, int i);

/* members.c: the cluster's members as nodes. */
struct members;
struct members *members_start(struct console_config *c, struct ingest *in);
void members_stop(struct members *m);

#endif
