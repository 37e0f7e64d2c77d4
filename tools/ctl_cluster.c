/* vigilctl cluster: the cluster as ZooKeeper holds it (cluster.zookeeper):
 * every member with its data, and every camera claim with its node, its
 * ownership epoch (the claim's czxid) and its session, as one JSON
 * object. Reads only. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include "config.h"
#include "vigilctl.h"

static void ctl_cluster_usage(FILE *out)
{
	fprintf(out, "usage: vigilctl cluster [-c CONFIG | --zookeeper HOSTS [--name CLUSTER]]\n"
		"  -c, --config FILE      take cluster.zookeeper and cluster.name from FILE\n"
		"  -z, --zookeeper HOSTS  host:port[,host:port...]\n"
		"  -n, --name CLUSTER     cluster.name (default \"default\")\n"
		"prints {\"members\": {NAME: DATA}, \"claims\": {CAMERA: {node, epoch, session}},\n"
		"        \"losses\": {CAMERA: {\"event\": \"ID START_US\"}}} (open video_loss events)\n");
}

enum { CTL_MEMBERS, CTL_CLAIMS, CTL_LOSSES };

/* Children of path with their data and stat, as an object. */
static json_object *ctl_cluster_list(zhandle_t *zh, const char *path, int kind)
{
	struct String_vector sv = { 0 };
	json_object *out = json_object_new_object();
	char child[1024], buf[4096];

	if (zoo_get_children(zh, path, 0, &sv) != ZOK)
		return out;
	for (int i = 0; i < sv.count; i++) {
		struct Stat st;
		int len = sizeof(buf) - 1;
		json_object *o, *d;
		snprintf(child, sizeof(child), "%s/%s", path, sv.data[i]);
		if (zoo_get(zh, child, 0, buf, &len, &st) != ZOK)
			continue;
		buf[len < 0 ? 0 : len] = '\0';
		d = kind == CTL_LOSSES ? NULL : json_tokener_parse(buf);
		o = d && json_object_is_type(d, json_type_object) ? d : json_object_new_object();
		if (o != d) {
			json_object_put(d);
			json_object_object_add(o, kind == CTL_LOSSES ? "event" : "malformed",
					       json_object_new_string(buf));
		}
		if (kind == CTL_CLAIMS)
			json_object_object_add(o, "epoch", json_object_new_int64(st.czxid));
		json_object_object_add(o, "session", json_object_new_int64(st.ephemeralOwner));
		json_object_object_add(out, sv.data[i], o);
	}
	deallocate_String_vector(&sv);
	return out;
}

int ctl_cluster(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "zookeeper", required_argument, NULL, 'z' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf = NULL, *hosts = NULL, *name = "default";
	struct vigil_config cfg = { 0 };
	json_object *o;
	char path[512];
	zhandle_t *zh;
	int opt, loaded = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:z:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'z': hosts = optarg; break;
		case 'n': name = optarg; break;
		case 'h': ctl_cluster_usage(stdout); return 0;
		default: ctl_cluster_usage(stderr); return 2;
		}
	}
	if (conf) {
		if (config_load(conf, &cfg, stderr) != 0) {
			config_free(&cfg);
			return 1;
		}
		loaded = 1;
		if (!config_zk_mode(&cfg)) {
			fprintf(stderr, "vigilctl: %s has no cluster.zookeeper\n", conf);
			config_free(&cfg);
			return 1;
		}
		hosts = cfg.zk_hosts;
		name = cfg.zk_cluster;
	}
	if (!hosts) {
		ctl_cluster_usage(stderr);
		return 2;
	}
	zoo_set_debug_level(0);
	zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
	for (int i = 0; zh && i < 100 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	if (!zh || zoo_state(zh) != ZOO_CONNECTED_STATE) {
		fprintf(stderr, "vigilctl: cannot reach ZooKeeper at %s within 5 s\n", hosts);
		if (zh)
			zookeeper_close(zh);
		if (loaded)
			config_free(&cfg);
		return 1;
	}
	o = json_object_new_object();
	snprintf(path, sizeof(path), "/vigil/%s/members", name);
	json_object_object_add(o, "members", ctl_cluster_list(zh, path, CTL_MEMBERS));
	snprintf(path, sizeof(path), "/vigil/%s/claims", name);
	json_object_object_add(o, "claims", ctl_cluster_list(zh, path, CTL_CLAIMS));
	snprintf(path, sizeof(path), "/vigil/%s/losses", name);
	json_object_object_add(o, "losses", ctl_cluster_list(zh, path, CTL_LOSSES));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	zookeeper_close(zh);
	if (loaded)
		config_free(&cfg);
	return 0;
}
