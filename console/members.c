/* cluster = { zookeeper = ...; }: the nodes to follow are the live members
 * of a vigil cluster, /vigil/<name>/members/<node> in ZooKeeper, whose
 * data names the publish, replay and http endpoints (daemon/cluster.c).
 * Looked up at start and every few seconds: a new member becomes a node
 * (named after the member) with its own ingest thread. A member that
 * leaves keeps its node and thread, so its alerts stay and it is followed
 * again when it returns (ZeroMQ reconnects by itself). A member that
 * cannot be followed (a wildcard endpoint, a bad name) is logged once and
 * skipped. */
#include "console.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#define MEMBERS_INTERVAL_MS 2000
#define MEMBERS_SKIPPED_MAX 64

struct members {
	struct console_config *cfg;
	struct ingest *in;
	zhandle_t *zh;
	char path[300];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop, full_logged;
	int nconfigured;                        /* nodes of the configuration */
	char *skipped[MEMBERS_SKIPPED_MAX];     /* "name data" logged already */
	int nskipped;
};

/* 1 the first time a member is skipped for this data; 0 after. */
static int members_first_skip(struct members *m, const char *name, const char *data)
{
	char key[4200];

	snprintf(key, sizeof(key), "%s %s", name, data);
	for (int i = 0; i < m->nskipped; i++)
		if (strcmp(m->skipped[i], key) == 0)
			return 0;
	if (m->nskipped < MEMBERS_SKIPPED_MAX) {
		m->skipped[m->nskipped] = strdup(key);
		if (m->skipped[m->nskipped])
			m->nskipped++;
	}
	return 1;
}

/* An address subscribers cannot connect to: a bind to every interface. */
static int members_wildcard(const char *ep)
{
	return ep && (strstr(ep, "://*:") || strstr(ep, "0.0.0.0") || strstr(ep, "[::]") ||
		      strstr(ep, "://::"));
}

static const char *members_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

/* 1 + the index of the node of that name, 0 when there is none. */
static int members_known(const struct console_config *c, const char *name)
{
	int n = c->nnodes;

	for (int i = 0; i < n; i++)
		if (strcmp(c->nodes[i].name, name) == 0)
			return i + 1;
	return 0;
}

static void members_add(struct members *m, const char *name, const char *data)
{
	json_object *o = json_tokener_parse(data);
	const char *pub = o ? members_str(o, "publish") : NULL;
	const char *rep = o ? members_str(o, "replay") : NULL;
	const char *http = o ? members_str(o, "http") : NULL;
	const char *why = NULL;
	int r;

	if (!pub)
		why = "no publish endpoint";
	else if (members_wildcard(pub) || members_wildcard(rep) || members_wildcard(http))
		why = "its endpoints are wildcard binds (bind alerts.publish, alerts.replay and "
		      "http.bind to a reachable address)";
	if (!why) {
		r = cconf_add_member(m->cfg, name, pub, rep, http);
		if (r == 0) {
			fprintf(stderr, "vigil-console: member %s of cluster %s joined\n", name,
				m->cfg->cluster.name);
			ingest_follow(m->in, m->cfg->nnodes - 1);
		} else if (r == -ENOSPC) {
			if (!m->full_logged)
				fprintf(stderr, "vigil-console: member %s: not followed, already %d "
					"nodes\n", name, CONSOLE_MAX_NODES);
			m->full_logged = 1;
		} else {
			why = "bad member name or http endpoint";
		}
	}
	if (why && members_first_skip(m, name, data))
		fprintf(stderr, "vigil-console: member %s of cluster %s skipped: %s\n", name,
			m->cfg->cluster.name, why);
	json_object_put(o);
}

static void members_lookup(struct members *m)
{
	struct String_vector sv = { 0 };
	char child[600], buf[4096];

	/* An expired session is not renewed by the client: start a new one
	 * (after ZooKeeper was away longer than the session timeout). */
	if (zoo_state(m->zh) == ZOO_EXPIRED_SESSION_STATE) {
		zhandle_t *zh = zookeeper_init(m->cfg->cluster.zookeeper, NULL, 10000, NULL, NULL,
					       0);
		if (!zh)
			return;
		zookeeper_close(m->zh);
		m->zh = zh;
		fprintf(stderr, "vigil-console: cluster %s: ZooKeeper session expired, new "
			"session\n", m->cfg->cluster.name);
		return;
	}
	if (zoo_state(m->zh) != ZOO_CONNECTED_STATE ||
	    zoo_get_children(m->zh, m->path, 0, &sv) != ZOK)
		return;
	for (int i = 0; i < sv.count; i++) {
		int len = sizeof(buf) - 1;

		int k = members_known(m->cfg, sv.data[i]);

		if (k > m->nconfigured)
			continue;       /* followed already */
		if (k > 0) {
			if (members_first_skip(m, sv.data[i], ""))
				fprintf(stderr, "vigil-console: member %s of cluster %s skipped: a "
					"configured node has that name\n", sv.data[i],
					m->cfg->cluster.name);
			continue;
		}
		snprintf(child, sizeof(child), "%s/%s", m->path, sv.data[i]);
		if (zoo_get(m->zh, child, 0, buf, &len, NULL) != ZOK || len <= 0)
			continue;
		buf[len] = '\0';
		members_add(m, sv.data[i], buf);
	}
	deallocate_String_vector(&sv);
}

static void *members_run(void *arg)
{
	struct members *m = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct timespec ts;

		pthread_mutex_unlock(&m->lock);
		members_lookup(m);
		pthread_mutex_lock(&m->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += MEMBERS_INTERVAL_MS / 1000;
		while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

struct members *members_start(struct console_config *c, struct ingest *in)
{
	struct members *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cfg = c;
	m->in = in;
	m->nconfigured = c->nnodes;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	snprintf(m->path, sizeof(m->path), "/vigil/%s/members", c->cluster.name);
	zoo_set_debug_level(0);
	m->zh = zookeeper_init(c->cluster.zookeeper, NULL, 10000, NULL, NULL, 0);
	if (!m->zh) {
		fprintf(stderr, "vigil-console: cluster %s: cannot use ZooKeeper %s: %s\n",
			c->cluster.name, c->cluster.zookeeper, strerror(errno));
		free(m);
		return NULL;
	}
	/* Up to 5 s for the first contact, so that the members are followed
	 * from the start; after that the lookups go on as the client
	 * reconnects. */
	for (int i = 0; i < 100 && zoo_state(m->zh) != ZOO_CONNECTED_STATE; i++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	if (zoo_state(m->zh) != ZOO_CONNECTED_STATE)
		fprintf(stderr, "vigil-console: cluster %s: ZooKeeper %s not reachable yet, still "
			"trying\n", c->cluster.name, c->cluster.zookeeper);
	else
		fprintf(stderr, "vigil-console: cluster %s: following the members in %s\n",
			c->cluster.name, c->cluster.zookeeper);
	if (pthread_create(&m->thread, NULL, members_run, m) != 0) {
		zookeeper_close(m->zh);
		free(m);
		return NULL;
	}
	return m;
}

void members_stop(struct members *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	zookeeper_close(m->zh);
	for (int i = 0; i < m->nskipped; i++)
		free(m->skipped[i]);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
}
