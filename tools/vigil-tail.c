/* vigil-tail: the reference subscriber of vigil alerts.
 *
 *   vigil-tail [--connect PUB [--replay ROUTER]]... [-c CONFIG]...
 *              [--cursor FILE] [--json] [--hb] [--count N]
 *              [--timeout SECONDS] [--server-key FILE --key FILE]
 *              [--thumbnails DIR] [--zookeeper HOSTS [--cluster NAME]]
 *              [PREFIX ...]
 *
 * Subscribes to the given topic prefixes (default "alert.") of one or
 * more vigil instances and prints each alert once, in seq order, as a
 * readable line or as its JSON payload. Gaps in seq, heartbeats ahead of
 * what was printed and reconnects are filled from the instance's replay
 * endpoint; --cursor keeps the position across runs. See tail.h for the
 * mechanics and docs/alerts.md for the protocol. */
#include <errno.h>
#include <getopt.h>
#include <libconfig.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "tail.h"

#define TAIL_MAX_SOURCES 32
#define TAIL_HB_LIMIT_S  3.0

static volatile sig_atomic_t tail_stop;

static void tail_on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vigil-tail [--connect PUB [--replay ROUTER]]... [-c CONFIG]...\n"
		"                  [--cursor FILE] [--json] [--hb] [--count N] [--timeout SECONDS]\n"
		"                  [--server-key FILE --key FILE] [--thumbnails DIR]\n"
		"                  [--zookeeper HOSTS [--cluster NAME]] [PREFIX ...]\n"
		"  --connect PUB       an instance's publish endpoint (default tcp://127.0.0.1:7700);\n"
		"                      repeat for several instances\n"
		"  --replay ROUTER     replay endpoint of the instance named by the last --connect\n"
		"  -c, --config FILE   take publish and replay endpoints from a vigil config\n"
		"  --cursor FILE       start from, and keep, the position saved in FILE\n"
		"  --json              print payloads as JSON, one per line\n"
		"  --hb                also show heartbeats\n"
		"  --count N           exit after N alerts\n"
		"  --timeout SECONDS   exit (status 1) when nothing arrives for this long\n"
		"  --server-key FILE   the server's public key (CURVE); with --key\n"
		"  --key FILE          this client's key file (vigilctl keygen NAME: NAME.key)\n"
		"  --thumbnails DIR    save the JPEG thumbnail that comes with a live alert\n"
		"  --zookeeper HOSTS   follow every live member of a vigil cluster (host:port,...),\n"
		"                      found again every few seconds\n"
		"  --cluster NAME      the cluster's cluster.name (default \"default\")\n"
		"                      (alerts.thumbnail) as DIR/INSTANCE-SEQ.jpg\n"
		"  PREFIX              topic prefixes (default: alert.)\n");
}

/* A source from alerts.publish and alerts.replay of a vigil config. */
static int tail_source_from_config(struct tail_source *s, const char *path)
{
	const char *pub = NULL, *rep = NULL;
	config_t lc;
	int r = -1;

	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE)
		fprintf(stderr, "vigil-tail: %s:%d: %s\n", path, config_error_line(&lc),
			config_error_text(&lc));
	else if (config_lookup_string(&lc, "alerts.publish", &pub) != CONFIG_TRUE)
		fprintf(stderr, "vigil-tail: %s: no alerts.publish\n", path);
	else
		r = 0;
	if (r == 0) {
		s->publish = strdup(pub);
		if (config_lookup_string(&lc, "alerts.replay", &rep) == CONFIG_TRUE)
			s->replay = strdup(rep);
	}
	config_destroy(&lc);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'e' },
		{ "replay", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "cursor", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "hb", no_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "server-key", required_argument, NULL, 'S' },
		{ "key", required_argument, NULL, 'K' },
		{ "thumbnails", required_argument, NULL, 'M' },
		{ "zookeeper", required_argument, NULL, 'Z' },
		{ "cluster", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct tail_source srcs[TAIL_MAX_SOURCES];
	struct tail_opts t = { .deliver = tail_print };
	struct tail_cursor *cursors = NULL;
	const char *cursor_path = NULL, *zk_hosts = NULL, *zk_cluster = "default";
	struct tail_zk *zk = NULL;
	double next_discover = 0;
	int nsrcs = 0, ncursors = 0, opt, status = 0;
	double timeout = 0, last;
	void *ctx;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
		case 'c':
			if (nsrcs == TAIL_MAX_SOURCES) {
				fprintf(stderr, "vigil-tail: at most %d instances\n", TAIL_MAX_SOURCES);
				return 2;
			}
			if (opt == 'e')
				srcs[nsrcs].publish = strdup(optarg);
			else if (tail_source_from_config(&srcs[nsrcs], optarg) < 0)
				return 2;
			nsrcs++;
			break;
		case 'r':
			if (nsrcs == 0 || srcs[nsrcs - 1].replay) {
				fprintf(stderr, "vigil-tail: --replay follows the --connect it belongs to\n");
				return 2;
			}
			srcs[nsrcs - 1].replay = strdup(optarg);
			break;
		case 'C': cursor_path = optarg; break;
		case 'j': t.json = 1; break;
		case 'b': t.show_hb = 1; break;
		case 'n': t.count = strtol(optarg, NULL, 10); break;
		case 'T': timeout = strtod(optarg, NULL); break;
		case 'S': t.server_key_file = optarg; break;
		case 'K': t.key_file = optarg; break;
		case 'M': t.thumb_dir = optarg; break;
		case 'Z': zk_hosts = optarg; break;
		case 'L': zk_cluster = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (t.nprefixes == TAIL_MAX_PREFIXES || strchr(argv[i], ' ')) {
			fprintf(stderr, "vigil-tail: at most %d prefixes, without spaces\n",
				TAIL_MAX_PREFIXES);
			return 2;
		}
		t.prefixes[t.nprefixes++] = argv[i];
	}
	if (zk_hosts) {
		zk = tail_zk_open(zk_hosts, zk_cluster);
		if (!zk) {
			fprintf(stderr, "vigil-tail: cannot start a ZooKeeper client for %s\n", zk_hosts);
			return 2;
		}
		tail_zk_discover(zk, srcs, &nsrcs, TAIL_MAX_SOURCES);
		next_discover = tail_now() + 2;
	}
	if (nsrcs == 0 && !zk)
		srcs[nsrcs++].publish = strdup("tcp://127.0.0.1:7700");
	if (cursor_path && tail_cursor_load(cursor_path, &cursors, &ncursors) < 0) {
		fprintf(stderr, "vigil-tail: cannot read cursor %s: %s\n", cursor_path,
			strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, tail_on_signal);
	signal(SIGTERM, tail_on_signal);
	ctx = zmq_ctx_new();
	for (int i = 0; i < nsrcs; i++) {
		if (tail_source_open(&srcs[i], ctx, &t) < 0)
			return 2;
		fprintf(stderr, "vigil-tail: listening on %s%s%s\n", srcs[i].publish,
			srcs[i].replay ? ", replay " : "", srcs[i].replay ? srcs[i].replay : "");
	}
	last = tail_now();
	while (!tail_stop && (t.count <= 0 || t.printed < t.count)) {
		zmq_pollitem_t items[TAIL_MAX_SOURCES];
		int dirty = 0;

		if (zk && tail_now() >= next_discover) {
			int from = nsrcs;
			tail_zk_discover(zk, srcs, &nsrcs, TAIL_MAX_SOURCES);
			for (int i = from; i < nsrcs; i++)
				if (tail_source_open(&srcs[i], ctx, &t) < 0)
					return 2;
			next_discover = tail_now() + 2;
		}
		for (int i = 0; i < nsrcs; i++)
			items[i] = (zmq_pollitem_t){ .socket = srcs[i].sub, .events = ZMQ_POLLIN };
		if (nsrcs == 0) {
			struct timespec ts = { 0, 200000000 };
			nanosleep(&ts, NULL);
		} else if (zmq_poll(items, nsrcs, 200) > 0) {
			last = tail_now();
		}
		for (int i = 0; i < nsrcs; i++) {
			tail_source_receive(&srcs[i], cursors, ncursors);
			tail_source_check_hb(&srcs[i], tail_now(), TAIL_HB_LIMIT_S);
			dirty |= srcs[i].dirty;
		}
		if (cursor_path && dirty && tail_cursor_save(cursor_path, srcs, nsrcs, cursors,
							     ncursors) < 0)
			fprintf(stderr, "vigil-tail: cannot write cursor %s: %s\n", cursor_path,
				strerror(errno));
		if (timeout > 0 && tail_now() - last > timeout) {
			fprintf(stderr, "vigil-tail: nothing received for %.0f s\n", timeout);
			status = 1;
			break;
		}
	}
	for (int i = 0; i < nsrcs; i++) {
		tail_source_close(&srcs[i]);
		free(srcs[i].publish);
		free(srcs[i].replay);
	}
	zmq_ctx_term(ctx);
	tail_zk_close(zk);
	free(cursors);
	return status;
}
