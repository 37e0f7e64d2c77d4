/* One vigil instance seen by vigil-tail; see tail.h. */
#include "tail.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define TAIL_REPLAY_TIMEOUT_MS 3000
#define TAIL_REPLAY_ROUNDS     10000   /* batches per catch-up, at most */
#define TAIL_RETRY_S           0.2     /* between failed catch-ups */
#define TAIL_MAX_FRAMES        1100    /* 2 per alert of a batch, plus 3 */

#define tail_log(o, fmt, ...) \
	fprintf(stderr, "%s: " fmt, (o)->prog ? (o)->prog : "vigil-tail", ##__VA_ARGS__)

double tail_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t tail_int(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return -1;
}

static const char *tail_str(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* Load the client's CURVE keys onto a socket when configured. */
static int tail_curve(void *sock, const struct tail_opts *o)
{
	char server[64] = "", key[64] = "", pub[64] = "";
	FILE *f;

	if (!o->server_key_file)
		return 0;
	f = fopen(o->server_key_file, "r");
	if (!f && strlen(o->server_key_file) == 40) {
		/* Not a file but the key itself (Z85). */
		snprintf(server, sizeof(server), "%s", o->server_key_file);
	} else if (!f || fscanf(f, "%40s", server) != 1) {
		tail_log(o, "cannot read server key %s\n", o->server_key_file);
		if (f)
			fclose(f);
		return -1;
	}
	if (f)
		fclose(f);
	f = o->key_file ? fopen(o->key_file, "r") : NULL;
	if (!f || fscanf(f, "%40s %40s", key, pub) != 2) {
		tail_log(o, "cannot read client key %s (made by vigilctl keygen)\n",
			o->key_file ? o->key_file : "(none: use --key)");
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, 40) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, key, 40) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40) < 0) {
		tail_log(o, "bad CURVE key: %s\n", zmq_strerror(errno));
		return -1;
	}
	return 0;
}

static int tail_open_req(struct tail_source *s)
{
	int linger = 0;

	s->req = zmq_socket(s->ctx, ZMQ_DEALER);
	zmq_setsockopt(s->req, ZMQ_LINGER, &linger, sizeof(linger));
	if (tail_curve(s->req, s->opts) < 0 || zmq_connect(s->req, s->replay) < 0) {
		tail_log(s->opts, "cannot connect to %s: %s\n", s->replay,
			zmq_strerror(errno));
		return -1;
	}
	return 0;
}

int tail_source_open(struct tail_source *s, void *ctx, const struct tail_opts *o)
{
	int linger = 0;

	s->ctx = ctx;
	s->opts = o;
	s->epoch = -1;
	s->pos = -1;
	s->last_hb = tail_now();
	s->sub = zmq_socket(ctx, ZMQ_SUB);
	zmq_setsockopt(s->sub, ZMQ_LINGER, &linger, sizeof(linger));
	if (tail_curve(s->sub, o) < 0)
		return -1;
	if (o->nprefixes == 0)
		zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, "alert.", 6);
	for (int i = 0; i < o->nprefixes; i++)
		zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, o->prefixes[i], strlen(o->prefixes[i]));
	zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, "hb", 2);
	if (zmq_connect(s->sub, s->publish) < 0) {
		tail_log(s->opts, "cannot connect to %s: %s\n", s->publish,
			zmq_strerror(errno));
		return -1;
	}
	return s->replay ? tail_open_req(s) : 0;
}

void tail_source_close(struct tail_source *s)
{
	if (!s)
		return;
	zmq_close(s->sub);
	zmq_close(s->req);
	s->sub = s->req = NULL;
}

/* Print a stored or live alert if it is the next one; returns 1 when
 * printed. */
static int tail_deliver(struct tail_source *s, json_object *a, const char *payload)
{
	int64_t seq = tail_int(a, "seq");
	struct tail_opts *o = (struct tail_opts *)s->opts;

	if (seq <= s->pos || (o->count > 0 && o->printed >= o->count))
		return 0;
	o->deliver(o, a, payload);
	o->printed++;
	s->pos = seq;
	s->dirty = 1;
	return 1;
}

struct tail_frames {
	zmq_msg_t f[TAIL_MAX_FRAMES];
	int n, total;
};

static void tail_frames_close(struct tail_frames *m)
{
	for (int i = 0; i < m->n; i++)
		zmq_msg_close(&m->f[i]);
	m->n = 0;
}

static int tail_frames_recv(struct tail_frames *m, void *sock)
{
	zmq_msg_t extra;
	int more;

	m->n = m->total = 0;
	do {
		zmq_msg_t *f = m->n < TAIL_MAX_FRAMES ? &m->f[m->n] : &extra;
		zmq_msg_init(f);
		if (zmq_msg_recv(f, sock, 0) < 0) {
			zmq_msg_close(f);
			tail_frames_close(m);
			return -1;
		}
		more = zmq_msg_more(f);
		m->total++;
		if (f == &extra)
			zmq_msg_close(f);
		else
			m->n++;
	} while (more);
	return 0;
}

static char *tail_frame_str(struct tail_frames *m, int i)
{
	size_t n = zmq_msg_size(&m->f[i]);
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, zmq_msg_data(&m->f[i]), n);
		s[n] = '\0';
	}
	return s;
}

/* Print the alerts of one replay reply; returns 1 when more remain, 0
 * when caught up, -1 on error. */
static int tail_replay_reply(struct tail_source *s, struct tail_frames *m)
{
	char *status = m->n >= 2 ? tail_frame_str(m, 1) : NULL;
	char *end = NULL;
	json_object *eo = NULL;
	int i, r = -1;

	if (!status || m->total != m->n)
		goto out;
	if (strcmp(status, "error") == 0 && m->n == 3) {
		char *text = tail_frame_str(m, 2);
		tail_log(s->opts, "%s: replay refused: %s\n", s->replay, text ? text : "?");
		free(text);
		goto out;
	}
	if (strcmp(status, "alerts") != 0 || m->n < 4)
		goto out;
	end = tail_frame_str(m, m->n - 1);
	eo = end ? json_tokener_parse(end) : NULL;
	if (!eo || tail_int(eo, "seq") < 0 || tail_int(eo, "last") < 0 || tail_int(eo, "epoch") < 0)
		goto out;
	if (tail_int(eo, "epoch") != s->epoch) {
		if (s->epoch >= 0)
			tail_log(s->opts, "instance %s has a new epoch %" PRId64
				" (journal lost): reading it from the start\n", s->instance,
				tail_int(eo, "epoch"));
		s->epoch = tail_int(eo, "epoch");
		s->pos = 0;
	}
	if (tail_int(eo, "first") > s->pos + 1 && s->pos >= 0)
		tail_log(s->opts, "alerts %" PRId64 "..%" PRId64 " of %s are past the "
			"journal's retention, skipped\n", s->pos + 1, tail_int(eo, "first") - 1,
			s->instance);
	for (i = 2; i + 1 < m->n - 2; i += 2) {
		char *p = tail_frame_str(m, i + 1);
		json_object *a = p ? json_tokener_parse(p) : NULL;
		if (a)
			tail_deliver(s, a, p);
		json_object_put(a);
		free(p);
	}
	if (s->opts->count > 0 && s->opts->printed >= s->opts->count) {
		r = 0;
		goto out;
	}
	if (tail_int(eo, "last") > s->pos) {
		s->pos = tail_int(eo, "last");
		s->dirty = 1;
	}
	r = tail_int(eo, "last") < tail_int(eo, "seq");
out:
	if (r < 0 && status && strcmp(status, "error") != 0)
		tail_log(s->opts, "%s: malformed replay reply\n", s->replay);
	json_object_put(eo);
	free(end);
	free(status);
	return r;
}

/* Ask replay for everything after the position, batch by batch. */
static int tail_catch_up(struct tail_source *s)
{
	char req[4096];
	int r = -1;

	if (!s->req || tail_now() - s->last_try < TAIL_RETRY_S) {
		s->behind = 1;
		return -1;
	}
	s->last_try = tail_now();
	for (int round = 0; round < TAIL_REPLAY_ROUNDS; round++) {
		struct tail_frames *m = malloc(sizeof(*m));
		zmq_pollitem_t item = { .socket = s->req, .events = ZMQ_POLLIN };
		int n = snprintf(req, sizeof(req), "since %" PRId64 " %" PRId64,
				 s->epoch < 0 ? 0 : s->epoch, s->pos < 0 ? 0 : s->pos);

		/* Replay what the live socket subscribes to: with no prefixes
		 * given, alerts only (not count messages and the like). */
		if (s->opts->nprefixes == 0)
			n += snprintf(req + n, sizeof(req) - (size_t)n, " alert.");
		for (int i = 0; i < s->opts->nprefixes && n < (int)sizeof(req); i++)
			n += snprintf(req + n, sizeof(req) - (size_t)n, " %s", s->opts->prefixes[i]);
		if (!m || zmq_send(s->req, "", 0, ZMQ_SNDMORE) < 0 ||
		    zmq_send(s->req, req, strlen(req), 0) < 0 ||
		    zmq_poll(&item, 1, TAIL_REPLAY_TIMEOUT_MS) <= 0 || tail_frames_recv(m, s->req) < 0) {
			tail_log(s->opts, "no answer from replay endpoint %s\n", s->replay);
			/* A late answer must not be taken for the next one. */
			zmq_close(s->req);
			tail_open_req(s);
			free(m);
			r = -1;
			break;
		}
		r = tail_replay_reply(s, m);
		tail_frames_close(m);
		free(m);
		if (r <= 0)
			break;
	}
	s->behind = r < 0;
	return r;
}

/* First message from an instance: start at its saved cursor (and catch
 * up) or here. */
static void tail_first_contact(struct tail_source *s, json_object *o, int hb,
			       const struct tail_cursor *cur, int ncur)
{
	snprintf(s->instance, sizeof(s->instance), "%s", tail_str(o, "instance"));
	for (int i = 0; i < ncur; i++) {
		if (strcmp(cur[i].instance, s->instance) == 0) {
			s->epoch = cur[i].epoch;
			s->pos = cur[i].seq;
			tail_catch_up(s);
			return;
		}
	}
	s->epoch = tail_int(o, "epoch");
	s->pos = tail_int(o, "seq") - (hb ? 0 : 1);
	s->dirty = 1;
}

/* One live message: alert or heartbeat. */
static int tail_live(struct tail_source *s, const char *topic, const char *payload,
		     const struct tail_cursor *cur, int ncur)
{
	json_object *o = json_tokener_parse(payload);
	int hb = strcmp(topic, "hb") == 0, printed = 0;
	int64_t seq = -1, epoch = -1;

	if (!o || !tail_str(o, "instance") || (seq = tail_int(o, "seq")) < 0 ||
	    (epoch = tail_int(o, "epoch")) < 0) {
		tail_log(s->opts, "malformed message on '%s' from %s, ignored\n", topic,
			s->publish);
		json_object_put(o);
		return 0;
	}
	if (hb) {
		s->last_hb = tail_now();
		if (s->hb_warned)
			tail_log(s->opts, "instance %s is back\n", s->instance);
		s->hb_warned = 0;
		if (s->opts->show_hb)
			printf("heartbeat %s epoch %" PRId64 " seq %" PRId64 "\n",
			       tail_str(o, "instance"), epoch, seq);
	}
	if (s->pos < 0)
		tail_first_contact(s, o, hb, cur, ncur);
	if (epoch != s->epoch || s->behind || seq > s->pos + (hb ? 0 : 1)) {
		if (!s->req && epoch == s->epoch && !hb)
			tail_log(s->opts, "missed %" PRId64 " alert(s) of %s after seq %"
				PRId64 " (no replay endpoint)\n", seq - s->pos - 1, s->instance, s->pos);
		if (!s->req) {
			s->epoch = epoch;
			s->pos = hb ? seq : seq - 1;
		} else {
			tail_catch_up(s);
		}
	}
	if (!hb && !s->behind && epoch == s->epoch)
		printed = tail_deliver(s, o, payload);
	json_object_put(o);
	return printed;
}

/* Write a printed alert's thumbnail to THUMB_DIR/INSTANCE-SEQ.jpg
 * (through a temporary name: a viewer never sees half a picture). */
static void tail_save_thumb(const struct tail_source *s, const char *payload, zmq_msg_t *f)
{
	json_object *o = json_tokener_parse(payload);
	char path[4096], tmp[4200];
	FILE *out;
	int ok;

	if (!o)
		return;
	snprintf(path, sizeof(path), "%s/%s-%lld.jpg", s->opts->thumb_dir,
		 s->instance[0] ? s->instance : "vigil", (long long)tail_int(o, "seq"));
	json_object_put(o);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "wb");
	if (!out) {
		tail_log(s->opts, "cannot write %s: %s\n", tmp, strerror(errno));
		return;
	}
	ok = fwrite(zmq_msg_data(f), 1, zmq_msg_size(f), out) == zmq_msg_size(f);
	ok = fclose(out) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		tail_log(s->opts, "cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
}

int tail_source_receive(struct tail_source *s, const struct tail_cursor *cur, int ncur)
{
	int printed = 0;

	for (;;) {
		struct tail_frames *m = malloc(sizeof(*m));
		zmq_pollitem_t item = { .socket = s->sub, .events = ZMQ_POLLIN };

		if (!m || zmq_poll(&item, 1, 0) <= 0 || tail_frames_recv(m, s->sub) < 0) {
			free(m);
			break;
		}
		/* [topic, payload] and an optional thumbnail. */
		if (m->n >= 2) {
			char *topic = tail_frame_str(m, 0), *payload = tail_frame_str(m, 1);
			int shown = topic && payload ? tail_live(s, topic, payload, cur, ncur) : 0;
			if (shown && m->n >= 3 && s->opts->thumb_dir)
				tail_save_thumb(s, payload, &m->f[2]);
			printed += shown;
			free(topic);
			free(payload);
		}
		tail_frames_close(m);
		free(m);
		if (s->opts->count > 0 && s->opts->printed >= s->opts->count)
			break;
	}
	fflush(stdout);
	return printed;
}

void tail_source_check_hb(struct tail_source *s, double now, double limit)
{
	if (s->hb_warned || now - s->last_hb <= limit)
		return;
	tail_log(s->opts, "no heartbeat from %s for %.0f s\n",
		s->instance[0] ? s->instance : s->publish, now - s->last_hb);
	s->hb_warned = 1;
}
