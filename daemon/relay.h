/* Relay process: collects alerts from the workers, numbers them and
 * publishes them on the configured PUB endpoint, with heartbeats. */
#ifndef VIGIL_RELAY_H
#define VIGIL_RELAY_H

#include "config.h"

/* Topic of a payload: alert.<severity>.<district>.<grid>.<camera>.<type>.
 * Returns 0, or -EINVAL when a field is missing or not a topic token. */
int relay_topic(const char *payload_json, char *buf, size_t len);

/* Run until SIGTERM/SIGINT; returns the process exit status. status_fd
 * is the supervisor's status page (heartbeat, readiness), or -1. */
int relay_run(const struct vigil_config *cfg, int status_fd);

#endif
