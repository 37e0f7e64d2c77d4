/* The supervisor's alerts to the relay; see nodealert.h. */
#include "nodealert.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "alert.h"
#include "log.h"
#include "outbox.h"
#include "relaylink.h"
#include "status.h"
#include "topic.h"
#include "zmsg.h"

#define NODEALERT_CAP       256
#define NODEALERT_RESEND_MS 1000

struct nodealert {
	const struct vigil_config *cfg;
	void *ctx, *dealer;
	struct outbox out;
};

struct nodealert *nodealert_open(const struct vigil_config *cfg)
{
	struct nodealert *n = calloc(1, sizeof(*n));
	char endpoint[512], prefix[64];
	int linger = 0;

	if (!n)
		return NULL;
	n->cfg = cfg;
	/* -1: not a worker index; the boot id keeps keys apart. */
	outbox_make_prefix(-1, prefix, sizeof(prefix));
	prefix[0] = 's';
	if (outbox_init(&n->out, NODEALERT_CAP, prefix) < 0 || !(n->ctx = zmq_ctx_new()) ||
	    !(n->dealer = zmq_socket(n->ctx, ZMQ_DEALER))) {
		log_err("cluster", "cannot set up the link to the relay for node alerts");
		nodealert_close(n);
		return NULL;
	}
	zmq_setsockopt(n->dealer, ZMQ_LINGER, &linger, sizeof(linger));
	relaylink_endpoint(cfg->data_dir, endpoint, sizeof(endpoint));
	if (zmq_connect(n->dealer, endpoint) < 0) {
		log_err("cluster", "cannot connect to the relay at %s: %s", endpoint,
			zmq_strerror(errno));
		nodealert_close(n);
		return NULL;
	}
	return n;
}

void nodealert_close(struct nodealert *n)
{
	if (!n)
		return;
	if (n->dealer)
		zmq_close(n->dealer);
	if (n->ctx)
		zmq_ctx_term(n->ctx);
	outbox_destroy(&n->out);
	free(n);
}

void nodealert_push(struct nodealert *n, const struct cluster_alert *a)
{
	const char *sev = strcmp(a->type, "node_down") == 0 ? "high" : "medium";
	char topic[TOPIC_MAX], ts[40], id[160];
	json_object *o;
	struct alert_msg m = { 0 };

	if (!n || topic_format(topic, sizeof(topic), sev, "cluster", n->cfg->zk_cluster, a->node,
			       a->type) < 0)
		return;
	alert_format_time(a->ts_us, ts, sizeof(ts));
	snprintf(id, sizeof(id), "%s-%s-%lld", a->node, a->type, a->ts_us / 1000);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "phase", json_object_new_string("start"));
	json_object_object_add(o, "type", json_object_new_string(a->type));
	json_object_object_add(o, "severity", json_object_new_string(sev));
	json_object_object_add(o, "camera", json_object_new_string(a->node));
	json_object_object_add(o, "name", json_object_new_string(a->node));
	json_object_object_add(o, "district", json_object_new_string("cluster"));
	json_object_object_add(o, "grid", json_object_new_string(n->cfg->zk_cluster));
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "node", json_object_new_string(a->node));
	json_object_object_add(o, "reported_by", json_object_new_string(n->cfg->zk_node));
	if (a->moved_json) {
		json_object_object_add(o, "moved", json_object_new_int(a->moved));
		json_object_object_add(o, "moved_to", json_tokener_parse(a->moved_json));
	}
	if (a->detail)
		json_object_object_add(o, "detail", json_object_new_string(a->detail));
	m.topic = strdup(topic);
	m.payload = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!m.topic || !m.payload || outbox_add_msg(&n->out, &m) < 0) {
		log_err("cluster", "%s alert for %s dropped (out of memory or outbox full)",
			a->type, a->node);
		alert_msg_free(&m);
		return;
	}
	nodealert_pump(n);
}

static int nodealert_send(void *arg, const char *key, const struct alert_msg *m)
{
	return relaylink_send(arg, key, m);
}

void nodealert_pump(struct nodealert *n)
{
	struct zmsg m;
	char key[RELAYLINK_KEY_MAX + 1];

	if (!n)
		return;
	while (zmsg_recv(&m, n->dealer, ZMQ_DONTWAIT) == 0) {
		if (m.total == 1 && zmsg_str(&m, 0, key, sizeof(key)) == 0)
			outbox_ack(&n->out, key);
		zmsg_close(&m);
	}
	if (outbox_waiting(&n->out))
		outbox_send_due(&n->out, status_now_ms(), NODEALERT_RESEND_MS, nodealert_send,
				n->dealer);
}
