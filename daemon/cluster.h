/* Cluster membership and camera ownership on ZooKeeper (cluster.zookeeper).
 *
 * The supervisor holds one ZooKeeper session. Under /vigil/<cluster.name>:
 *
 *   members/<node>   ephemeral, JSON: name, instance, publish, replay,
 *                    capacity, ready. A node is given cameras once ready.
 *   claims/<camera>  ephemeral, JSON: node, instance. Its czxid is the
 *                    ownership epoch; a camera runs only under its claim.
 *   events/<kind>-<node>-<czxid>  ephemeral: whoever creates it raises the
 *                    node_down / node_up alert, so that exactly one does.
 *
 * Cameras are assigned by rendezvous hashing over the ready members, so a
 * member leaving or joining moves only its own share. A node claims what
 * it is assigned; a claim another live session holds is waited for, never
 * overridden. A planned move (a member became ready) is released by the
 * old owner first: its workers stop the camera, then the claim is deleted,
 * at most cluster.batch cameras a second. A node that registers while a
 * member has served for cluster.rejoin_delay becomes ready only after that
 * delay; nodes starting together are ready at once.
 *
 * Session states: connected; connecting (connection lost: the session may
 * be alive, cameras are kept); expired (every camera stops at once, the
 * node registers again with a new session). A supervisor that finds it
 * was not scheduled for a while (stopped, frozen) suspends its workers'
 * alerts until ZooKeeper confirms the session (cluster_fenced).
 *
 * ZooKeeper's callbacks run on the client library's thread; they only
 * record what happened and wake the supervisor's poll loop through
 * cluster_pollfd(). All the work happens in cluster_step(). */
#ifndef VIGIL_CLUSTER_H
#define VIGIL_CLUSTER_H

#include <stdio.h>

#include "config.h"
#include "owned.h"

struct cluster;

/* Alerts the cluster asks the supervisor to raise (node_down, node_up). */
struct cluster_alert {
	char type[16];          /* "node_down" or "node_up" */
	char node[VIGIL_TOKEN_MAX + 1];
	char *detail;           /* human text */
	char *moved_json;       /* {"srv-a":5,...} for node_down, or NULL */
	int moved;
	long long ts_us;
};

/* Connect (asynchronously) with cfg's cluster settings; cfg must outlive
 * the cluster. NULL when out of memory. */
struct cluster *cluster_open(const struct vigil_config *cfg);
void cluster_close(struct cluster *c);

/* Readable when a ZooKeeper event waits for cluster_step(). */
int cluster_pollfd(const struct cluster *c);

enum {
	CLUSTER_OWNED_CHANGED = 1,  /* owned set changed: hand it to the workers */
	CLUSTER_FATAL = 2,          /* refused (duplicate name): stop the daemon */
};

/* Do what is due at now (monotonic ms): session changes, registration,
 * membership, claims and releases. Returns CLUSTER_* flags. */
int cluster_step(struct cluster *c, long long now);

/* After a reload replaced the configuration in place (same cluster
 * settings): follow the new inventory; old is the previous one. Claims of
 * cameras that left it are deleted. The owned set's generation moves. */
void cluster_remap(struct cluster *c, const struct vigil_config *old);

/* The owned set as of the latest change, and its generation (bumped at
 * every change). */
const struct owned_set *cluster_owned(const struct cluster *c, unsigned *gen);

/* The workers run generation gen of the owned set: cameras released
 * before it may have their claims deleted. */
void cluster_applied(struct cluster *c, unsigned gen);

/* Whether the workers may publish now: the session is believed valid and
 * the node was not found stopped since ZooKeeper last answered. */
int cluster_fenced(const struct cluster *c);

/* The supervisor opened (1) or left closed (0) its workers' alert fence
 * this turn: what the status shows as "publishing". */
void cluster_set_publishing(struct cluster *c, int open);

/* Take the next alert to raise (1), or 0. The caller frees detail and
 * moved_json. */
int cluster_take_alert(struct cluster *c, struct cluster_alert *a);

/* One JSON object for vigilctl status (the "cluster" member) and
 * Prometheus lines for /metrics. */
void cluster_report_json(const struct cluster *c, FILE *f);
void cluster_report_metrics(const struct cluster *c, FILE *f);

#endif
