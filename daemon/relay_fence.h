/* The relay's side of cluster fencing (cluster.zookeeper, see cluster.h).
 *
 * Workers hold alerts while the supervisor cannot vouch for this node's
 * claims; an alert already on its way to the relay when the node was
 * frozen would still be published on waking. So the relay too takes no
 * alert while the fence on its status page is closed, and once it is
 * open again stores an alert of a cluster-owned camera only if its
 * owner_epoch is the claim this node holds now (DATA_DIR/owned): the
 * alerts of a superseded owner are dropped (and acknowledged, so that
 * their worker forgets them). */
#ifndef VIGIL_RELAY_FENCE_H
#define VIGIL_RELAY_FENCE_H

#include <time.h>

#include "config.h"
#include "owned.h"
#include "relaylink.h"
#include "status.h"

struct relay_fence {
	int on;                         /* cluster mode */
	const struct status_page *page;
	char path[4200];                /* DATA_DIR/owned */
	struct owned_set owned;
	struct timespec mtime;          /* of the file as last read */
};

void relay_fence_init(struct relay_fence *f, const struct vigil_config *cfg,
		      const struct status_page *page);
void relay_fence_free(struct relay_fence *f);

/* Whether the relay must not take alerts now. */
int relay_fence_closed(const struct relay_fence *f);

/* Whether the alert comes from a claim this node no longer holds. */
int relay_fence_superseded(struct relay_fence *f, const struct relaylink_alert *in);

#endif
