/* Following the nodes: one thread per node (configured, or a member of
 * the cluster found by members.c), with vigil-tail's
 * source (tools/tail_source.c) for the SUB and replay sockets, so gaps in
 * seq are filled by replay exactly as vigil-tail does. Each alert the
 * source delivers is stored (once: instance, epoch, seq) and, when new,
 * pushed to the hub. On start a node resumes from the newest seq stored
 * for its instance, so a restarted console backfills what it missed. */
#include "console.h"
#include "tail.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define INGEST_POLL_MS  200
#define INGEST_HB_LIMIT 5.0

struct ingest_node {
	struct ingest *in;
	const struct console_node *node;
	struct tail_opts opts;
	struct tail_source src;
	struct store store;
	pthread_t thread;
	int started;
};

struct ingest {
	struct console_config *cfg;
	struct hub *hub;
	void *ctx;
	_Atomic int stop;
	struct members *members;
	struct ingest_node nodes[CONSOLE_MAX_NODES];
};

static void ingest_deliver(const struct tail_opts *o, json_object *a, const char *payload)
{
	struct ingest_node *n = o->user;
	char district[CONSOLE_NAME_MAX], *view = NULL;

	int r = store_alert(&n->store, n->node->name, a, payload, &view, district,
			    sizeof(district));

	if (r == -EINVAL)
		fprintf(stderr, "vigil-console: node %s: alert seq %lld without instance or id, "
			"ignored\n", n->node->name, (long long)jint(a, "seq", -1));
	if (r == 1 && view)
		hub_push(n->in->hub, "alert", district, view);
	free(view);
}

static void *ingest_run(void *arg)
{
	struct ingest_node *n = arg;
	struct tail_cursor *cursors = NULL;
	int ncursors = 0, announced = 0;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (store_positions(&n->store, &cursors, &ncursors) < 0)
		fprintf(stderr, "vigil-console: node %s: cannot read stored positions: %s\n",
			n->node->name, sqlite3_errmsg(n->store.db));
	for (int i = 0; i < ncursors; i++)
		fprintf(stderr, "vigil-console: node %s: resuming %s after epoch %lld seq %lld if "
			"it is there\n", n->node->name, cursors[i].instance,
			(long long)cursors[i].epoch, (long long)cursors[i].seq);
	while (!n->in->stop) {
		zmq_pollitem_t item = { .socket = n->src.sub, .events = ZMQ_POLLIN };

		zmq_poll(&item, 1, INGEST_POLL_MS);
		tail_source_receive(&n->src, cursors, ncursors);
		if (!announced && n->src.instance[0]) {
			announced = 1;
			fprintf(stderr, "vigil-console: node %s: in contact with instance %s, epoch "
				"%lld, at seq %lld\n", n->node->name, n->src.instance,
				(long long)n->src.epoch, (long long)n->src.pos);
		}
		tail_source_check_hb(&n->src, tail_now(), INGEST_HB_LIMIT);
	}
	free(cursors);
	return NULL;
}

int ingest_follow(struct ingest *in, int i)
{
	const struct console_config *c = in->cfg;
	struct ingest_node *n = &in->nodes[i];

	n->in = in;
	n->node = &c->nodes[i];
	n->opts = (struct tail_opts){ .deliver = ingest_deliver, .user = n,
				      .prog = "vigil-console",
				      .server_key_file = c->nodes[i].server_key,
				      .key_file = c->nodes[i].server_key ? c->client_key : NULL };
	n->src.publish = c->nodes[i].alerts;
	n->src.replay = c->nodes[i].replay;
	if (store_open(&n->store, c->db, c) < 0 ||
	    tail_source_open(&n->src, in->ctx, &n->opts) < 0 ||
	    pthread_create(&n->thread, NULL, ingest_run, n) != 0) {
		fprintf(stderr, "vigil-console: node %s: cannot follow %s\n", n->node->name,
			n->node->alerts);
		return -1;
	}
	n->started = 1;
	fprintf(stderr, "vigil-console: node %s: following %s%s%s%s\n", n->node->name,
		n->node->alerts, n->node->replay ? ", replay " : "",
		n->node->replay ? n->node->replay : "", n->node->server_key ? " (CURVE)" : "");
	return 0;
}

struct ingest *ingest_start(struct console_config *c, struct hub *h)
{
	struct ingest *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->cfg = c;
	in->hub = h;
	in->ctx = zmq_ctx_new();
	for (int i = 0; i < c->nnodes; i++)
		if (ingest_follow(in, i) < 0) {
			ingest_stop(in);
			return NULL;
		}
	if (c->cluster.zookeeper && !(in->members = members_start(c, in))) {
		ingest_stop(in);
		return NULL;
	}
	return in;
}

void ingest_stop(struct ingest *in)
{
	if (!in)
		return;
	/* No node is added after this. */
	members_stop(in->members);
	in->stop = 1;
	for (int i = 0; i < in->cfg->nnodes; i++) {
		struct ingest_node *n = &in->nodes[i];
		if (n->started)
			pthread_join(n->thread, NULL);
		tail_source_close(&n->src);
		store_close(&n->store);
	}
	zmq_ctx_term(in->ctx);
	free(in);
}
