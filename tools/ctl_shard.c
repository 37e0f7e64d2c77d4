/* vigilctl shard-plan: which node of the cluster owns which camera of a
 * configuration (rendezvous hashing of camera ids, as the daemon does),
 * how many each node gets, and how many cameras would move if one more
 * node joined. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "shard.h"
#include "vigilctl.h"

static void ctl_shard_usage(FILE *out)
{
	fprintf(out, "usage: vigilctl shard-plan [-c CONFIG] [--nodes N]\n"
		"  -c, --config FILE  configuration with the camera inventory\n"
		"                     (default /etc/vigil/vigil.conf)\n"
		"  -n, --nodes N      plan for N nodes instead of cluster.nodes\n"
		"prints 'CAMERA NODE' per camera, the cameras per node, and the share\n"
		"of cameras that move from N to N+1 nodes\n");
}

int ctl_shard_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = "/etc/vigil/vigil.conf";
	struct vigil_config cfg;
	int nodes = 0, opt;
	size_t *count, moved = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'n': nodes = atoi(optarg); break;
		case 'h': ctl_shard_usage(stdout); return 0;
		default: ctl_shard_usage(stderr); return 2;
		}
	}
	if (nodes < 0 || nodes > 1024) {
		fprintf(stderr, "vigilctl: --nodes must be between 1 and 1024\n");
		return 2;
	}
	if (config_load(path, &cfg, stderr)) {
		config_free(&cfg);
		return 2;
	}
	if (!nodes)
		nodes = cfg.nodes;
	count = calloc((size_t)nodes, sizeof(*count));
	if (!count) {
		config_free(&cfg);
		return 1;
	}
	for (size_t i = 0; i < cfg.ncameras; i++) {
		int node = shard_owner(cfg.cameras[i].id, nodes);
		printf("%s %d\n", cfg.cameras[i].id, node);
		count[node]++;
		moved += shard_owner(cfg.cameras[i].id, nodes + 1) != node;
	}
	for (int n = 0; n < nodes; n++)
		printf("# node %d: %zu camera(s)\n", n, count[n]);
	printf("# %d -> %d nodes: %zu of %zu camera(s) move (%.1f%%; ideal 1/%d = %.1f%%)\n",
	       nodes, nodes + 1, moved, cfg.ncameras,
	       cfg.ncameras ? 100.0 * (double)moved / (double)cfg.ncameras : 0.0, nodes + 1,
	       100.0 / (nodes + 1));
	free(count);
	config_free(&cfg);
	return 0;
}
