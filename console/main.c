/* vigil-console: the monitoring room's web console.
 *
 *   vigil-console -c FILE        run
 *   vigil-console -t -c FILE     check the configuration and exit
 *
 * See docs/console.md. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

#define CONSOLE_HUB_EVENTS 8192

static volatile sig_atomic_t console_stop;

static void console_on_signal(int sig)
{
	(void)sig;
	console_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: vigil-console [-t] -c FILE\n"
		     "  -c, --config FILE  configuration (default /etc/vigil/console.conf)\n"
		     "  -t, --test         check the configuration and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = "/etc/vigil/console.conf";
	struct console_config cfg;
	struct server srv;
	struct ingest *in;
	struct store st;
	struct hub *hub;
	int opt, test = 0;
	sigset_t mask, old;

	while ((opt = getopt_long(argc, argv, "c:th", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': test = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cconf_load(&cfg, path) < 0) {
		cconf_free(&cfg);
		return 1;
	}
	if (test) {
		int nn = cfg.nnodes;
		printf("%s: configuration OK (%d node%s%s%s)\n", path, nn, nn == 1 ? "" : "s",
		       cfg.cluster.zookeeper ? ", and the members of cluster " : "",
		       cfg.cluster.zookeeper ? cfg.cluster.name : "");
		cconf_free(&cfg);
		return 0;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (store_open(&st, cfg.db, &cfg) < 0) {
		cconf_free(&cfg);
		return 1;
	}
	store_close(&st);
	signal(SIGPIPE, SIG_IGN);
	/* No reload: a new configuration takes a restart. */
	signal(SIGHUP, SIG_IGN);
	/* Threads start with the signals blocked; this one waits for them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	hub = hub_new(CONSOLE_HUB_EVENTS);
	in = hub ? ingest_start(&cfg, hub) : NULL;
	if (!in || http_start(&srv, &cfg, hub) < 0) {
		ingest_stop(in);
		hub_free(hub);
		cconf_free(&cfg);
		return 1;
	}
	signal(SIGINT, console_on_signal);
	signal(SIGTERM, console_on_signal);
	while (!console_stop)
		sigsuspend(&old);
	fprintf(stderr, "vigil-console: stopping\n");
	hub_stop(hub);
	http_stop(&srv);
	ingest_stop(in);
	hub_free(hub);
	cconf_free(&cfg);
	return 0;
}
