/* The cluster's state, shared by cluster.c (session, members, claims) and
 * cluster_report.c (status and metrics). Not for use elsewhere. */
#ifndef VIGIL_CLUSTER_INT_H
#define VIGIL_CLUSTER_INT_H

#include <pthread.h>
#include <zookeeper/zookeeper.h>

#include "cluster.h"

#define CL_WHO "cluster"          /* in the log, for the cluster as a whole */

struct cl_member {
	char name[VIGIL_TOKEN_MAX + 1];
	int ready;
	long long czxid;          /* the member node's: one per registration */
	long long owner;          /* its session */
	long long since_ms;       /* wall clock of its registration, 0 unknown */
	int capacity;             /* its share of the cameras, 0 unstated */
};

enum cl_cam_state { CL_NONE, CL_OWNED, CL_RELEASING };

struct cl_cam {
	int state;                /* enum cl_cam_state */
	long long epoch;          /* the claim's czxid while owned */
	unsigned release_gen;     /* releasing: owned-set generation without it */
	long long retry_ms;       /* claim held elsewhere: look again then */
	char loss[128];           /* open video_loss as mirrored, "" none */
	unsigned long long open_hash;   /* open events as mirrored, 0 none */
	int wd;                   /* inotify watch of its events directory */
	int changed;              /* its open events changed since mirrored */
};

struct cluster {
	const struct vigil_config *cfg;
	char root[300];           /* /vigil/<cluster.name> */
	char me[VIGIL_TOKEN_MAX + 1];
	zhandle_t *zh;
	int evfd;                 /* woken by the client library's thread */
	int ifd;                  /* inotify: the cameras' open events */
	int pollfd;               /* epoll over both, for the supervisor */
	int watch_warned;

	/* Written by the client library's thread, under lock. */
	pthread_mutex_t lock;
	zhandle_t *zh_seen;       /* events of other (closed) handles are ignored */
	int ev_state, ev_expired, ev_dirty;
	int confirm_done, confirm_rc;
	long long confirm_owner;

	/* The supervisor loop's. */
	int state;                /* ZOO_CONNECTED_STATE, ZOO_CONNECTING_STATE */
	long long session_id, my_czxid, since_ms;
	int registered, ready, dirty, suspect, confirm_sent, unreachable_logged;
	int publishing;           /* the supervisor opened the workers' fence */
	long long connect_at_ms, connecting_since_ms, registered_ms, dup_since_ms;
	long long last_step_ms, next_scan_ms, batch_start_ms;
	int batch_used;
	struct cl_member *members;
	size_t nmembers;
	int members_loaded;
	struct cl_cam *cams;      /* one per configured camera */
	struct owned_set owned;
	unsigned gen, applied_gen;
	struct cluster_alert *alerts;
	size_t nalerts;
	char **warned;            /* malformed nodes already logged */
	size_t nwarned;

	/* Figures. */
	unsigned long claims_taken, released, expiries;
	long long last_loss_ms;   /* a ready member was seen leaving */
	long long last_failover_ms, last_failover_wall_us;
};

/* cluster.c: the ready member that owns camera id (rendezvous hashing
 * over names), or NULL; wall-clock microseconds. */
/* The ready member that owns camera id (NULL: none): rendezvous
 * hashing weighted by the members' capacities; a member that states
 * none counts as the mean of those that do (all equal when none do). */
const char *cl_owner(const struct cl_member *m, size_t n, const char *id);
long long cl_wall_us(void);

/* cluster_alert.c: a member left (down) or arrived (up); the survivor
 * that creates the event's node queues the alert. old/cur: the members
 * before and after, for the cameras moved. */
void cl_node_event(struct cluster *c, int down, const struct cl_member *who,
		   const struct cl_member *old, size_t nold,
		   const struct cl_member *cur, size_t ncur);

/* cluster_watch.c: the open events of every camera watched (inotify),
 * so that a change is mirrored in the turn it is seen. open: the epoll
 * fd over evfd and the watches; rebuild: the watches again (a new
 * inventory); take: mark the cameras whose events changed. */
int cl_watch_open(struct cluster *c);
void cl_watch_rebuild(struct cluster *c);
void cl_watch_close(struct cluster *c);
void cl_watch_take(struct cluster *c);

/* cluster_loss.c: open video_loss events across owners. Adopt before a
 * claimed camera starts; mirror while owned; release once its worker
 * stopped it (the next owner adopts). */
void cl_loss_adopt(struct cluster *c, size_t i);
void cl_loss_mirror(struct cluster *c, size_t i);
void cl_loss_release(struct cluster *c, size_t i);
/* The same for the other open events (evstore.h). */
void cl_open_adopt(struct cluster *c, size_t i);
void cl_open_mirror(struct cluster *c, size_t i);
void cl_open_release(struct cluster *c, size_t i);

#endif
