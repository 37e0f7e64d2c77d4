/* Relay process; see relay.h.
 *
 * Workers send [key, payload] or [key, payload, thumbnail] over ipc://
 * (DEALER to this ROUTER). The
 * relay checks each payload, gives it the instance name, the journal's
 * epoch and the next sequence number, and appends it to the journal's
 * open batch. A batch is committed RELAY_COMMIT_MS after its first
 * alert (or when full); only then are its alerts published and
 * acknowledged to their workers ([key]). A key already in the journal is
 * a resend: it is acknowledged again and not published twice.
 * Malformed messages are logged and dropped: they never reach
 * subscribers and never stop the relay. A thumbnail (JPEG) is published
 * as the alert's third frame; it is not journaled, so replay carries the
 * payloads only.
 *
 * When the journal cannot be written (a full disk), alerts are not held
 * back: the failed batch and every alert after it are published and
 * acknowledged at once, with the sequence numbers they would have had,
 * and kept in memory ("held", at most RELAY_HELD_MAX) until the journal
 * takes them, in order, so it stays gap-free. Once the held list is
 * full, new alerts are left to their workers, which resend them. A
 * reserve file of RELAY_RESERVE_BYTES, made at start in the data
 * directory, is deleted at the first full-disk failure to give the
 * journal room, and made again once the journal has caught up. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
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
#include "replay.h"
#include "worker.h"
#include "zap.h"
#include "zmsg.h"

#define RELAY_HEARTBEAT_MS 1000
#define RELAY_ORPHAN_MS    20000  /* see relay_orphan_done */
#define RELAY_ORPHAN_POLL_MS 50
#define RELAY_COMMIT_MS    2
#define RELAY_BATCH_MAX    1024
#define RELAY_MAX_PAYLOAD  65536
#define RELAY_MAX_THUMB    (200 * 1024)
#define RELAY_MAX_KEY      128
#define RELAY_MAX_INBOUND  (256 * 1024)   /* bytes; bigger messages cut the peer */
#define RELAY_PRUNE_MS     (3600 * 1000)  /* retention runs this often */
#define RELAY_HELD_MAX     16384          /* alerts published, not journaled */
#define RELAY_HELD_BYTES   (32 << 20)
#define RELAY_RETRY_MS     1000           /* journal retries while alerts are held */
#define RELAY_RESERVE_BYTES (4 << 20)

/* An acknowledgement owed to a worker once the batch is durable. */
struct relay_ack {
	unsigned char id[256];
	size_t idlen;
	char key[RELAY_MAX_KEY + 1];
};

/* An alert stored in the open batch, published once it is durable. */
struct relay_out {
	uint64_t seq;
	char *key, *topic, *payload;
	void *thumb;                    /* JPEG or NULL */
	size_t thumb_size;
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
	struct relay_out outs[RELAY_BATCH_MAX];
	size_t nacks, nouts;
	long long batch_deadline_ms;    /* 0: no open batch */
	unsigned long dropped, duplicates, refused;
	struct relay_out *held;         /* published, not journaled, in seq order */
	size_t nheld, held_bytes;
	long long retry_ms;             /* next journal attempt while held */
	char reserve[4096];             /* path of the reserve file */
};

static long long relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *relay_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int relay_token_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (*s == '.' || *s <= ' ' || *s > '~')
			return 0;
	return 1;
}

/* A type may have dotted levels ("tamper.covered"): each must be a token,
 * so a subscriber can take a family by prefix ("...cam01.tamper."). */
static int relay_type_ok(const char *type)
{
	char seg[64];

	if (!type || !*type)
		return 0;
	while (*type) {
		size_t n = strcspn(type, ".");
		if (n == 0 || n >= sizeof(seg))
			return 0;
		memcpy(seg, type, n);
		seg[n] = '\0';
		if (!relay_token_ok(seg))
			return 0;
		type += n;
		if (*type == '.' && !*++type)
			return 0;
	}
	return 1;
}

static int relay_topic_of(json_object *o, char *buf, size_t len)
{
	static const char *const keys[] = { "severity", "district", "grid", "camera", "type" };
	const char *v[5];

	for (int i = 0; i < 5; i++) {
		v[i] = relay_field(o, keys[i]);
		if (i < 4 ? !relay_token_ok(v[i]) : !relay_type_ok(v[i]))
			return -EINVAL;
	}
	if ((size_t)snprintf(buf, len, "alert.%s.%s.%s.%s.%s", v[0], v[1], v[2], v[3], v[4]) >= len)
		return -EINVAL;
	return 0;
}

int relay_topic(const char *payload_json, char *buf, size_t len)
{
	json_object *o = json_tokener_parse(payload_json);
	int r = -EINVAL;

	if (o && json_object_is_type(o, json_type_object))
		r = relay_topic_of(o, buf, len);
	json_object_put(o);
	return r;
}

/* Keys are printable ASCII without spaces. */
static int relay_key_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
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

static void relay_out_free(struct relay_out *o)
{
	free(o->key);
	free(o->topic);
	free(o->payload);
	free(o->thumb);
	memset(o, 0, sizeof(*o));
}

/* Make the reserve file if it is missing; a disk too full for it is
 * tried again later. */
static void relay_reserve_make(struct relay *r)
{
	struct stat st;
	int fd, e;

	if (stat(r->reserve, &st) == 0 && st.st_size >= RELAY_RESERVE_BYTES)
		return;
	fd = open(r->reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	e = posix_fallocate(fd, 0, RELAY_RESERVE_BYTES);
	close(fd);
	if (e != 0)
		unlink(r->reserve);
	else
		log_info(NULL, "journal: %d MB reserved in %s for a full disk",
			 RELAY_RESERVE_BYTES >> 20, r->reserve);
}

/* Give the reserve's space to the journal. 1 when there was one. */
static int relay_reserve_release(struct relay *r)
{
	if (unlink(r->reserve) < 0)
		return 0;
	log_warn(NULL, "journal: the disk is full, %d MB reserve released", RELAY_RESERVE_BYTES >> 20);
	return 1;
}

/* The number the next alert gets: after the held ones, if any. */
static uint64_t relay_next_seq(const struct relay *r)
{
	return r->nheld ? r->held[r->nheld - 1].seq + 1 : journal_next_seq(r->journal);
}

/* Seq of a held alert stored under key: 1 when found. */
static int relay_find_held(const struct relay *r, const char *key, uint64_t *seq)
{
	for (size_t i = r->nheld; i-- > 0;) {
		if (strcmp(r->held[i].key, key) == 0) {
			*seq = r->held[i].seq;
			return 1;
		}
	}
	return 0;
}

/* Publish an alert now and keep it for the journal. The caller has
 * checked the room (the held list has one batch to spare). */
static void relay_hold(struct relay *r, struct relay_out *o)
{
	if (!o->key || !o->topic || !o->payload) {
		log_err(NULL, "alert seq %" PRIu64 " lost: out of memory", o->seq);
		relay_out_free(o);
		return;
	}
	if (!r->held)
		r->held = calloc(RELAY_HELD_MAX + RELAY_BATCH_MAX, sizeof(*r->held));
	relay_publish(r, o->topic, o->payload, o->thumb, o->thumb_size);
	free(o->thumb);
	o->thumb = NULL;
	o->thumb_size = 0;
	if (!r->held) {
		log_err(NULL, "alert seq %" PRIu64 " published, not journaled: out of memory",
			o->seq);
		relay_out_free(o);
		return;
	}
	if (r->nheld == 0)
		log_err(NULL, "journal: cannot store alerts; publishing them not journaled, "
			"kept in memory until it can (at most %d)", RELAY_HELD_MAX);
	r->held_bytes += strlen(o->payload) + strlen(o->topic) + strlen(o->key);
	r->held[r->nheld++] = *o;
	memset(o, 0, sizeof(*o));
	if (!r->retry_ms)
		r->retry_ms = relay_now_ms() + RELAY_RETRY_MS;
}

static int relay_held_full(const struct relay *r)
{
	return r->nheld >= RELAY_HELD_MAX || r->held_bytes >= RELAY_HELD_BYTES;
}

/* Journal up to one batch of held alerts, oldest first. 0, or a
 * negative errno with the batch still held. */
static int relay_store_held(struct relay *r)
{
	size_t n = r->nheld < RELAY_BATCH_MAX ? r->nheld : RELAY_BATCH_MAX;
	int e = 0;

	for (size_t i = 0; i < n && e == 0; i++) {
		if (journal_next_seq(r->journal) != r->held[i].seq) {
			log_err(NULL, "journal: held alert seq %" PRIu64 " is not the next (%" PRIu64
				")", r->held[i].seq, journal_next_seq(r->journal));
			e = -EINVAL;
		} else {
			e = journal_append(r->journal, r->held[i].key, r->held[i].topic,
					   r->held[i].payload);
		}
	}
	if (e == 0)
		e = journal_commit(r->journal);
	if (e < 0) {
		journal_abort(r->journal);
		return e;
	}
	for (size_t i = 0; i < n; i++) {
		r->held_bytes -= strlen(r->held[i].payload) + strlen(r->held[i].topic) +
				 strlen(r->held[i].key);
		relay_out_free(&r->held[i]);
	}
	r->nheld -= n;
	memmove(r->held, r->held + n, r->nheld * sizeof(*r->held));
	return 0;
}

/* Try to journal what is held; on a full disk, release the reserve
 * once and try again at once, else try again in RELAY_RETRY_MS. */
static void relay_drain(struct relay *r)
{
	size_t before = r->nheld;
	int e = 0;

	while (r->nheld && e == 0) {
		e = relay_store_held(r);
		if (e == -ENOSPC && relay_reserve_release(r))
			e = relay_store_held(r);
	}
	if (r->nheld) {
		r->retry_ms = relay_now_ms() + RELAY_RETRY_MS;
		return;
	}
	r->retry_ms = 0;
	if (before)
		log_info(NULL, "journal: writable again, %zu held alert(s) journaled, up to seq %"
			 PRIu64, before, journal_committed(r->journal));
	relay_reserve_make(r);
}

/* Publish and acknowledge everything in the committed batch. */
static void relay_flush(struct relay *r)
{
	for (size_t i = 0; i < r->nouts; i++) {
		relay_publish(r, r->outs[i].topic, r->outs[i].payload, r->outs[i].thumb,
			      r->outs[i].thumb_size);
		relay_out_free(&r->outs[i]);
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
	relay_drain(r);
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
static void relay_keep_thumb(struct relay_out *o, const struct zmsg *m, const char *key)
{
	size_t n = zmsg_size(m, 3);

	if (n == 0)
		return;
	if (n > RELAY_MAX_THUMB) {
		log_warn(NULL, "alert %s: thumbnail of %zu bytes is over %d, published without it",
			 key, n, RELAY_MAX_THUMB);
		return;
	}
	o->thumb = malloc(n);
	if (!o->thumb)
		return;
	memcpy(o->thumb, zmsg_data(m, 3), n);
	o->thumb_size = n;
}

/* Number one alert and append it to the batch. */
static void relay_store(struct relay *r, const struct zmsg *m, const char *key,
			json_object *o, const char *topic)
{
	uint64_t seq = relay_next_seq(r);
	struct relay_out held = { 0 }, *dst;
	const char *out;
	int e = 0;

	json_object_object_add(o, "instance", json_object_new_string(r->cfg->instance));
	json_object_object_add(o, "epoch", json_object_new_int64(journal_epoch(r->journal)));
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)seq));
	out = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (r->nheld && relay_held_full(r)) {
		if (r->refused++ % 1000 == 0)
			log_err(NULL, "journal: %zu alert(s) held, no room for more: alert %s left to "
				"its worker, which will resend it (%lu so far)", r->nheld, key,
				r->refused);
		return;
	}
	if (!r->nheld) {
		e = journal_append(r->journal, key, topic, out);
		if (e < 0) {
			log_err(NULL, "storing alert %s: %s", key, strerror(-e));
			relay_hold_batch(r);
		}
	}
	dst = e < 0 || r->nheld ? &held : &r->outs[r->nouts];
	dst->seq = seq;
	dst->key = strdup(key);
	dst->topic = strdup(topic);
	dst->payload = strdup(out);
	if (m->total == 4)
		relay_keep_thumb(dst, m, key);
	if (e < 0 || r->nheld) {
		relay_hold(r, &held);
		relay_owe_ack(r, m, key);
		relay_flush(r);
		if (e < 0)
			relay_drain(r);
		return;
	}
	r->nouts++;
	relay_owe_ack(r, m, key);
	if (!r->batch_deadline_ms)
		r->batch_deadline_ms = relay_now_ms() + RELAY_COMMIT_MS;
}

/* Check one [identity, key, payload] message from a worker. */
static void relay_handle(struct relay *r, const struct zmsg *m)
{
	char key[RELAY_MAX_KEY + 1], topic[256], *payload;
	json_object *o;
	uint64_t seq;
	int found;

	if ((m->total != 3 && m->total != 4) || m->n != m->total ||
	    zmsg_str(m, 1, key, sizeof(key)) < 0 || !relay_key_ok(key)) {
		r->dropped++;
		log_warn(NULL, "malformed message from a worker (%d frame(s)), dropped", m->total);
		return;
	}
	if (zmsg_size(m, 2) > RELAY_MAX_PAYLOAD) {
		r->dropped++;
		log_warn(NULL, "alert %s: payload of %zu bytes is too large, dropped", key,
			 zmsg_size(m, 2));
		return;
	}
	found = journal_find_key(r->journal, key, &seq);
	if (found == 0)
		found = relay_find_held(r, key, &seq);
	if (found != 0) {
		if (found < 0) {
			log_err(NULL, "journal lookup of %s: %s", key, journal_error(r->journal));
			return;
		}
		r->duplicates++;
		log_debug(NULL, "alert %s already stored as seq %" PRIu64 ", acknowledged again",
			  key, seq);
		relay_owe_ack(r, m, key);
		if (!r->batch_deadline_ms)
			relay_flush(r);
		return;
	}
	payload = malloc(zmsg_size(m, 2) + 1);
	if (!payload || zmsg_str(m, 2, payload, zmsg_size(m, 2) + 1) < 0) {
		free(payload);
		r->dropped++;
		log_warn(NULL, "alert %s: payload is not text, dropped", key);
		return;
	}
	o = json_tokener_parse(payload);
	free(payload);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    relay_topic_of(o, topic, sizeof(topic)) < 0) {
		r->dropped++;
		log_warn(NULL, "alert %s: malformed payload, dropped", key);
		/* Acknowledged all the same: resending it cannot make it valid. */
		relay_owe_ack(r, m, key);
		if (!r->batch_deadline_ms)
			relay_flush(r);
	} else {
		relay_store(r, m, key, o, topic);
	}
	json_object_put(o);
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
	worker_relay_endpoint(r->cfg, endpoint, sizeof(endpoint));
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
	snprintf(r->reserve, sizeof(r->reserve), "%s/journal.reserve", r->cfg->data_dir);
	relay_reserve_make(r);
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
	if (r->retry_ms && r->retry_ms < until)
		until = r->retry_ms;
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
		if (zmq_poll(items, r->replay_sock ? 3 : 2, wait) < 0 &&
		    errno != EINTR) {
			log_err(NULL, "poll: %s", zmq_strerror(errno));
			break;
		}
		relay_receive(r);
		if (r->batch_deadline_ms && relay_now_ms() >= r->batch_deadline_ms)
			relay_commit(r);
		if (r->retry_ms && relay_now_ms() >= r->retry_ms)
			relay_drain(r);
		if (r->replay_sock)
			replay_serve(r->replay, r->replay_sock, r->journal, relay_next_seq(r) - 1);
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
	if (r->nheld)
		relay_drain(r);
	if (r->nheld)
		log_err(NULL, "journal: %zu published alert(s) up to seq %" PRIu64 " could not be "
			"journaled and are lost from it", r->nheld, r->held[r->nheld - 1].seq);
out:
	if (r) {
		for (size_t i = 0; i < r->nheld; i++)
			relay_out_free(&r->held[i]);
		free(r->held);
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
