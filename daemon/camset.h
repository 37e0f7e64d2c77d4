/* The set of cameras one worker runs, and how it follows the config.
 *
 * Each running camera keeps its own copy of its definition, so a reload
 * can replace the configuration while unchanged cameras keep streaming.
 * camset_apply() compares the running set with the cameras a new config
 * gives this worker (by id and every field): cameras added are started,
 * removed are stopped, changed are restarted, the rest are left alone.
 *
 * camset_publish() copies every camera's figures into the worker's
 * status page for the supervisor. */
#ifndef VIGIL_CAMSET_H
#define VIGIL_CAMSET_H

#include <stddef.h>

#include "alert.h"
#include "camera.h"
#include "config.h"
#include "owned.h"
#include "recorder.h"
#include "recreader.h"
#include "status.h"

/* Which cameras of the config belong to this worker. */
struct camset_filter {
	int index, count;       /* worker index of count (rendezvous hashing) */
	const char *isolate;    /* only this camera (an isolated worker), or NULL */
	char **excluded;        /* cameras isolated in workers of their own */
	size_t nexcluded;
	/* Cluster mode: only the cameras this node holds claims for, stamped
	 * with the claim's epoch and the node's name; NULL otherwise. */
	const struct owned_set *owned;
	const char *node;
};

struct camset_entry {
	struct vigil_camera *conf;   /* own copy */
	struct camera cam;
	struct recorder *rec;        /* clips; NULL when it could not start */
	struct recreader *reader;    /* record stream, when not the detect URL */
	struct status_slot *slot;    /* may be NULL when the page is full */
	unsigned long long prev_packets, prev_analysed, prev_bytes;
};

struct camset {
	struct camset_entry **items;
	size_t n, cap;
	struct alert_queue *alerts;
	const char *data_dir;        /* clips go under data_dir/clips */
	const char *plugin_dir;      /* detector plugins */
	struct status_page *page;    /* may be NULL */
	long long sampled_ms;        /* time of the previous publish */
};

/* Whether camera i of cfg belongs to the worker described by f. */
int camset_wants(const struct camset_filter *f, const struct vigil_config *cfg, size_t i);

/* Start, stop and restart cameras so that the set matches cfg. Logs one
 * summary line; returns the number of cameras started or stopped. */
int camset_apply(struct camset *s, const struct vigil_config *cfg,
		 const struct camset_filter *f);

/* Write states, counters and rates to the status page. */
void camset_publish(struct camset *s);

/* One statistics line per camera in the log. */
void camset_log_stats(const struct camset *s, double secs);

/* Stop every camera and free the set (NULL-safe). */
void camset_free(struct camset *s);

#endif
