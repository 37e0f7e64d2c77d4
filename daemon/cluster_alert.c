/* node_down and node_up: which member raises them, and what they say;
 * see cluster.h. */
#include "cluster_int.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"


static void cl_push_alert(struct cluster *c, const struct cluster_alert *a)
{
	struct cluster_alert *v = realloc(c->alerts, (c->nalerts + 1) * sizeof(*v));

	if (!v) {
		free(a->detail);
		free(a->moved_json);
		return;
	}
	c->alerts = v;
	c->alerts[c->nalerts++] = *a;
}

/* A member left (down) or arrived (up): the survivor that creates the
 * event node raises the alert, so that exactly one does. */
void cl_node_event(struct cluster *c, int down, const struct cl_member *who,
		   const struct cl_member *old, size_t nold,
		   const struct cl_member *cur, size_t ncur)
{
	char path[512], detail[512];
	struct cluster_alert a = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/events/%s-%s-%lld", c->root, down ? "down" : "up",
		 who->name, (long long)who->czxid);
	rc = zoo_create(c->zh, path, c->me, (int)strlen(c->me), &ZOO_OPEN_ACL_UNSAFE,
			ZOO_EPHEMERAL, NULL, 0);
	if (rc != ZOK) {
		if (rc != ZNODEEXISTS)
			log_warn(CL_WHO, "cannot create %s: %s", path, zerror(rc));
		return;
	}
	snprintf(a.type, sizeof(a.type), "%s", down ? "node_down" : "node_up");
	snprintf(a.node, sizeof(a.node), "%s", who->name);
	a.ts_us = cl_wall_us();
	if (down) {
		json_object *to = json_object_new_object();
		char list[400] = "";
		for (size_t i = 0; i < c->cfg->ncameras; i++) {
			const char *id = c->cfg->cameras[i].id;
			const char *was = cl_owner(old, nold, id), *now = cl_owner(cur, ncur, id);
			json_object *n;
			if (!was || strcmp(was, who->name) != 0 || !now)
				continue;
			a.moved++;
			if (json_object_object_get_ex(to, now, &n))
				json_object_int_inc(n, 1);
			else
				json_object_object_add(to, now, json_object_new_int(1));
		}
		json_object_object_foreach(to, k, val) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof(list) - l, "%s%s %d", l ? ", " : "", k,
				 json_object_get_int(val));
		}
		a.moved_json = strdup(json_object_to_json_string_ext(to, JSON_C_TO_STRING_PLAIN));
		json_object_put(to);
		snprintf(detail, sizeof(detail), "node %s is down (ZooKeeper session gone): "
			 "%d camera(s) moved%s%s", who->name, a.moved, *list ? " to " : "", list);
	} else {
		snprintf(detail, sizeof(detail), "node %s is up: it takes its cameras back after "
			 "the rejoin delay", who->name);
	}
	a.detail = strdup(detail);
	log_warn(CL_WHO, "%s", detail);
	cl_push_alert(c, &a);
}

int cluster_take_alert(struct cluster *c, struct cluster_alert *a)
{
	if (!c->nalerts)
		return 0;
	*a = c->alerts[0];
	memmove(c->alerts, c->alerts + 1, (c->nalerts - 1) * sizeof(*c->alerts));
	c->nalerts--;
	return 1;
}
