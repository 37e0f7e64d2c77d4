/* vigil-tail: print vigil alerts as they are published.
 *
 *   vigil-tail [--connect ENDPOINT | -c CONFIG] [--json] [--hb]
 *              [--count N] [--timeout SECONDS] [PREFIX ...]
 *
 * Subscribes to the given topic prefixes (default "alert.") and prints one
 * readable line per alert, or the JSON payload with --json. Reports gaps
 * in the sequence numbers of each instance. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libconfig.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static volatile sig_atomic_t tail_stop;

static void tail_on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

struct tail {
	int json, show_hb;
	long long epoch;
	long long last_seq;     /* newest seq seen, -1 before the first */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vigil-tail [--connect ENDPOINT | -c CONFIG] [--json] [--hb]\n"
		"                  [--count N] [--timeout SECONDS] [PREFIX ...]\n"
		"  --connect ENDPOINT  PUB endpoint (default tcp://127.0.0.1:7700)\n"
		"  -c, --config FILE   take the endpoint from alerts.publish of a vigil config\n"
		"  --json              print payloads as JSON, one per line\n"
		"  --hb                also show heartbeats\n"
		"  --count N           exit after N alerts\n"
		"  --timeout SECONDS   exit (status 1) when nothing arrives for this long\n"
		"  PREFIX              topic prefixes (default: alert.)\n");
}

static const char *tail_str(json_object *o, const char *key, const char *def)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return def;
}

static long long tail_int(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v))
		return json_object_get_int64(v);
	return -1;
}

/* Warn when the sequence of an instance jumps. */
static void tail_check_seq(struct tail *t, json_object *o, int heartbeat)
{
	long long epoch = tail_int(o, "epoch"), seq = tail_int(o, "seq");

	if (epoch != t->epoch) {
		if (t->last_seq >= 0)
			fprintf(stderr, "vigil-tail: instance %s started a new epoch %lld\n",
				tail_str(o, "instance", "?"), epoch);
		t->epoch = epoch;
		t->last_seq = heartbeat ? seq : seq - 1;
	}
	if (seq > t->last_seq + (heartbeat ? 0 : 1) && t->last_seq >= 0)
		fprintf(stderr, "vigil-tail: missed %lld alert(s) after seq %lld\n",
			seq - t->last_seq - (heartbeat ? 0 : 1), t->last_seq);
	if (seq > t->last_seq)
		t->last_seq = seq;
}

static void tail_print(struct tail *t, json_object *o, const char *payload)
{
	json_object *boxes, *b;

	if (t->json) {
		printf("%s\n", payload);
		return;
	}
	printf("%s  #%-5lld %-6s %-15s %-8s %s \"%s\" %s/%s", tail_str(o, "ts", "?"),
	       tail_int(o, "seq"), tail_str(o, "phase", "?"), tail_str(o, "type", "?"),
	       tail_str(o, "severity", "?"), tail_str(o, "camera", "?"),
	       tail_str(o, "name", ""), tail_str(o, "district", "?"), tail_str(o, "grid", "?"));
	if (json_object_object_get_ex(o, "duration", &b))
		printf("  %.1f s", json_object_get_double(b));
	if (json_object_object_get_ex(o, "boxes", &boxes) &&
	    json_object_is_type(boxes, json_type_array) && json_object_array_length(boxes) > 0) {
		b = json_object_array_get_idx(boxes, 0);
		if (json_object_is_type(b, json_type_array) && json_object_array_length(b) == 4)
			printf("  box x=%.2f y=%.2f w=%.2f h=%.2f",
			       json_object_get_double(json_object_array_get_idx(b, 0)),
			       json_object_get_double(json_object_array_get_idx(b, 1)),
			       json_object_get_double(json_object_array_get_idx(b, 2)),
			       json_object_get_double(json_object_array_get_idx(b, 3)));
		if (json_object_array_length(boxes) > 1)
			printf(" (+%zu)", json_object_array_length(boxes) - 1);
	}
	if (strcmp(tail_str(o, "detail", ""), "") != 0)
		printf("  (%s)", tail_str(o, "detail", ""));
	if (json_object_object_get_ex(o, "clip", &b) && json_object_is_type(b, json_type_string))
		printf("  clip %s", json_object_get_string(b));
	printf("\n");
}

/* Receive one [topic, payload, ...] message; returns 1 for an alert. */
static int tail_receive(struct tail *t, void *sub)
{
	char topic[256], payload[65536];
	int tn, pn, more = 0;
	size_t more_size = sizeof(more);
	json_object *o;
	int is_hb, alert = 0;

	tn = zmq_recv(sub, topic, sizeof(topic) - 1, 0);
	if (tn < 0)
		return 0;
	topic[tn < (int)sizeof(topic) - 1 ? tn : (int)sizeof(topic) - 1] = '\0';
	zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &more_size);
	if (!more) {
		fprintf(stderr, "vigil-tail: message on '%s' without payload, ignored\n", topic);
		return 0;
	}
	pn = zmq_recv(sub, payload, sizeof(payload) - 1, 0);
	if (pn < 0)
		return 0;
	payload[pn < (int)sizeof(payload) - 1 ? pn : (int)sizeof(payload) - 1] = '\0';
	/* Drop further frames (thumbnail). */
	zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &more_size);
	while (more) {
		char skip[16];
		zmq_recv(sub, skip, sizeof(skip), 0);
		zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &more_size);
	}
	o = json_tokener_parse(payload);
	if (!o || !json_object_is_type(o, json_type_object)) {
		fprintf(stderr, "vigil-tail: payload on '%s' is not a JSON object, ignored\n", topic);
		json_object_put(o);
		return 0;
	}
	is_hb = strcmp(topic, "hb") == 0;
	tail_check_seq(t, o, is_hb);
	if (is_hb) {
		if (t->show_hb)
			printf("heartbeat %s epoch %lld seq %lld\n", tail_str(o, "instance", "?"),
			       tail_int(o, "epoch"), tail_int(o, "seq"));
	} else {
		tail_print(t, o, payload);
		alert = 1;
	}
	fflush(stdout);
	json_object_put(o);
	return alert;
}

static char *tail_endpoint_from_config(const char *path)
{
	config_t lc;
	const char *ep = NULL;
	char *out = NULL;

	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE)
		fprintf(stderr, "vigil-tail: %s:%d: %s\n", path, config_error_line(&lc),
			config_error_text(&lc));
	else if (config_lookup_string(&lc, "alerts.publish", &ep) != CONFIG_TRUE)
		fprintf(stderr, "vigil-tail: %s: no alerts.publish\n", path);
	else
		out = strdup(ep);
	config_destroy(&lc);
	return out;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "hb", no_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tail t = { .last_seq = -1, .epoch = -1 };
	char *endpoint = strdup("tcp://127.0.0.1:7700");
	long count = 0, got = 0;
	double timeout = 0;
	int opt, linger = 0, status = 0;
	void *ctx, *sub;
	struct timespec last, now;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e': free(endpoint); endpoint = strdup(optarg); break;
		case 'c':
			free(endpoint);
			endpoint = tail_endpoint_from_config(optarg);
			if (!endpoint)
				return 2;
			break;
		case 'j': t.json = 1; break;
		case 'b': t.show_hb = 1; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'T': timeout = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	signal(SIGINT, tail_on_signal);
	signal(SIGTERM, tail_on_signal);
	ctx = zmq_ctx_new();
	sub = zmq_socket(ctx, ZMQ_SUB);
	zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_connect(sub, endpoint) < 0) {
		fprintf(stderr, "vigil-tail: cannot connect to %s: %s\n", endpoint, zmq_strerror(errno));
		return 2;
	}
	if (optind == argc)
		zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "alert.", 6);
	for (int i = optind; i < argc; i++)
		zmq_setsockopt(sub, ZMQ_SUBSCRIBE, argv[i], strlen(argv[i]));
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "hb", 2);
	fprintf(stderr, "vigil-tail: listening on %s\n", endpoint);
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!tail_stop && (count <= 0 || got < count)) {
		zmq_pollitem_t item = { .socket = sub, .events = ZMQ_POLLIN };
		if (zmq_poll(&item, 1, 200) > 0) {
			got += tail_receive(&t, sub);
			clock_gettime(CLOCK_MONOTONIC, &last);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout > 0 && (double)(now.tv_sec - last.tv_sec) +
			(double)(now.tv_nsec - last.tv_nsec) / 1e9 > timeout) {
			fprintf(stderr, "vigil-tail: nothing received for %.0f s\n", timeout);
			status = 1;
			break;
		}
	}
	zmq_close(sub);
	zmq_ctx_term(ctx);
	free(endpoint);
	return status;
}
