/* vigild: the vigil daemon.
 *
 *   vigild -t -c FILE    check a configuration, print FILE:LINE: errors
 *   vigild -c FILE       run in the foreground, log to stderr
 *
 * The same binary is the supervisor and, started by it with --child, the
 * relay and the workers. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "plugin.h"
#include "relay.h"
#include "supervisor.h"
#include "worker.h"

#define VIGIL_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vigild [-t] [-v] -c FILE\n"
		"  -c, --config FILE  configuration file (default /etc/vigil/vigil.conf)\n"
		"  -t, --test         check the configuration and exit (0 valid, 2 errors)\n"
		"  -v, --verbose      log debug messages\n"
		"      --allow-root   run even as root (refused otherwise)\n"
		"  -V, --version      print the version\n"
		"  -h, --help         this help\n");
}

/* "worker:I/N" -> index and count. */
static int parse_worker_role(const char *role, int *index, int *count)
{
	return sscanf(role, "worker:%d/%d", index, count) == 2 && *count > 0 &&
	       *index >= 0 && *index < *count ? 0 : -1;
}

/* Children: "relay", "worker:I/N" (cameras hashed to worker I of N,
 * minus those isolated elsewhere) and "isolated:ID" (camera ID alone). */
static int run_child(const struct vigil_config *cfg, const char *role, const char *path,
		     const char *excluded, int status_fd)
{
	struct worker_opts o = { .config_path = path, .excluded = excluded,
				 .status_fd = status_fd, .count = 1 };
	char name[96];

	if (strcmp(role, "relay") == 0) {
		log_init("relay");
		log_name_thread("vigild", "relay");
		return relay_run(cfg, status_fd);
	}
	if (parse_worker_role(role, &o.index, &o.count) == 0) {
		snprintf(name, sizeof(name), "worker %d", o.index);
		log_init(name);
		log_name_thread("vigild", name);
		return worker_run(cfg, &o);
	}
	if (strncmp(role, "isolated:", 9) == 0 && role[9]) {
		o.isolate = role + 9;
		snprintf(name, sizeof(name), "worker %s", role);
		log_init(name);
		log_name_thread("vigild iso", o.isolate);
		return worker_run(cfg, &o);
	}
	fprintf(stderr, "vigild: unknown child role '%s'\n", role);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "child", required_argument, NULL, 'C' },
		{ "status-fd", required_argument, NULL, 'S' },
		{ "isolated", required_argument, NULL, 'I' },
		{ "allow-root", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = "/etc/vigil/vigil.conf", *child = NULL, *isolated = NULL;
	int status_fd = -1;
	struct vigil_config cfg;
	char *text = NULL;
	size_t text_len = 0;
	int test = 0, allow_root = 0, opt, errors, status;

	/* glibc gives every thread its own heap arena; with one thread per
	 * camera that multiplies fragmentation. Two arenas are plenty for
	 * threads that allocate once per stream and then reuse. */
	mallopt(M_ARENA_MAX, 2);
	/* A fixed mmap threshold: blocks of 1 MB and more always get their
	 * own mapping, returned whole when freed. glibc otherwise raises
	 * the threshold to the size of any mapped block freed, and from
	 * then on blocks of that size come from the heap and leave holes
	 * there (PSS 16.4-16.6 MB per camera against 15.8-16.0 with it).
	 * Decoded 720p planes (0.94 MB for luma) are below it either way. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/* A peer that goes away (a status client, a camera, a subscriber)
	 * shows as EPIPE where it is written to, never as a signal that
	 * kills the process. Kept across the children's exec. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "c:tvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': test = 1; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'V': printf("vigild %s\n", VIGIL_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case 'C': child = optarg; break;
		case 'S': status_fd = atoi(optarg); break;
		case 'I': isolated = optarg; break;
		case 'R': allow_root = 1; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigild: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	/* Nothing vigild writes (data, clips, sockets) is for other users. */
	umask(027);
	log_init(child ? child : "supervisor");
	if (!test && !child && geteuid() == 0 && !allow_root) {
		fprintf(stderr, "vigild: refusing to run as root: run it as an unprivileged "
			"user (the systemd unit uses User=vigil), or pass --allow-root\n");
		return 2;
	}
	errors = config_load_text(path, &cfg, stderr, test || child ? NULL : &text, &text_len);
	if (errors) {
		fprintf(stderr, "%s: %d error%s\n", path, errors, errors == 1 ? "" : "s");
		config_free(&cfg);
		return 2;
	}
	if (test) {
		printf("%s: ok, %zu camera(s)\n", path, cfg.ncameras);
		config_free(&cfg);
		return 0;
	}
	if (child)
		status = run_child(&cfg, child, path, isolated, status_fd);
	else
		status = supervisor_run(&cfg, path, text, text_len);
	config_free(&cfg);
	/* Every camera has stopped: the plugins' unload runs now. */
	plugin_registry_close();
	return status;
}
