/* vigil-tail --zookeeper: the instances to follow, found as the live
 * members of a cluster (cluster.zookeeper): each member's data names its
 * publish and replay endpoints. Looked up again every few seconds, so a
 * node that joins, or returns, is followed (and its gap replayed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include "tail.h"

struct tail_zk {
	zhandle_t *zh;
	char path[300];
};

struct tail_zk *tail_zk_open(const char *hosts, const char *cluster)
{
	struct tail_zk *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	zoo_set_debug_level(0);
	snprintf(z->path, sizeof(z->path), "/vigil/%s/members", cluster);
	z->zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
	if (!z->zh) {
		free(z);
		return NULL;
	}
	/* Up to 5 s for the first contact; later lookups only when connected. */
	for (int i = 0; i < 100 && zoo_state(z->zh) != ZOO_CONNECTED_STATE; i++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	if (zoo_state(z->zh) != ZOO_CONNECTED_STATE)
		fprintf(stderr, "vigil-tail: ZooKeeper %s not reachable yet, still trying\n", hosts);
	return z;
}

void tail_zk_close(struct tail_zk *z)
{
	if (!z)
		return;
	zookeeper_close(z->zh);
	free(z);
}

/* Add a source for every member not followed yet; returns how many were
 * added (their sockets are still to be opened by the caller). */
int tail_zk_discover(struct tail_zk *z, struct tail_source *srcs, int *nsrcs, int max)
{
	struct String_vector sv = { 0 };
	char child[600], buf[4096];
	int added = 0;

	if (zoo_state(z->zh) != ZOO_CONNECTED_STATE ||
	    zoo_get_children(z->zh, z->path, 0, &sv) != ZOK)
		return 0;
	for (int i = 0; i < sv.count && *nsrcs < max; i++) {
		int len = sizeof(buf) - 1, known = 0;
		json_object *o, *pub, *rep;
		snprintf(child, sizeof(child), "%s/%s", z->path, sv.data[i]);
		if (zoo_get(z->zh, child, 0, buf, &len, NULL) != ZOK || len <= 0)
			continue;
		buf[len] = '\0';
		o = json_tokener_parse(buf);
		if (!o || !json_object_object_get_ex(o, "publish", &pub) ||
		    !json_object_is_type(pub, json_type_string)) {
			fprintf(stderr, "vigil-tail: ignoring member %s: no publish endpoint\n",
				sv.data[i]);
			json_object_put(o);
			continue;
		}
		for (int k = 0; k < *nsrcs && !known; k++)
			known = strcmp(srcs[k].publish, json_object_get_string(pub)) == 0;
		if (!known) {
			struct tail_source *s = &srcs[(*nsrcs)++];
			memset(s, 0, sizeof(*s));
			s->publish = strdup(json_object_get_string(pub));
			if (json_object_object_get_ex(o, "replay", &rep) &&
			    json_object_is_type(rep, json_type_string))
				s->replay = strdup(json_object_get_string(rep));
			fprintf(stderr, "vigil-tail: member %s\n", sv.data[i]);
			added++;
		}
		json_object_put(o);
	}
	deallocate_String_vector(&sv);
	return added;
}
