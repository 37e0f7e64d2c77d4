/* Relay process; see relay.h.
 *
 * Workers push payloads over ipc://; the relay checks each one, gives it
 * the instance name, an epoch and the next sequence number, and publishes
 * it as [topic, payload]. Malformed payloads are logged and dropped: they
 * never reach subscribers and never stop the relay. */
#include "relay.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "status.h"
#include "worker.h"

#define RELAY_HEARTBEAT_MS 1000
#define RELAY_MAX_PAYLOAD  65536

struct relay {
	const struct vigil_config *cfg;
	void *pull, *pub;
	long long epoch;
	unsigned long long seq;
};

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

static int relay_send(void *sock, const char *topic, const char *payload)
{
	if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE) < 0)
		return -errno;
	if (zmq_send(sock, payload, strlen(payload), 0) < 0)
		return -errno;
	return 0;
}

/* Number and publish one payload from a worker. */
static void relay_handle(struct relay *r, const char *data, size_t size)
{
	char topic[256];
	json_object *o;
	const char *out;

	if (size > RELAY_MAX_PAYLOAD) {
		log_warn(NULL, "payload of %zu bytes from a worker is too large, dropped", size);
		return;
	}
	o = json_tokener_parse(data);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    relay_topic_of(o, topic, sizeof(topic)) < 0) {
		log_warn(NULL, "malformed alert from a worker, dropped");
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "instance", json_object_new_string(r->cfg->instance));
	json_object_object_add(o, "epoch", json_object_new_int64(r->epoch));
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)++r->seq));
	out = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (relay_send(r->pub, topic, out) < 0)
		log_err(NULL, "publishing seq %llu: %s", r->seq, zmq_strerror(errno));
	json_object_put(o);
}

static void relay_heartbeat(struct relay *r)
{
	char payload[256];

	snprintf(payload, sizeof(payload),
		 "{\"instance\":\"%s\",\"epoch\":%lld,\"seq\":%llu}",
		 r->cfg->instance, r->epoch, r->seq);
	relay_send(r->pub, "hb", payload);
}

/* Read one message from the pull socket; multipart leftovers are
 * discarded so that one bad sender cannot desynchronise the stream. */
static void relay_receive(struct relay *r)
{
	zmq_msg_t msg;
	int more;

	for (;;) {
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, r->pull, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		more = zmq_msg_more(&msg);
		if (!more) {
			size_t n = zmq_msg_size(&msg);
			char *s = malloc(n + 1);
			if (s) {
				memcpy(s, zmq_msg_data(&msg), n);
				s[n] = '\0';
				relay_handle(r, s, n);
				free(s);
			}
		} else {
			log_warn(NULL, "multipart message from a worker, dropped");
			while (more) {
				zmq_msg_close(&msg);
				zmq_msg_init(&msg);
				if (zmq_msg_recv(&msg, r->pull, 0) < 0)
					break;
				more = zmq_msg_more(&msg);
			}
		}
		zmq_msg_close(&msg);
	}
}

static int relay_bind(void *sock, const char *endpoint, const char *what)
{
	if (zmq_bind(sock, endpoint) == 0)
		return 0;
	log_err(NULL, "cannot bind %s endpoint %s: %s", what, endpoint, zmq_strerror(errno));
	return -1;
}

int relay_run(const struct vigil_config *cfg, int status_fd)
{
	struct status_page *page = status_fd >= 0 ? status_page_map(status_fd) : NULL;
	struct relay r = { .cfg = cfg, .epoch = (long long)time(NULL) };
	char endpoint[512];
	int linger = 1000, sfd, status = 1;
	sigset_t set;
	void *ctx;
	struct timespec next_hb;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	ctx = zmq_ctx_new();
	r.pull = zmq_socket(ctx, ZMQ_PULL);
	r.pub = zmq_socket(ctx, ZMQ_PUB);
	zmq_setsockopt(r.pull, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(r.pub, ZMQ_LINGER, &linger, sizeof(linger));
	worker_relay_endpoint(cfg, endpoint, sizeof(endpoint));
	/* Only the daemon's user may connect to the ipc socket. */
	mode_t old = umask(0077);
	int bound = relay_bind(r.pull, endpoint, "worker");
	umask(old);
	if (bound < 0 || relay_bind(r.pub, cfg->publish, "publish") < 0)
		goto out;
	log_info(NULL, "publishing alerts on %s, epoch %lld", cfg->publish, r.epoch);
	clock_gettime(CLOCK_MONOTONIC, &next_hb);
	status_beat(page);
	if (page)
		atomic_store(&page->ready, 1);

	for (;;) {
		zmq_pollitem_t items[] = {
			{ .socket = r.pull, .events = ZMQ_POLLIN },
			{ .fd = sfd, .events = ZMQ_POLLIN },
		};
		struct signalfd_siginfo si;
		struct timespec now;
		long wait_ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		wait_ms = (next_hb.tv_sec - now.tv_sec) * 1000 +
			  (next_hb.tv_nsec - now.tv_nsec) / 1000000;
		if (wait_ms <= 0) {
			relay_heartbeat(&r);
			status_beat(page);
			next_hb = now;
			next_hb.tv_sec += RELAY_HEARTBEAT_MS / 1000;
			wait_ms = RELAY_HEARTBEAT_MS;
		}
		if (zmq_poll(items, 2, wait_ms) < 0 && errno != EINTR) {
			log_err(NULL, "poll: %s", zmq_strerror(errno));
			break;
		}
		relay_receive(&r);
		if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
			log_info(NULL, "signal %d, stopping after seq %llu", (int)si.ssi_signo, r.seq);
			status = 0;
			break;
		}
	}
out:
	zmq_close(r.pull);
	zmq_close(r.pub);
	zmq_ctx_term(ctx);
	if (sfd >= 0)
		close(sfd);
	status_page_unmap(page);
	return status;
}
