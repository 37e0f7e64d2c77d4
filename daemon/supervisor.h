/* Supervisor: starts the relay and the workers (fork + exec of this same
 * binary), restarts a child that dies with a growing delay, and stops
 * them all on SIGTERM/SIGINT. Holds no FFmpeg or ZeroMQ state. */
#ifndef VIGIL_SUPERVISOR_H
#define VIGIL_SUPERVISOR_H

#include "config.h"

int supervisor_run(const struct vigil_config *cfg, const char *config_path);

#endif
