/* Cluster membership and camera ownership on ZooKeeper; see cluster.h. */
#include "cluster.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include "cluster_int.h"
#include "log.h"
#include "shard.h"
#include "status.h"
#include "topic.h"

#define CL_SCAN_MS      1000   /* full look at members and claims */
#define CL_GAP_MS       1500   /* a step this late: the node was stopped */
#define CL_RETRY_MS     1000

long long cl_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void cl_poke(struct cluster *c)
{
	uint64_t one = 1;

	if (write(c->evfd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: the loop will look. */
	}
}

/* The client library's thread: note what happened, wake the loop. */
static void cl_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct cluster *c = ctx;

	(void)path;
	pthread_mutex_lock(&c->lock);
	if (zh == c->zh_seen) {
		if (type == ZOO_SESSION_EVENT) {
			if (state == ZOO_EXPIRED_SESSION_STATE)
				c->ev_expired = 1;
			else
				c->ev_state = state;
		}
		c->ev_dirty = 1;
	}
	pthread_mutex_unlock(&c->lock);
	cl_poke(c);
}

/* Completion of the session check after a gap (client thread). */
static void cl_confirmed(int rc, const struct Stat *st, const void *data)
{
	struct cluster *c = (struct cluster *)data;

	pthread_mutex_lock(&c->lock);
	c->confirm_rc = rc;
	c->confirm_owner = st ? st->ephemeralOwner : 0;
	c->confirm_done = 1;
	pthread_mutex_unlock(&c->lock);
	cl_poke(c);
}

static long long cl_session(const struct cluster *c)
{
	const clientid_t *id = c->zh ? zoo_client_id(c->zh) : NULL;

	return id ? id->client_id : 0;
}

static void cl_connect(struct cluster *c, long long now)
{
	zhandle_t *zh = zookeeper_init(c->cfg->zk_hosts, cl_watcher,
				       c->cfg->zk_session_timeout * 1000, NULL, c, 0);

	if (!zh) {
		log_err(CL_WHO, "cannot start a ZooKeeper client for %s: %s, retrying in 1 s",
			c->cfg->zk_hosts, strerror(errno));
		c->connect_at_ms = now + CL_RETRY_MS;
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->zh = zh;
	c->zh_seen = zh;
	c->ev_state = ZOO_CONNECTING_STATE;
	pthread_mutex_unlock(&c->lock);
	c->state = ZOO_CONNECTING_STATE;
	c->connecting_since_ms = now;
	c->unreachable_logged = 0;
}

struct cluster *cluster_open(const struct vigil_config *cfg)
{
	struct cluster *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->cams = calloc(cfg->ncameras + 1, sizeof(*c->cams));
	c->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!c->cams || c->evfd < 0) {
		free(c->cams);
		if (c->evfd >= 0)
			close(c->evfd);
		free(c);
		return NULL;
	}
	if (cl_watch_open(c) < 0) {
		log_err(CL_WHO, "epoll: %s", strerror(errno));
		cl_watch_close(c);
		close(c->evfd);
		free(c->cams);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->root, sizeof(c->root), "/vigil/%s", cfg->zk_cluster);
	snprintf(c->me, sizeof(c->me), "%s", cfg->zk_node);
	/* Our own log says what matters; the library's would repeat every
	 * failed connection attempt while ZooKeeper is away. */
	zoo_set_debug_level(0);
	log_info(CL_WHO, "node %s of cluster %s, ZooKeeper %s, session timeout %d s, "
		 "rejoin delay %d s", c->me, cfg->zk_cluster, cfg->zk_hosts,
		 cfg->zk_session_timeout, cfg->zk_rejoin_delay);
	return c;
}

static void cl_alerts_free(struct cluster *c)
{
	for (size_t i = 0; i < c->nalerts; i++) {
		free(c->alerts[i].detail);
		free(c->alerts[i].moved_json);
	}
	free(c->alerts);
	c->alerts = NULL;
	c->nalerts = 0;
}

void cluster_close(struct cluster *c)
{
	if (!c)
		return;
	if (c->zh)
		zookeeper_close(c->zh);
	cl_alerts_free(c);
	free(c->members);
	free(c->cams);
	for (size_t i = 0; i < c->nwarned; i++)
		free(c->warned[i]);
	free(c->warned);
	owned_free(&c->owned);
	cl_watch_close(c);
	close(c->evfd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int cluster_pollfd(const struct cluster *c)
{
	return c ? c->pollfd : -1;
}

/* Rebuild the owned set from the cameras' states; bump the generation. */
static void cl_rebuild_owned(struct cluster *c)
{
	size_t n = 0;

	owned_free(&c->owned);
	for (size_t i = 0; i < c->cfg->ncameras; i++)
		n += c->cams[i].state == CL_OWNED;
	c->owned.items = calloc(n + 1, sizeof(*c->owned.items));
	for (size_t i = 0; c->owned.items && i < c->cfg->ncameras; i++) {
		if (c->cams[i].state != CL_OWNED)
			continue;
		struct owned_camera *o = &c->owned.items[c->owned.n++];
		snprintf(o->id, sizeof(o->id), "%s", c->cfg->cameras[i].id);
		o->epoch = c->cams[i].epoch;
	}
	c->gen++;
}

/* The session is gone for good: stop everything, start again. */
static int cl_expire(struct cluster *c, long long now)
{
	log_err(CL_WHO, "ZooKeeper session 0x%llx expired: stopping every camera at once, "
		"registering again", (unsigned long long)c->session_id);
	for (size_t i = 0; i < c->cfg->ncameras; i++)
		memset(&c->cams[i], 0, sizeof(c->cams[i]));
	cl_rebuild_owned(c);
	c->expiries++;
	pthread_mutex_lock(&c->lock);
	c->zh_seen = NULL;
	c->ev_expired = 0;
	c->confirm_done = 0;
	pthread_mutex_unlock(&c->lock);
	zookeeper_close(c->zh);
	c->zh = NULL;
	c->registered = c->ready = c->suspect = c->confirm_sent = 0;
	c->members_loaded = 0;
	c->nmembers = 0;
	c->session_id = 0;
	cl_connect(c, now);
	return CLUSTER_OWNED_CHANGED;
}

/* Take the ZooKeeper thread's news. */
static int cl_take_events(struct cluster *c, long long now)
{
	int flags = 0, expired, dirty, state, done, rc;
	long long owner;
	uint64_t v;

	if (read(c->evfd, &v, sizeof(v)) < 0) {
		/* Nothing new. */
	}
	pthread_mutex_lock(&c->lock);
	expired = c->ev_expired;
	dirty = c->ev_dirty;
	state = c->ev_state;
	done = c->confirm_done;
	rc = c->confirm_rc;
	owner = c->confirm_owner;
	c->ev_dirty = 0;
	c->confirm_done = 0;
	pthread_mutex_unlock(&c->lock);
	if (!c->zh)
		return 0;
	if (expired)
		return cl_expire(c, now);
	if (state != c->state) {
		if (state == ZOO_CONNECTED_STATE) {
			c->session_id = cl_session(c);
			log_info(CL_WHO, "connected to ZooKeeper, session 0x%llx",
				 (unsigned long long)c->session_id);
		} else if (c->state == ZOO_CONNECTED_STATE) {
			log_warn(CL_WHO, "lost the ZooKeeper connection: keeping %zu camera(s) "
				 "while the session may still be alive", c->owned.n);
			c->connecting_since_ms = now;
		}
		c->state = state;
	}
	if (dirty)
		c->dirty = 1;
	if (done) {
		c->confirm_sent = 0;
		if (rc == ZOK && owner == c->session_id && c->session_id) {
			log_info(CL_WHO, "ZooKeeper confirmed the session: alerts resume");
			c->suspect = 0;
		} else if (rc == ZNONODE || rc == ZSESSIONEXPIRED || (rc == ZOK && owner != c->session_id)) {
			log_err(CL_WHO, "this node's membership is gone (%s)", zerror(rc));
			flags |= cl_expire(c, now);
		}
	}
	return flags;
}

/* Whether to warn about name (once per distinct text). */
static int cl_warn_once(struct cluster *c, const char *what)
{
	char **v;

	for (size_t i = 0; i < c->nwarned; i++)
		if (strcmp(c->warned[i], what) == 0)
			return 0;
	v = realloc(c->warned, (c->nwarned + 1) * sizeof(*v));
	if (!v)
		return 1;
	c->warned = v;
	c->warned[c->nwarned] = strdup(what);
	if (c->warned[c->nwarned])
		c->nwarned++;
	return 1;
}

/* This node's HTTP API as "http://BIND:PORT" (an IPv6 address in
 * brackets), or null when http.port is not set. */
static json_object *cl_member_http(const struct cluster *c)
{
	const char *b = c->cfg->http_bind ? c->cfg->http_bind : "127.0.0.1";
	char url[256];

	if (c->cfg->http_port <= 0)
		return NULL;
	snprintf(url, sizeof(url), strchr(b, ':') ? "http://[%s]:%d" : "http://%s:%d", b,
		 c->cfg->http_port);
	return json_object_new_string(url);
}

/* This node's member data. */
static char *cl_member_json(const struct cluster *c, int ready)
{
	json_object *o = json_object_new_object();
	char *out;

	json_object_object_add(o, "name", json_object_new_string(c->me));
	json_object_object_add(o, "instance", json_object_new_string(c->cfg->instance));
	json_object_object_add(o, "publish", json_object_new_string(c->cfg->publish));
	json_object_object_add(o, "replay", c->cfg->replay ?
			       json_object_new_string(c->cfg->replay) : NULL);
	json_object_object_add(o, "http", cl_member_http(c));
	json_object_object_add(o, "capacity", json_object_new_int(c->cfg->zk_capacity));
	json_object_object_add(o, "cameras", json_object_new_int((int)c->cfg->ncameras));
	json_object_object_add(o, "metrics_port", json_object_new_int(c->cfg->metrics_port));
	json_object_object_add(o, "ready", json_object_new_boolean(ready));
	json_object_object_add(o, "since", json_object_new_int64(c->since_ms));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* Read the members (setting watches on the list and each member). A
 * child that is not a live, well-formed member is skipped with a warning.
 * Returns 0, or a ZooKeeper error. */
static int cl_read_members(struct cluster *c, struct cl_member **out, size_t *nout)
{
	struct String_vector sv = { 0 };
	char path[512], buf[4096], what[600];
	struct cl_member *m;
	int rc;

	snprintf(path, sizeof(path), "%s/members", c->root);
	rc = zoo_get_children(c->zh, path, 1, &sv);
	if (rc != ZOK)
		return rc;
	m = calloc((size_t)sv.count + 1, sizeof(*m));
	*nout = 0;
	for (int i = 0; m && i < sv.count; i++) {
		const char *name = sv.data[i];
		struct Stat st;
		int len = sizeof(buf) - 1;
		json_object *o = NULL, *v;
		int ok;

		snprintf(path, sizeof(path), "%s/members/%s", c->root, name);
		if (!topic_token_ok(name)) {
			snprintf(what, sizeof(what), "name:%s", name);
			if (cl_warn_once(c, what))
				log_warn(CL_WHO, "ignoring %s: not a node name", path);
			continue;
		}
		rc = zoo_get(c->zh, path, 1, buf, &len, &st);
		if (rc == ZNONODE)
			continue;
		if (rc != ZOK) {
			free(m);
			deallocate_String_vector(&sv);
			return rc;
		}
		buf[len < 0 ? 0 : len] = '\0';
		o = json_tokener_parse(buf);
		ok = o && json_object_is_type(o, json_type_object) &&
		     json_object_object_get_ex(o, "name", &v) &&
		     json_object_is_type(v, json_type_string) &&
		     strcmp(json_object_get_string(v), name) == 0 && st.ephemeralOwner != 0;
		if (ok) {
			struct cl_member *x = &m[(*nout)++];
			snprintf(x->name, sizeof(x->name), "%s", name);
			x->ready = json_object_object_get_ex(o, "ready", &v) &&
				   json_object_get_boolean(v);
			x->czxid = st.czxid;
			x->owner = st.ephemeralOwner;
			x->since_ms = json_object_object_get_ex(o, "since", &v) ?
				      json_object_get_int64(v) : 0;
			x->capacity = json_object_object_get_ex(o, "capacity", &v) ?
				      json_object_get_int(v) : 0;
			if (x->capacity < 0 || x->capacity > 100000)
				x->capacity = 0;
		} else {
			snprintf(what, sizeof(what), "data:%s:%lld", name, (long long)st.mzxid);
			if (cl_warn_once(c, what))
				log_warn(CL_WHO, "ignoring %s: %s", path, st.ephemeralOwner ?
					 "malformed member data (not this node's JSON)" :
					 "not an ephemeral member node");
		}
		json_object_put(o);
	}
	deallocate_String_vector(&sv);
	if (!m)
		return ZSYSTEMERROR;
	*out = m;
	return ZOK;
}

const char *cl_owner(const struct cl_member *m, size_t n, const char *id)
{
	const char *best = NULL;
	double top = 0, stated = 0, unstated = 1;
	int nstated = 0;

	for (size_t i = 0; i < n; i++)
		if (m[i].ready && m[i].capacity > 0) {
			stated += m[i].capacity;
			nstated++;
		}
	if (nstated)
		unstated = stated / nstated;
	for (size_t i = 0; i < n; i++) {
		double s;
		if (!m[i].ready)
			continue;
		s = shard_score_weighted(id, m[i].name,
					 m[i].capacity > 0 ? m[i].capacity : unstated);
		if (!best || s > top || (s == top && strcmp(m[i].name, best) < 0)) {
			best = m[i].name;
			top = s;
		}
	}
	return best;
}

static const struct cl_member *cl_find(const struct cl_member *m, size_t n, const char *name,
				       long long czxid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0 && (!czxid || m[i].czxid == czxid))
			return &m[i];
	return NULL;
}

/* Load the members; compare with the previous list for node_down/up. */
static int cl_load_members(struct cluster *c, long long now)
{
	struct cl_member *m = NULL;
	size_t n = 0;
	int rc = cl_read_members(c, &m, &n);

	if (rc != ZOK) {
		log_warn(CL_WHO, "cannot read the members: %s", zerror(rc));
		return rc;
	}
	if (c->members_loaded) {
		for (size_t i = 0; i < c->nmembers; i++) {
			const struct cl_member *o = &c->members[i];
			if (!cl_find(m, n, o->name, o->czxid)) {
				log_warn(CL_WHO, "member %s left", o->name);
				if (o->ready)
					c->last_loss_ms = now;
				cl_node_event(c, 1, o, c->members, c->nmembers, m, n);
			}
		}
		for (size_t i = 0; i < n; i++)
			if (!cl_find(c->members, c->nmembers, m[i].name, m[i].czxid)) {
				log_info(CL_WHO, "member %s joined%s", m[i].name,
					 m[i].ready ? "" : " (not ready yet)");
				if (strcmp(m[i].name, c->me) != 0)
					cl_node_event(c, 0, &m[i], c->members, c->nmembers, m, n);
			}
	}
	free(c->members);
	c->members = m;
	c->nmembers = n;
	c->members_loaded = 1;
	return ZOK;
}

/* Create the persistent folders (they may exist). */
static int cl_make_paths(struct cluster *c)
{
	static const char *const sub[] = { "", "/members", "/claims", "/events", "/losses",
					   "/open" };
	char path[512];
	int rc = zoo_create(c->zh, "/vigil", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
			    NULL, 0);

	if (rc != ZOK && rc != ZNODEEXISTS)
		return rc;
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", c->root, sub[i]);
		rc = zoo_create(c->zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
		if (rc != ZOK && rc != ZNODEEXISTS)
			return rc;
	}
	return ZOK;
}

/* Register this node as a member. Returns CLUSTER_FATAL when another
 * live session keeps the name beyond a session timeout. */
static int cl_register(struct cluster *c, long long now)
{
	char path[512], *data;
	struct Stat st;
	int rc, others_ready = 0;

	c->session_id = cl_session(c);
	rc = cl_make_paths(c);
	if (rc == ZOK)
		rc = cl_load_members(c, now);
	if (rc != ZOK) {
		log_warn(CL_WHO, "cannot prepare %s: %s, retrying", c->root, zerror(rc));
		return 0;
	}
	/* A member that has served a while: a node joining it waits the
	 * rejoin delay. Members all younger than that are a cluster starting
	 * up together, which every node joins at once. */
	c->since_ms = cl_wall_us() / 1000;
	for (size_t i = 0; i < c->nmembers; i++)
		others_ready |= c->members[i].ready && strcmp(c->members[i].name, c->me) != 0 &&
				c->since_ms - c->members[i].since_ms >=
				(long long)c->cfg->zk_rejoin_delay * 1000;
	c->ready = !others_ready || c->cfg->zk_rejoin_delay == 0;
	snprintf(path, sizeof(path), "%s/members/%s", c->root, c->me);
	data = cl_member_json(c, c->ready);
	rc = data ? zoo_create2(c->zh, path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
				ZOO_EPHEMERAL, NULL, 0, &st) : ZSYSTEMERROR;
	free(data);
	if (rc == ZNODEEXISTS) {
		rc = zoo_exists(c->zh, path, 0, &st);
		if (rc == ZOK && st.ephemeralOwner != c->session_id) {
			long long limit = (long long)(c->cfg->zk_session_timeout + 2) * 1000;
			if (!c->dup_since_ms) {
				c->dup_since_ms = now;
				log_err(CL_WHO, "node name '%s' is already registered in %s by another "
					"live vigild (session 0x%llx): waiting up to %lld s for it to go",
					c->me, c->root, (unsigned long long)st.ephemeralOwner,
					limit / 1000);
			} else if (now - c->dup_since_ms > limit) {
				log_err(CL_WHO, "refusing to run: node name '%s' is in use by another "
					"live vigild of cluster %s; give each server its own "
					"cluster.node", c->me, c->cfg->zk_cluster);
				return CLUSTER_FATAL;
			}
			return 0;
		}
		if (rc != ZOK)
			return 0;
		/* Ours, from before a lost connection. */
		c->ready = 1;
	} else if (rc != ZOK) {
		log_warn(CL_WHO, "cannot register %s: %s, retrying", path, zerror(rc));
		return 0;
	}
	c->dup_since_ms = 0;
	c->registered = 1;
	c->registered_ms = now;
	c->my_czxid = st.czxid;
	c->dirty = 1;
	log_info(CL_WHO, "registered as member %s (session 0x%llx)%s", c->me,
		 (unsigned long long)c->session_id,
		 c->ready ? "" : ": taking cameras after the rejoin delay");
	return 0;
}

/* Claim camera i: 1 when it is ours now. */
static int cl_claim(struct cluster *c, size_t i, long long now)
{
	const char *id = c->cfg->cameras[i].id;
	char path[512], data[256];
	struct Stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/claims/%s", c->root, id);
	snprintf(data, sizeof(data), "{\"node\":\"%s\",\"instance\":\"%s\"}", c->me,
		 c->cfg->instance);
	rc = zoo_create2(c->zh, path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
			 ZOO_EPHEMERAL, NULL, 0, &st);
	if (rc == ZNODEEXISTS) {
		/* Watched: its deletion wakes us. */
		rc = zoo_exists(c->zh, path, 1, &st);
		if (rc == ZOK && st.ephemeralOwner == c->session_id) {
			rc = ZOK;
		} else if (rc == ZOK && st.ephemeralOwner == 0) {
			log_err(id, "%s is not an ephemeral claim (malformed data): deleting it", path);
			zoo_delete(c->zh, path, -1);
			return 0;
		} else {
			c->cams[i].retry_ms = now + CL_RETRY_MS;
			return 0;
		}
	}
	if (rc != ZOK) {
		log_warn(id, "cannot claim %s: %s, retrying in 1 s", path, zerror(rc));
		c->cams[i].retry_ms = now + CL_RETRY_MS;
		return 0;
	}
	c->cams[i].state = CL_OWNED;
	c->cams[i].epoch = st.czxid;
	log_info(id, "claimed (epoch %lld)", (long long)st.czxid);
	cl_loss_adopt(c, i);
	cl_open_adopt(c, i);
	return 1;
}

/* Claim what is ours and free, release (in batches) what is another
 * ready member's now. */
static int cl_assign(struct cluster *c, long long now)
{
	int changed = 0, released = 0, claimed = 0;

	if (now - c->batch_start_ms >= 1000) {
		c->batch_start_ms = now;
		c->batch_used = 0;
	}
	for (size_t i = 0; i < c->cfg->ncameras; i++) {
		struct cl_cam *k = &c->cams[i];
		const char *target = cl_owner(c->members, c->nmembers, c->cfg->cameras[i].id);
		int mine = target && strcmp(target, c->me) == 0;

		if (k->state == CL_NONE && mine && now >= k->retry_ms && c->ready) {
			if (cl_claim(c, i, now)) {
				changed = claimed = 1;
				c->claims_taken++;
				if (c->last_loss_ms) {
					c->last_failover_ms = now - c->last_loss_ms;
					c->last_failover_wall_us = cl_wall_us();
				}
			}
		} else if (k->state == CL_OWNED && target && !mine && c->batch_used < c->cfg->zk_batch) {
			log_info(c->cfg->cameras[i].id, "handing over to %s", target);
			k->state = CL_RELEASING;
			c->batch_used++;
			c->released++;
			changed = released = 1;
		}
	}
	/* The failover time is that of the pass that took the lost cameras,
	 * not of later planned moves. */
	if (claimed)
		c->last_loss_ms = 0;
	if (!changed)
		return 0;
	cl_rebuild_owned(c);
	if (released)
		for (size_t i = 0; i < c->cfg->ncameras; i++)
			if (c->cams[i].state == CL_RELEASING && !c->cams[i].release_gen)
				c->cams[i].release_gen = c->gen;
	return CLUSTER_OWNED_CHANGED;
}

/* Delete the claims of released cameras once the workers stopped them. */
static void cl_finish_releases(struct cluster *c)
{
	char path[512];
	struct Stat st;

	for (size_t i = 0; i < c->cfg->ncameras; i++) {
		struct cl_cam *k = &c->cams[i];
		int rc;
		if (k->state != CL_RELEASING || c->applied_gen < k->release_gen)
			continue;
		snprintf(path, sizeof(path), "%s/claims/%s", c->root, c->cfg->cameras[i].id);
		rc = zoo_exists(c->zh, path, 0, &st);
		if (rc == ZOK && st.ephemeralOwner == c->session_id) {
			cl_loss_release(c, i);
			cl_open_release(c, i);
			rc = zoo_delete(c->zh, path, st.version);
		}
		if (rc != ZOK && rc != ZNONODE) {
			log_warn(c->cfg->cameras[i].id, "cannot release %s: %s, retrying", path,
				 zerror(rc));
			continue;
		}
		memset(k, 0, sizeof(*k));
	}
}

/* A node registered while others were ready: ready after the delay. */
static void cl_maybe_ready(struct cluster *c, long long now)
{
	char path[512], *data;
	int rc;

	if (c->ready || now - c->registered_ms < (long long)c->cfg->zk_rejoin_delay * 1000)
		return;
	snprintf(path, sizeof(path), "%s/members/%s", c->root, c->me);
	data = cl_member_json(c, 1);
	rc = data ? zoo_set(c->zh, path, data, (int)strlen(data), -1) : ZSYSTEMERROR;
	free(data);
	if (rc != ZOK) {
		log_warn(CL_WHO, "cannot mark %s ready: %s, retrying", path, zerror(rc));
		return;
	}
	c->ready = 1;
	c->dirty = 1;
	log_info(CL_WHO, "rejoin delay over: ready for cameras");
}

int cluster_step(struct cluster *c, long long now)
{
	int flags = 0;

	cl_watch_take(c);         /* drained every turn: the poll is level-triggered */
	if (c->last_step_ms && now - c->last_step_ms > CL_GAP_MS && c->registered &&
	    !c->suspect) {
		log_warn(CL_WHO, "this node was not running for %lld ms: holding alerts until "
			 "ZooKeeper confirms the session", now - c->last_step_ms);
		c->suspect = 1;
		c->confirm_sent = 0;
	}
	c->last_step_ms = now;
	if (!c->zh) {
		if (now >= c->connect_at_ms)
			cl_connect(c, now);
		return 0;
	}
	flags |= cl_take_events(c, now);
	if (c->state != ZOO_CONNECTED_STATE) {
		if (!c->unreachable_logged && now - c->connecting_since_ms > 5000) {
			log_warn(CL_WHO, "ZooKeeper %s unreachable for %lld s, retrying; %s",
				 c->cfg->zk_hosts, (now - c->connecting_since_ms) / 1000,
				 c->registered ? "keeping this node's cameras" :
				 "no camera runs until this node holds its claim");
			c->unreachable_logged = 1;
		}
		return flags;
	}
	if (c->suspect) {
		if (!c->confirm_sent) {
			char path[512];
			snprintf(path, sizeof(path), "%s/members/%s", c->root, c->me);
			if (zoo_aexists(c->zh, path, 0, cl_confirmed, c) == ZOK)
				c->confirm_sent = 1;
		}
		return flags;
	}
	if (!c->registered) {
		flags |= cl_register(c, now);
		if (!c->registered)
			return flags;
	}
	cl_maybe_ready(c, now);
	if (c->dirty || now >= c->next_scan_ms) {
		c->dirty = 0;
		c->next_scan_ms = now + CL_SCAN_MS;
		if (cl_load_members(c, now) == ZOK)
			flags |= cl_assign(c, now);
		for (size_t i = 0; i < c->cfg->ncameras; i++)
			if (c->cams[i].state == CL_OWNED) {
				cl_loss_mirror(c, i);
				cl_open_mirror(c, i);
				c->cams[i].changed = 0;
			}
	}
	/* Events that opened or ended since: mirrored now, not at the scan. */
	for (size_t i = 0; i < c->cfg->ncameras; i++)
		if (c->cams[i].changed) {
			c->cams[i].changed = 0;
			if (c->cams[i].state == CL_OWNED)
				cl_open_mirror(c, i);
		}
	cl_finish_releases(c);
	return flags;
}

const struct owned_set *cluster_owned(const struct cluster *c, unsigned *gen)
{
	if (gen)
		*gen = c->gen;
	return &c->owned;
}

void cluster_applied(struct cluster *c, unsigned gen)
{
	if (gen > c->applied_gen)
		c->applied_gen = gen;
}

int cluster_fenced(const struct cluster *c)
{
	/* A late turn is caught here too, before the step that notes it:
	 * a status request served first must not vouch for the claims. */
	return c && !c->suspect && status_now_ms() - c->last_step_ms <= CL_GAP_MS;
}

void cluster_set_publishing(struct cluster *c, int open)
{
	c->publishing = open;
}


void cluster_remap(struct cluster *c, const struct vigil_config *old)
{
	struct cl_cam *cams = calloc(c->cfg->ncameras + 1, sizeof(*cams));
	char path[512];

	if (!cams) {
		log_err(CL_WHO, "out of memory while following the new inventory");
		return;
	}
	for (size_t j = 0; j < old->ncameras; j++) {
		size_t i;
		for (i = 0; i < c->cfg->ncameras; i++)
			if (strcmp(c->cfg->cameras[i].id, old->cameras[j].id) == 0)
				break;
		if (i < c->cfg->ncameras) {
			cams[i] = c->cams[j];
			continue;
		}
		/* Gone from the inventory: nobody will want its claim. */
		if (c->cams[j].state != CL_NONE && c->zh) {
			snprintf(path, sizeof(path), "%s/claims/%s", c->root, old->cameras[j].id);
			zoo_delete(c->zh, path, -1);
		}
	}
	free(c->cams);
	c->cams = cams;
	cl_watch_rebuild(c);
	cl_rebuild_owned(c);
	c->dirty = 1;
}
