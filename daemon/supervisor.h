/* Supervisor: starts the relay and the workers (fork + exec of this same
 * binary), restarts a child that dies with a growing delay, reloads on
 * SIGHUP, isolates a camera that keeps crashing its worker, reports to
 * systemd and answers status requests. Stops them all on SIGTERM/SIGINT.
 * Holds no FFmpeg or ZeroMQ state. */
#ifndef VIGIL_SUPERVISOR_H
#define VIGIL_SUPERVISOR_H

#include <stddef.h>

#include "config.h"

/* cfg and text (config_load_text's, of config_path) are taken over
 * (freed or replaced on reload); returns the exit status. The children
 * are handed the text, never the file: a child restarted after a crash
 * runs the configuration the daemon runs, whatever is on disk. */
int supervisor_run(struct vigil_config *cfg, const char *config_path, char *text,
		   size_t text_len);

#endif
