/* Relay process; see relay.h.
 *
 * Workers send [key, topic, payload] or [key, topic, payload, thumbnail]
 * over ipc:// (DEALER to this ROUTER, relaylink.h). The relay checks each
 * message without parsing it into anything, splices the instance name,
 * the journal's epoch and the next sequence number into the payload's
 * text, and appends it to the journal's open batch. A batch is committed
 * RELAY_COMMIT_MS after its first alert (or when full); only then are its
 * alerts published and acknowledged to their workers ([key]). A key
 * already in the journal is a resend: it is acknowledged again and not
 * published twice.
 * Malformed messages are logged and dropped: they never reach
 * subscribers and never stop the relay. A thumbnail (JPEG) is published
 * as the alert's third frame; it is not journaled, so replay carries the
 * payloads only.
 *
 * When the journal cannot be written (a full disk), the failed batch and
 * every alert after it are published and acknowledged at once, with the
 * sequence numbers they would have had, and held until the journal takes
 * them (relay_held.h). */
#include "relay.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "journal.h"
#include "log.h"
#include "status.h"
#include "stoporder.h"
#include "relay_fence.h"
#include "relay_held.h"
#include "relaylink.h"
#include "replay.h"
#include "zap.h"
#include "zmsg.h"

#define RELAY_HEARTBEAT_MS 1000
#define RELAY_ORPHAN_MS    20000  /* see relay_orphan_done */
#define RELAY_ORPHAN_POLL_MS 50
#define RELAY_COMMIT_MS    2
#define RELAY_BATCH_MAX    RELAY_HELD_BATCH
#define RELAY_MAX_THUMB    (200 * 1024)
#define RELAY_MAX_INBOUND  (256 * 1024)   /* bytes; bigger messages cut the peer */
#define RELAY_PRUNE_MS     (3600 * 1000)  /* retention runs this often */

/* An acknowledgement owed to a worker once the batch is durable. */
struct relay_ack {
	unsigned char id[256];
	size_t idlen;
	char key[RELAYLINK_KEY_MAX + 1];
};

struct relay {
	const struct vigil_config *cfg;
	void *intake, *pub, *replay_sock;
	void **eps;                     /* alerts.endpoints, one PUB each */
	struct zap *zap;
	char secret[ZAP_KEY_Z85_LEN + 1];
	struct journal *journal;
	struct replay *replay;
	struct relay_ack acks[RELAY_BATCH_MAX];
	struct relay_alert outs[RELAY_BATCH_MAX];   /* published once durable */
	size_t nacks, nouts;
	long long batch_deadline_ms;    /* 0: no open batch */
	unsigned long dropped, duplicates, refused;
	struct relay_held held;         /* published, not journaled */
	struct relay_fence fence;       /* cluster mode, see relay_fence.h */
};

static long long relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int relay_send(void *sock, const char *topic, const char *payload,
		      const void *thumb, size_t thumb_size)
{
	if (zmsg_send_str(sock, topic, ZMQ_SNDMORE) < 0 ||
	    zmsg_send_str(sock, payload, thumb ? ZMQ_SNDMORE : 0) < 0 ||
	    (thumb && zmsg_send(sock, thumb, thumb_size, 0) < 0))
		return -errno;
	return 0;
}

/* Does an extra endpoint carry this topic? Its topic list decides;
 * heartbeats go everywhere. */
static int relay_endpoint_wants(const struct vigil_endpoint *ep, const char *topic)
{
	if (ep->ntopics == 0 || strcmp(topic, "hb") == 0)
		return 1;
	for (size_t i = 0; i < ep->ntopics; i++)
		if (strncmp(topic, ep->topics[i], strlen(ep->topics[i])) == 0)
			return 1;
	return 0;
}

/* Publish on the main endpoint and on every extra endpoint that carries
 * the topic. Each has its own socket and queue: a slow link never holds
 * up another. */
static void relay_publish(struct relay *r, const char *topic, const char *payload,
			  const void *thumb, size_t thumb_size)
{
	if (relay_send(r->pub, topic, payload, thumb, thumb_size) < 0)
		log_err(NULL, "publishing on %s: %s", r->cfg->publish, zmq_strerror(errno));
	for (size_t i = 0; i < r->cfg->nendpoints; i++)
		if (relay_endpoint_wants(&r->cfg->endpoints[i], topic) &&
		    relay_send(r->eps[i], topic, payload, thumb, thumb_size) < 0)
			log_err(NULL, "publishing on %s: %s", r->cfg->endpoints[i].bind,
				zmq_strerror(errno));
}

/* Publish an alert now and keep it for the journal. The caller has
 * checked the room (the held list has one batch to spare). */
static void relay_hold(struct relay *r, struct relay_alert *o)
{
	if (!o->key || !o->topic || !o->payload) {
		log_err(NULL, "alert seq %" PRIu64 " lost: out of memory", o->seq);
		relay_alert_free(o);
		return;
	}
	relay_publish(r, o->topic, o->payload, o->thumb, o->thumb_size);
	relay_held_add(&r->held, o, relay_now_ms());
}

/* Publish and acknowledge everything in the committed batch. */
static void relay_flush(struct relay *r)
{
	for (size_t i = 0; i < r->nouts; i++) {
		relay_publish(r, r->outs[i].topic, r->outs[i].payload, r->outs[i].thumb,
			      r->outs[i].thumb_size);
		relay_alert_free(&r->outs[i]);
	}
	for (size_t i = 0; i < r->nacks; i++) {
		zmsg_send(r->intake, r->acks[i].id, r->acks[i].idlen, ZMQ_SNDMORE);
		zmsg_send_str(r->intake, r->acks[i].key, 0);
	}
	r->nouts = r->nacks = 0;
}

/* The open batch could not be stored: publish it now and hold it. */
static void relay_hold_batch(struct relay *r)
{
	journal_abort(r->journal);
	for (size_t i = 0; i < r->nouts; i++)
		relay_hold(r, &r->outs[i]);
	r->nouts = 0;
	relay_flush(r);
	relay_held_drain(&r->held, relay_now_ms());
}

/* Commit the open batch; on failure its alerts are published all the
 * same and held until the journal takes them. */
static void relay_commit(struct relay *r)
{
	int e = journal_commit(r->journal);

	r->batch_deadline_ms = 0;
	if (e < 0) {
		log_err(NULL, "committing %zu alert(s) to the journal: %s", r->nouts, strerror(-e));
		relay_hold_batch(r);
	} else {
		relay_flush(r);
	}
}

static void relay_owe_ack(struct relay *r, const struct zmsg *m, const char *key)
{
	struct relay_ack *a;

	if (r->nacks == RELAY_BATCH_MAX)
		relay_commit(r);
	a = &r->acks[r->nacks++];
	a->idlen = zmsg_size(m, 0) < sizeof(a->id) ? zmsg_size(m, 0) : sizeof(a->id);
	memcpy(a->id, zmsg_data(m, 0), a->idlen);
	snprintf(a->key, sizeof(a->key), "%s", key);
}

/* The thumbnail frame goes out with the alert; one that is too large is
 * left out (the alert itself is never dropped for it). */
static void relay_keep_thumb(struct relay_alert *o, const struct relaylink_alert *in)
{
	if (!in->thumb)
		return;
	if (in->thumb_size > RELAY_MAX_THUMB) {
		log_warn(NULL, "alert %s: thumbnail of %zu bytes is over %d, published without it",
			 in->key, in->thumb_size, RELAY_MAX_THUMB);
		return;
	}
	o->thumb = malloc(in->thumb_size);
	if (!o->thumb)
		return;
	memcpy(o->thumb, in->thumb, in->thumb_size);
	o->thumb_size = in->thumb_size;
}

/* Number one alert and append it to the batch. */
static void relay_store(struct relay *r, const struct zmsg *m, const struct relaylink_alert *in)
{
	uint64_t seq = relay_held_next_seq(&r->held);
	struct relay_alert held = { 0 }, *dst;
	char *out;
	int e = 0;

	if (r->held.n && relay_held_full(&r->held)) {
		if (r->refused++ % 1000 == 0)
			log_err(NULL, "journal: %zu alert(s) held, no room for more: alert %s left to "
				"its worker, which will resend it (%lu so far)", r->held.n, in->key,
				r->refused);
		return;
	}
	out = relaylink_stamp(in->payload, in->payload_len, r->cfg->instance,
			      journal_epoch(r->journal), seq);
	if (!out) {
		log_err(NULL, "alert %s: out of memory, left to its worker", in->key);
		return;
	}
	dst = r->held.n ? &held : &r->outs[r->nouts];
	dst->seq = seq;
	dst->payload = out;
	dst->key = strdup(in->key);
	dst->topic = strndup(in->topic, in->topic_len);
	if (!r->held.n && dst->key && dst->topic) {
		e = journal_append(r->journal, dst->key, dst->topic, dst->payload);
		if (e < 0) {
			log_err(NULL, "storing alert %s: %s", in->key, strerror(-e));
			held = *dst;
			memset(dst, 0, sizeof(*dst));
			dst = &held;
			relay_hold_batch(r);
		}
	}
	relay_keep_thumb(dst, in);
	if (dst == &held) {
		relay_hold(r, &held);
		relay_owe_ack(r, m, in->key);
		relay_flush(r);
		if (e < 0)
			relay_held_drain(&r->held, relay_now_ms());
		return;
	}
	if (!dst->key || !dst->topic) {
		log_err(NULL, "alert %s: out of memory, left to its worker", in->key);
		relay_alert_free(dst);
		return;
	}
	r->nouts++;
	relay_owe_ack(r, m, in->key);
	if (!r->batch_deadline_ms)
		r->batch_deadline_ms = relay_now_ms() + RELAY_COMMIT_MS;
}

/* One message from a worker: check it, acknowledge a resend of what is
 * stored, store the rest. */
static void relay_handle(struct relay *r, const struct zmsg *m)
{
	struct relaylink_alert in;
	const char *why;
	uint64_t seq;
	int found;

	if (relaylink_check(m, &in, &why) < 0) {
		r->dropped++;
		log_warn(NULL, "malformed message from a worker (%d frame(s)%s%s): %s, dropped",
			 m->total, in.key[0] ? ", alert " : "", in.key, why);
		/* Acknowledged all the same: resending it cannot make it valid. */
		if (in.key[0]) {
			relay_owe_ack(r, m, in.key);
			if (!r->batch_deadline_ms)
				relay_flush(r);
		}
		return;
	}
	found = journal_find_key(r->journal, in.key, &seq);
	if (found == 0)
		found = relay_held_find(&r->held, in.key, &seq);
	if (found < 0) {
		log_err(NULL, "journal lookup of %s: %s", in.key, journal_error(r->journal));
	} else if (found) {
		r->duplicates++;
		log_debug(NULL, "alert %s already stored as seq %" PRIu64 ", acknowledged again",
			  in.key, seq);
		relay_owe_ack(r, m, in.key);
		if (!r->batch_deadline_ms)
			relay_flush(r);
	} else if (relay_fence_superseded(&r->fence, &in)) {
		r->dropped++;
		log_warn(NULL, "alert %s: its camera's claim is no longer this node's (a newer "
			 "owner took it), dropped", in.key);
		relay_owe_ack(r, m, in.key);
		if (!r->batch_deadline_ms)
			relay_flush(r);
	} else {
		relay_store(r, m, &in);
	}
}

/* Take what the workers sent, committing whenever the batch fills. */
static void relay_receive(struct relay *r)
{
	struct zmsg m;

	for (int i = 0; i < 4 * RELAY_BATCH_MAX; i++) {
		if (zmsg_recv(&m, r->intake, ZMQ_DONTWAIT) < 0)
			return;
		if (m.n >= 1)
			relay_handle(r, &m);
		zmsg_close(&m);
		if (r->nouts == RELAY_BATCH_MAX)
			relay_commit(r);
	}
}

static void relay_heartbeat(struct relay *r)
{
	char payload[256];

	snprintf(payload, sizeof(payload),
		 "{\"instance\":\"%s\",\"epoch\":%" PRId64 ",\"seq\":%" PRIu64 "}",
		 r->cfg->instance, journal_epoch(r->journal), journal_committed(r->journal));
	relay_publish(r, "hb", payload, NULL, 0);
}

static int relay_bind(void *sock, const char *endpoint, const char *what)
{
	if (zmq_bind(sock, endpoint) == 0)
		return 0;
	log_err(NULL, "cannot bind %s endpoint %s: %s", what, endpoint, zmq_strerror(errno));
	return -1;
}

/* With alerts.curve, every endpoint but the workers' is a CURVE server
 * whose clients the ZAP handler checks in this domain. */
static int relay_secure(struct relay *r, void *sock, const char *domain)
{
	int e;

	if (!r->zap)
		return 0;
	e = zap_server_socket(sock, r->secret, domain);
	if (e < 0)
		log_err(NULL, "curve: cannot secure the %s endpoint: %s", domain, zmq_strerror(-e));
	return e;
}

/* Read the server key and start the ZAP handler, before any server
 * socket exists. */
static int relay_start_curve(struct relay *r, void *ctx)
{
	const char *path = r->cfg->curve_secret_key_file;
	int e;

	if (!path)
		return 0;
	e = zap_read_key(path, r->secret);
	if (e < 0) {
		log_err(NULL, "curve: cannot read the secret key in %s: %s", path,
			e == -EINVAL ? "not a Z85 key (make one with vigilctl keygen)" : strerror(-e));
		return -1;
	}
	e = zap_start(&r->zap, ctx, r->cfg);
	if (e < 0) {
		log_err(NULL, "curve: cannot start the ZAP handler: %s", strerror(-e));
		return -1;
	}
	return 0;
}

static int relay_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, STOPORDER_RELAY_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* The supervisor is gone: serve on until every worker has exited (they
 * stop at the same moment and send their last alerts), at most
 * RELAY_ORPHAN_MS. Returns 1 when the relay may stop. */
static int relay_orphan_done(const struct relay *r, int *lock_fd, long long *deadline)
{
	int gone;

	if (*lock_fd < 0) {
		*lock_fd = stoporder_open(r->cfg->data_dir);
		*deadline = relay_now_ms() + RELAY_ORPHAN_MS;
		log_warn(NULL, "the supervisor is gone: storing what the workers send until they "
			 "have stopped");
		if (*lock_fd < 0) {
			log_err(NULL, "cannot open the workers' lock: %s, stopping now",
				strerror(-*lock_fd));
			return 1;
		}
	}
	gone = stoporder_workers_gone(*lock_fd);
	if (gone) {
		if (gone < 0)
			log_err(NULL, "workers' lock: %s, stopping now", strerror(-gone));
		return 1;
	}
	if (relay_now_ms() >= *deadline) {
		log_warn(NULL, "workers still running after %d s, stopping anyway",
			 RELAY_ORPHAN_MS / 1000);
		return 1;
	}
	return 0;
}

/* Create and bind the sockets: workers' intake (ipc, owner only), the
 * publisher and the optional replay endpoint. */
static int relay_open_sockets(struct relay *r, void *ctx)
{
	int linger = 1000, maxmsg = RELAY_MAX_INBOUND, hwm = 100000;
	char endpoint[512];
	int64_t maxmsg64 = maxmsg;
	mode_t old;
	int bound;

	r->intake = zmq_socket(ctx, ZMQ_ROUTER);
	r->pub = zmq_socket(ctx, ZMQ_PUB);
	zmq_setsockopt(r->intake, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(r->intake, ZMQ_MAXMSGSIZE, &maxmsg64, sizeof(maxmsg64));
	zmq_setsockopt(r->intake, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(r->intake, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN_WORKERS, strlen(ZAP_DOMAIN_WORKERS));
	zmq_setsockopt(r->pub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(r->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	relaylink_endpoint(r->cfg->data_dir, endpoint, sizeof(endpoint));
	/* Only the daemon's user may connect to the ipc socket. */
	old = umask(0077);
	bound = relay_bind(r->intake, endpoint, "worker");
	umask(old);
	if (bound < 0 || relay_secure(r, r->pub, "publish") < 0 ||
	    relay_bind(r->pub, r->cfg->publish, "publish") < 0)
		return -1;
	if (r->cfg->replay) {
		r->replay_sock = zmq_socket(ctx, ZMQ_ROUTER);
		zmq_setsockopt(r->replay_sock, ZMQ_LINGER, &linger, sizeof(linger));
		zmq_setsockopt(r->replay_sock, ZMQ_MAXMSGSIZE, &maxmsg64, sizeof(maxmsg64));
		if (replay_socket(r->replay_sock) < 0)
			log_warn(NULL, "replay: cannot bound the reply queues: %s, ignoring",
				 zmq_strerror(errno));
		if (relay_secure(r, r->replay_sock, "replay") < 0 ||
		    relay_bind(r->replay_sock, r->cfg->replay, "replay") < 0)
			return -1;
	}
	r->eps = calloc(r->cfg->nendpoints + 1, sizeof(*r->eps));
	for (size_t i = 0; r->eps && i < r->cfg->nendpoints; i++) {
		char domain[32];
		snprintf(domain, sizeof(domain), "ep%zu", i);
		r->eps[i] = zmq_socket(ctx, ZMQ_PUB);
		zmq_setsockopt(r->eps[i], ZMQ_LINGER, &linger, sizeof(linger));
		zmq_setsockopt(r->eps[i], ZMQ_SNDHWM, &hwm, sizeof(hwm));
		if (relay_secure(r, r->eps[i], domain) < 0 ||
		    relay_bind(r->eps[i], r->cfg->endpoints[i].bind, "publish") < 0)
			return -1;
	}
	return r->eps ? 0 : -1;
}

static int relay_open_journal(struct relay *r)
{
	char path[4096], err[512];

	snprintf(path, sizeof(path), "%s/journal.db", r->cfg->data_dir);
	/* Alerts say where the police look: the journal is the daemon's. */
	mode_t old = umask(0077);
	int e = journal_open(&r->journal, path, err, sizeof(err));
	umask(old);
	if (e < 0) {
		log_err(NULL, "journal: %s", err);
		return -1;
	}
	relay_held_init(&r->held, r->journal, r->cfg->data_dir);
	r->replay = replay_new(r->cfg);
	return r->replay ? 0 : -1;
}

/* Drop alerts older than alerts.journal_days (never the newest). */
static void relay_prune(struct relay *r)
{
	int64_t cutoff = (int64_t)time(NULL) * 1000 - (int64_t)r->cfg->journal_days * 86400000;
	int n;

	if (r->batch_deadline_ms)
		relay_commit(r);
	n = journal_prune(r->journal, cutoff);
	if (n < 0)
		log_err(NULL, "journal retention: %s, trying again in an hour",
			journal_error(r->journal));
	else if (n > 0)
		log_info(NULL, "journal retention: %d alert(s) older than %d day(s) deleted", n,
			 r->cfg->journal_days);
}

/* Milliseconds the poll may sleep: until the heartbeat or the batch
 * commit, whichever comes first. */
static long relay_wait_ms(const struct relay *r, long long next_hb)
{
	long long now = relay_now_ms(), until = next_hb;

	if (r->batch_deadline_ms && r->batch_deadline_ms < until)
		until = r->batch_deadline_ms;
	if (r->held.retry_ms && r->held.retry_ms < until)
		until = r->held.retry_ms;
	return until > now ? (long)(until - now) : 0;
}

int relay_run(const struct vigil_config *cfg, int status_fd)
{
	struct status_page *page = status_fd >= 0 ? status_page_map(status_fd) : NULL;
	struct relay *r = calloc(1, sizeof(*r));
	int sfd = relay_signalfd(), status = 1, orphan = 0, lock_fd = -1;
	long long orphan_deadline = 0;
	void *ctx = zmq_ctx_new();
	long long next_hb, next_prune;

	if (!r || sfd < 0 || !ctx) {
		log_err(NULL, "cannot set up the relay: %s", strerror(errno));
		goto out;
	}
	r->cfg = cfg;
	relay_fence_init(&r->fence, cfg, page);
	if (relay_open_journal(r) < 0 || relay_start_curve(r, ctx) < 0 ||
	    relay_open_sockets(r, ctx) < 0)
		goto out;
	log_info(NULL, "publishing alerts on %s%s%s (%s), epoch %" PRId64 ", newest seq %" PRIu64,
		 cfg->publish, cfg->replay ? ", replay on " : "", cfg->replay ? cfg->replay : "",
		 r->zap ? "CURVE" : "no encryption",
		 journal_epoch(r->journal), journal_committed(r->journal));
	next_hb = relay_now_ms();
	next_prune = next_hb;
	status_beat(page);
	if (page)
		atomic_store(&page->ready, 1);

	for (;;) {
		zmq_pollitem_t items[] = {
			{ .socket = r->intake, .events = ZMQ_POLLIN },
			{ .fd = sfd, .events = ZMQ_POLLIN },
			{ .socket = r->replay_sock, .events = ZMQ_POLLIN },
		};
		struct signalfd_siginfo si;
		/* Cluster mode: nothing comes in while the node's claims are
		 * in doubt (relay_fence.h); look again soon. */
		int fenced = relay_fence_closed(&r->fence);

		if (fenced)
			items[0].events = 0;
		if (relay_now_ms() >= next_hb) {
			relay_heartbeat(r);
			status_beat(page);
			next_hb = relay_now_ms() + RELAY_HEARTBEAT_MS;
		}
		if (relay_now_ms() >= next_prune) {
			relay_prune(r);
			next_prune = relay_now_ms() + RELAY_PRUNE_MS;
		}
		long wait = relay_wait_ms(r, next_hb);

		if (orphan && wait > RELAY_ORPHAN_POLL_MS)
			wait = RELAY_ORPHAN_POLL_MS;
		if (fenced && wait > 100)
			wait = 100;
		if (zmq_poll(items, r->replay_sock ? 3 : 2, wait) < 0 &&
		    errno != EINTR) {
			log_err(NULL, "poll: %s", zmq_strerror(errno));
			break;
		}
		/* Again after the wait, which a stop may have interrupted. */
		if (!relay_fence_closed(&r->fence))
			relay_receive(r);
		if (r->batch_deadline_ms && relay_now_ms() >= r->batch_deadline_ms)
			relay_commit(r);
		if (r->held.retry_ms && relay_now_ms() >= r->held.retry_ms)
			relay_held_drain(&r->held, relay_now_ms());
		if (r->replay_sock)
			replay_serve(r->replay, r->replay_sock, r->journal,
				     relay_held_next_seq(&r->held) - 1);
		if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == STOPORDER_RELAY_SIGNAL) {
				orphan = 1;
			} else if (si.ssi_signo != SIGHUP) {
				log_info(NULL, "signal %d, stopping after seq %" PRIu64,
					 (int)si.ssi_signo, journal_committed(r->journal));
				status = 0;
				break;
			}
		}
		if (orphan && relay_orphan_done(r, &lock_fd, &orphan_deadline)) {
			relay_receive(r);
			log_info(NULL, "workers stopped, stopping after seq %" PRIu64,
				 journal_committed(r->journal));
			status = 0;
			break;
		}
	}
	if (r->batch_deadline_ms)
		relay_commit(r);
	if (r->held.n)
		relay_held_drain(&r->held, relay_now_ms());
out:
	if (r) {
		relay_held_free(&r->held);
		relay_fence_free(&r->fence);
		zmq_close(r->intake);
		zmq_close(r->pub);
		zmq_close(r->replay_sock);
		for (size_t i = 0; r->eps && i < cfg->nendpoints; i++)
			zmq_close(r->eps[i]);
		free(r->eps);
		journal_close(r->journal);
		replay_free(r->replay);
	}
	zmq_ctx_term(ctx);
	if (r)
		zap_join(r->zap);
	if (sfd >= 0)
		close(sfd);
	if (lock_fd >= 0)
		close(lock_fd);
	status_page_unmap(page);
	free(r);
	return status;
}
