/* The supervisor's own alerts (node_down, node_up of cluster.h): sent to
 * the relay like a worker's, kept in an outbox until acknowledged, so
 * that they are journalled, numbered and published with the rest.
 *
 * Topic: alert.<severity>.cluster.<cluster name>.<node>.<type>; payload:
 * id, phase "start", type, severity, camera and name (the node), district
 * "cluster", grid (the cluster name), ts, node, moved, moved_to, detail
 * (docs/alerts.md). */
#ifndef VIGIL_NODEALERT_H
#define VIGIL_NODEALERT_H

#include "cluster.h"
#include "config.h"

struct nodealert;

/* Connect to the relay of cfg's data directory. NULL on failure (logged). */
struct nodealert *nodealert_open(const struct vigil_config *cfg);
void nodealert_close(struct nodealert *n);

/* Queue one alert (the detail and moved_json stay the caller's). */
void nodealert_push(struct nodealert *n, const struct cluster_alert *a);

/* Send what is due, take acknowledgements; call every loop turn. */
void nodealert_pump(struct nodealert *n);

#endif
