/* Relay process: collects alerts from the workers (relaylink.h), numbers
 * them, journals them and publishes them on the configured PUB endpoints,
 * with heartbeats. */
#ifndef VIGIL_RELAY_H
#define VIGIL_RELAY_H

#include "config.h"

/* Run until SIGTERM/SIGINT; returns the process exit status. status_fd
 * is the supervisor's status page (heartbeat, readiness), or -1. */
int relay_run(const struct vigil_config *cfg, int status_fd);

#endif
