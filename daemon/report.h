/* Status reports built from the children's status pages: the JSON that
 * `vigilctl status` prints and the Prometheus text served on /metrics.
 * Both show the same figures; every camera of this server's shard
 * appears, with state "stopped" while no child runs it. */
#ifndef VIGIL_REPORT_H
#define VIGIL_REPORT_H

#include <sys/types.h>

#include "cluster.h"
#include "config.h"
#include "status.h"

/* One child process, as the reports show it. */
struct report_child {
	const char *role;           /* "relay", "worker:I/N", "isolated:ID" */
	pid_t pid;                  /* 0 when not running */
	long long started_ms;       /* monotonic */
	unsigned restarts;
	struct status_page *page;   /* what the child reports */
};

/* What a report is made of: the supervisor's state, lent for one call. */
struct report_view {
	const struct vigil_config *cfg;
	long long started_ms;       /* the supervisor's start, monotonic */
	int ready;                  /* READY=1 was sent */
	const struct report_child *kids;
	int nkids;
	const struct cluster *cluster; /* ZooKeeper mode, else NULL */
};

/* Caller frees; NULL when out of memory. */
char *report_json(const struct report_view *v);
char *report_metrics(const struct report_view *v);
/* The HTTP API's /api/v1/cameras (docs/http.md): each camera's identity
 * and place with the state and rates of report_json. */
char *report_api_cameras(const struct report_view *v);

#endif
