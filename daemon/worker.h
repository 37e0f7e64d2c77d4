/* Worker process: runs a share of the cameras, one thread each, and sends
 * their alerts to the relay. SIGHUP makes it re-read the configuration and
 * follow it without touching unchanged cameras. */
#ifndef VIGIL_WORKER_H
#define VIGIL_WORKER_H

#include "config.h"

/* Camera ids longer than this cannot be isolated. */
#define WORKER_ISOLATE_MAX 64

struct worker_opts {
	const char *config_path;  /* re-read on SIGHUP */
	int index, count;         /* worker index of count */
	const char *isolate;      /* run only this camera (crash isolation) */
	const char *excluded;     /* comma-separated ids isolated elsewhere */
	int status_fd;            /* status page from the supervisor, or -1 */
};

/* Whether worker index of count owns camera i (rendezvous hashing of the
 * camera id, within this server's shard). */
int worker_owns(const struct vigil_config *cfg, size_t camera, int index, int count);

/* Run until SIGTERM/SIGINT; returns the process exit status. */
int worker_run(const struct vigil_config *cfg, const struct worker_opts *o);

#endif
