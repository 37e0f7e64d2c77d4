/* Worker process: runs a share of the cameras, one thread each, and sends
 * their alerts to the relay. */
#ifndef VIGIL_WORKER_H
#define VIGIL_WORKER_H

#include "config.h"

/* The cameras worker index of count owns: every count-th, from index. */
int worker_owns(const struct vigil_config *cfg, size_t camera, int index, int count);

/* Run until SIGTERM/SIGINT; returns the process exit status. */
int worker_run(const struct vigil_config *cfg, int index, int count);

/* Endpoint on which the relay collects alerts from the workers. */
void worker_relay_endpoint(const struct vigil_config *cfg, char *buf, size_t len);

#endif
