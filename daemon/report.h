/* Status reports built from the children's status pages: the JSON that
 * `vigilctl status` prints and the Prometheus text served on /metrics.
 * Both show the same figures; every camera of this server's shard
 * appears, with state "stopped" while no child runs it. */
#ifndef VIGIL_REPORT_H
#define VIGIL_REPORT_H

#include "supervisor.h"

/* Caller frees; NULL when out of memory. */
char *report_json(const struct supervisor *s);
char *report_metrics(const struct supervisor *s);

#endif
