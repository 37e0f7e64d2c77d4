/* The cluster's part of vigilctl status and /metrics; see cluster.h. */
#include "cluster_int.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static const char *cl_state_name(const struct cluster *c)
{
	if (!c->zh)
		return "expired";
	if (c->state != ZOO_CONNECTED_STATE)
		return "connecting";
	if (c->dup_since_ms)
		return "name_in_use";
	if (!c->registered)
		return "registering";
	if (c->suspect)
		return "confirming";
	return c->ready ? "member" : "rejoining";
}

void cluster_report_json(const struct cluster *c, FILE *f)
{
	json_object *o = json_object_new_object(), *m = json_object_new_array();

	json_object_object_add(o, "node", json_object_new_string(c->me));
	json_object_object_add(o, "cluster", json_object_new_string(c->cfg->zk_cluster));
	json_object_object_add(o, "state", json_object_new_string(cl_state_name(c)));
	json_object_object_add(o, "session", json_object_new_int64(c->session_id));
	json_object_object_add(o, "publishing", json_object_new_boolean(c->publishing &&
									  cluster_fenced(c)));
	for (size_t i = 0; i < c->nmembers; i++) {
		json_object *x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(c->members[i].name));
		json_object_object_add(x, "ready", json_object_new_boolean(c->members[i].ready));
		json_object_array_add(m, x);
	}
	json_object_object_add(o, "members", m);
	m = json_object_new_array();
	for (size_t i = 0; i < c->owned.n; i++) {
		json_object *x = json_object_new_object();
		json_object_object_add(x, "id", json_object_new_string(c->owned.items[i].id));
		json_object_object_add(x, "epoch", json_object_new_int64(c->owned.items[i].epoch));
		json_object_array_add(m, x);
	}
	json_object_object_add(o, "owned", m);
	json_object_object_add(o, "claims_taken", json_object_new_int64((int64_t)c->claims_taken));
	json_object_object_add(o, "released", json_object_new_int64((int64_t)c->released));
	json_object_object_add(o, "expiries", json_object_new_int64((int64_t)c->expiries));
	json_object_object_add(o, "last_failover_ms", c->last_failover_wall_us ?
			       json_object_new_int64(c->last_failover_ms) : NULL);
	json_object_object_add(o, "last_failover_unix", c->last_failover_wall_us ?
			       json_object_new_double((double)c->last_failover_wall_us / 1e6) : NULL);
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), f);
	json_object_put(o);
}

void cluster_report_metrics(const struct cluster *c, FILE *f)
{
	size_t ready = 0;

	for (size_t i = 0; i < c->nmembers; i++)
		ready += c->members[i].ready != 0;
	fprintf(f, "# HELP vigil_cluster_members Live members of the cluster (ZooKeeper).\n"
		"# TYPE vigil_cluster_members gauge\n"
		"vigil_cluster_members %zu\n"
		"vigil_cluster_members_ready %zu\n", c->nmembers, ready);
	fprintf(f, "# HELP vigil_cluster_connected 1 while the ZooKeeper session is connected.\n"
		"# TYPE vigil_cluster_connected gauge\n"
		"vigil_cluster_connected %d\n", c->zh && c->state == ZOO_CONNECTED_STATE);
	fprintf(f, "# HELP vigil_cluster_owned_cameras Cameras this node holds claims for.\n"
		"# TYPE vigil_cluster_owned_cameras gauge\n"
		"vigil_cluster_owned_cameras %zu\n", c->owned.n);
	fprintf(f, "# HELP vigil_cluster_claims_total Camera claims taken by this node.\n"
		"# TYPE vigil_cluster_claims_total counter\n"
		"vigil_cluster_claims_total %lu\n", c->claims_taken);
	fprintf(f, "# HELP vigil_cluster_released_total Cameras handed over to another node.\n"
		"# TYPE vigil_cluster_released_total counter\n"
		"vigil_cluster_released_total %lu\n", c->released);
	fprintf(f, "# HELP vigil_cluster_session_expiries_total ZooKeeper sessions lost.\n"
		"# TYPE vigil_cluster_session_expiries_total counter\n"
		"vigil_cluster_session_expiries_total %lu\n", c->expiries);
	fprintf(f, "# HELP vigil_cluster_last_failover_seconds From a member seen leaving to "
		"this node's latest claim.\n"
		"# TYPE vigil_cluster_last_failover_seconds gauge\n"
		"vigil_cluster_last_failover_seconds %.3f\n", (double)c->last_failover_ms / 1000.0);
}
