/* The cameras this node holds cluster claims for (ZooKeeper mode), as the
 * supervisor hands them to its workers.
 *
 * The supervisor writes DATA_DIR/owned atomically whenever its claims
 * change, then asks the workers to reload: a worker runs a camera only
 * while it is listed, and stamps the claim's epoch (the claim node's
 * czxid) and the node's name on the camera's alerts. One line per camera:
 * "<id> <epoch>". A missing file lists nothing. */
#ifndef VIGIL_OWNED_H
#define VIGIL_OWNED_H

#include <stddef.h>

#include "config.h"

struct owned_camera {
	char id[VIGIL_TOKEN_MAX + 1];
	long long epoch;
};

struct owned_set {
	struct owned_camera *items;
	size_t n;
};

/* DATA_DIR/owned. */
void owned_path(const char *data_dir, char *buf, size_t len);

/* Write the set to path atomically (temporary file and rename). 0 or
 * -errno. */
int owned_write(const char *path, const struct owned_set *s);

/* Read path into *s (emptied first; a missing file gives an empty set).
 * Lines that do not parse are skipped. 0 or -errno. */
int owned_read(const char *path, struct owned_set *s);

/* The epoch of id, or 0 when it is not in the set. */
long long owned_epoch(const struct owned_set *s, const char *id);

void owned_free(struct owned_set *s);

#endif
