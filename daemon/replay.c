/* Replay endpoint; see replay.h.
 *
 * Requests are checked before any work: frame count, size, syntax. Each
 * peer (its CURVE key when it has one, else its connection's routing
 * id) has a token bucket, so one client asking in a loop cannot starve
 * the others, even on the same host; a shared bucket caps the total, so
 * many connections cannot either.
 *
 * Replies are bounded in bytes as well as in alerts, and the socket
 * queues at most REPLAY_PEER_QUEUE of them per peer (replay_socket): a
 * peer that asks and never reads loses its replies once its queue is
 * full, and the relay does not even build them, so its memory stays
 * bounded by the connected peers times a few replies each. */
#include "replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "zap.h"
#include "zmsg.h"

#define REPLAY_CLIENTS     64      /* rate-limit buckets kept */
#define REPLAY_RATE        20.0    /* requests per second, sustained */
#define REPLAY_BURST       40.0
#define REPLAY_RATE_TOTAL  200.0   /* requests per second, all peers */
#define REPLAY_BURST_TOTAL 400.0

struct replay_bucket {
	char who[128];
	double tokens;
	double at;              /* monotonic seconds of the last refill */
};

struct replay {
	const struct vigil_config *cfg;
	struct replay_bucket buckets[REPLAY_CLIENTS];
	struct replay_bucket total;
	unsigned long served, refused, unread;
};

/* What one reply collects while reading the journal. */
struct replay_reply {
	void *sock;
	const struct vigil_config *cfg;
	const char *client;     /* CURVE user id, NULL for a local peer */
	const char **prefixes;
	int nprefixes, sent;
	size_t bytes;
};

static double replay_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct replay *replay_new(const struct vigil_config *cfg)
{
	struct replay *rp = calloc(1, sizeof(*rp));

	if (rp) {
		rp->cfg = cfg;
		rp->total.tokens = REPLAY_BURST_TOTAL;
		rp->total.at = replay_now();
	}
	return rp;
}

void replay_free(struct replay *rp)
{
	free(rp);
}

static int replay_take(struct replay_bucket *b, double now, double rate, double burst)
{
	b->tokens += (now - b->at) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at = now;
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}

/* Take a token from the peer's bucket and one from the total; 0 when
 * either has none left. The least recently used bucket is recycled for
 * a new peer. */
static int replay_allow(struct replay *rp, const char *who)
{
	struct replay_bucket *b = NULL, *oldest = &rp->buckets[0];
	double now = replay_now();

	for (int i = 0; i < REPLAY_CLIENTS; i++) {
		if (strcmp(rp->buckets[i].who, who) == 0) {
			b = &rp->buckets[i];
			break;
		}
		if (rp->buckets[i].at < oldest->at)
			oldest = &rp->buckets[i];
	}
	if (!b) {
		b = oldest;
		snprintf(b->who, sizeof(b->who), "%s", who);
		b->tokens = REPLAY_BURST;
		b->at = now;
	}
	if (!replay_take(b, now, REPLAY_RATE, REPLAY_BURST))
		return 0;
	return replay_take(&rp->total, now, REPLAY_RATE_TOTAL, REPLAY_BURST_TOTAL);
}

static int replay_is_decimal(const char *s)
{
	if (!*s || strlen(s) > 19)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int replay_parse(char *buf, int64_t *epoch, uint64_t *seq, const char **prefixes,
		 int *nprefixes, const char **err)
{
	char *save = NULL, *tok;
	const char *e, *s;

	*nprefixes = 0;
	tok = strtok_r(buf, " ", &save);
	if (!tok || strcmp(tok, "since") != 0) {
		*err = "expected: since <epoch> <seq> [prefix ...]";
		return -EINVAL;
	}
	e = strtok_r(NULL, " ", &save);
	s = strtok_r(NULL, " ", &save);
	if (!e || !s || !replay_is_decimal(e) || !replay_is_decimal(s)) {
		*err = "epoch and seq must be decimal numbers";
		return -EINVAL;
	}
	*epoch = strtoll(e, NULL, 10);
	*seq = strtoull(s, NULL, 10);
	while ((tok = strtok_r(NULL, " ", &save))) {
		if (*nprefixes == REPLAY_MAX_PREFIXES) {
			*err = "too many prefixes";
			return -EINVAL;
		}
		for (const char *p = tok; *p; p++) {
			if (*p <= ' ' || *p > '~') {
				*err = "prefixes must be printable ASCII";
				return -EINVAL;
			}
		}
		prefixes[(*nprefixes)++] = tok;
	}
	return 0;
}

static int replay_row(void *arg, uint64_t seq, const char *topic, const char *payload)
{
	struct replay_reply *rr = arg;
	int match = rr->nprefixes == 0;

	(void)seq;
	for (int i = 0; i < rr->nprefixes && !match; i++)
		match = strncmp(topic, rr->prefixes[i], strlen(rr->prefixes[i])) == 0;
	if (!match || !zap_client_may_read(rr->cfg, rr->client, topic))
		return 0;
	zmsg_send_str(rr->sock, topic, ZMQ_SNDMORE);
	zmsg_send_str(rr->sock, payload, ZMQ_SNDMORE);
	rr->bytes += strlen(topic) + strlen(payload);
	return ++rr->sent >= REPLAY_BATCH || rr->bytes >= REPLAY_MAX_BYTES;
}

/* Send the routing envelope: identity, and the empty delimiter when the
 * client (a REQ socket) sent one. Fails (-EAGAIN, -EHOSTUNREACH) when
 * the peer's queue is full or the peer is gone: nothing is sent then. */
static int replay_envelope(void *sock, const struct zmsg *m, int delimited)
{
	int e = zmsg_send(sock, zmsg_data(m, 0), zmsg_size(m, 0), ZMQ_SNDMORE);
	int events;
	size_t len = sizeof(events);

	if (e == -EAGAIN) {
		/* The socket learns what a peer has read from commands it
		 * handles lazily: handle them, then judge the queue again. */
		zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len);
		e = zmsg_send(sock, zmsg_data(m, 0), zmsg_size(m, 0), ZMQ_SNDMORE);
	}

	if (e == 0 && delimited)
		zmsg_send(sock, "", 0, ZMQ_SNDMORE);
	return e;
}

static void replay_error(void *sock, const struct zmsg *m, int delimited, const char *text)
{
	if (replay_envelope(sock, m, delimited) < 0)
		return;
	zmsg_send_str(sock, "error", ZMQ_SNDMORE);
	zmsg_send_str(sock, text, 0);
}

/* A property of the connection a message came on. The ROUTER's identity
 * frame is made locally and carries none: ask the last frame received. */
static const char *replay_property(const struct zmsg *m, const char *name)
{
	return zmq_msg_gets((zmq_msg_t *)&m->f[m->n - 1], name);
}

/* Who is asking, for the rate limit: the CURVE key's user id, else the
 * routing id the ROUTER gave the connection (or the peer chose), in hex
 * with the peer's address for the log. */
static void replay_client(const struct zmsg *m, char *buf, size_t len)
{
	const char *who = replay_property(m, "User-Id");
	const char *addr = replay_property(m, "Peer-Address");
	const unsigned char *id = zmsg_data(m, 0);
	size_t n = zmsg_size(m, 0), at;

	if (who && *who) {
		snprintf(buf, len, "key %s", who);
		return;
	}
	at = (size_t)snprintf(buf, len, "%s#", addr && *addr ? addr : "local");
	for (size_t i = 0; i < n && at + 3 <= len; i++, at += 2)
		snprintf(buf + at, len - at, "%02x", id[i]);
}

static void replay_answer(struct replay *rp, void *sock, struct journal *j,
			  uint64_t published, const struct zmsg *m)
{
	char req[REPLAY_MAX_REQUEST + 1], who[128], end[256];
	const char *prefixes[REPLAY_MAX_PREFIXES], *err = NULL;
	struct replay_reply rr = { .sock = sock, .prefixes = prefixes, .cfg = rp->cfg };
	int delimited = m->n >= 2 && zmsg_size(m, 1) == 0;
	int body = delimited ? 2 : 1, n;
	int64_t epoch;
	uint64_t after, last;

	replay_client(m, who, sizeof(who));
	rr.client = replay_property(m, "User-Id");
	if (m->total != body + 1)
		err = "a request is one frame: since <epoch> <seq> [prefix ...]";
	else if (zmsg_size(m, body) > REPLAY_MAX_REQUEST)
		err = "request too large";
	else if (zmsg_str(m, body, req, sizeof(req)) < 0)
		err = "request is not text";
	else if (replay_parse(req, &epoch, &after, prefixes, &rr.nprefixes, &err) == 0 &&
		 !replay_allow(rp, who))
		err = "rate limited, ask again later";
	if (err) {
		rp->refused++;
		log_debug(NULL, "replay request from %s refused: %s", who, err);
		replay_error(sock, m, delimited, err);
		return;
	}
	if (epoch != journal_epoch(j) || after > published)
		after = 0;
	if (replay_envelope(sock, m, delimited) < 0) {
		/* Not read: the reply would only wait in memory. */
		if (rp->unread++ % 1000 == 0)
			log_warn(NULL, "replay: %s does not read its replies, %lu request(s) "
				 "left unanswered so far", who, rp->unread);
		return;
	}
	zmsg_send_str(sock, "alerts", ZMQ_SNDMORE);
	n = journal_read(j, after, REPLAY_SCAN, replay_row, &rr, &last);
	if (n < 0) {
		log_err(NULL, "replay: reading the journal: %s", journal_error(j));
		last = after;
	}
	snprintf(end, sizeof(end),
		 "{\"instance\":\"%s\",\"epoch\":%" PRId64 ",\"seq\":%" PRIu64
		 ",\"last\":%" PRIu64 ",\"count\":%d,\"first\":%" PRIu64 "}",
		 rp->cfg->instance, journal_epoch(j), journal_committed(j), last, rr.sent,
		 journal_oldest(j));
	zmsg_send_str(sock, "end", ZMQ_SNDMORE);
	zmsg_send_str(sock, end, 0);
	rp->served++;
}

int replay_socket(void *router)
{
	int hwm = REPLAY_PEER_QUEUE, mandatory = 1;

	if (zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
	    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof(mandatory)) < 0)
		return -errno;
	return 0;
}

void replay_serve(struct replay *rp, void *router, struct journal *j, uint64_t published)
{
	struct zmsg m;

	/* Bounded, so that intake keeps its turn under a request flood. */
	for (int i = 0; i < 64 && zmsg_recv(&m, router, ZMQ_DONTWAIT) == 0; i++) {
		if (m.n >= 1)
			replay_answer(rp, router, j, published, &m);
		zmsg_close(&m);
	}
}
