/* Outbox: a worker's alerts that the relay has not acknowledged yet.
 *
 * Each alert gets a key unique to this worker process: a prefix naming
 * the worker and its boot (random), and a counter. The relay stores the
 * key with the alert and acknowledges it after its journal commit; until
 * then the alert stays here and is sent again after a timeout, so a
 * relay restart loses nothing. A resend the relay has already stored is
 * recognised by its key and not published twice.
 *
 * Items are kept in counter order in a ring, so an acknowledgement is
 * found by binary search and acknowledged items leave from the head. */
#ifndef VIGIL_OUTBOX_H
#define VIGIL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"

struct outbox_item {
	uint64_t n;             /* counter, the end of the key */
	struct alert_msg msg;   /* payload and optional thumbnail */
	long long sent_ms;      /* 0: never sent */
	int acked;
};

struct outbox {
	struct outbox_item *ring;
	size_t cap, head, count;
	size_t unsent;          /* index (from head) of the first never-sent item */
	uint64_t next;
	char prefix[64];
	unsigned long resent;
};

/* prefix: "w<index>-<boot>-", see outbox_make_prefix(). */
int outbox_init(struct outbox *o, size_t cap, const char *prefix);
void outbox_destroy(struct outbox *o);

/* A prefix naming worker index and a random boot id. */
void outbox_make_prefix(int index, char *buf, size_t len);

int outbox_full(const struct outbox *o);
/* Alerts not yet acknowledged. */
size_t outbox_waiting(const struct outbox *o);

/* Take ownership of the message (*m is cleared); returns 0 or -ENOBUFS
 * when full (*m stays the caller's). */
int outbox_add_msg(struct outbox *o, struct alert_msg *m);

/* Mark the alert with this key acknowledged. Returns 1 when it was
 * waiting, 0 otherwise (a stale or foreign key). */
int outbox_ack(struct outbox *o, const char *key);

/* Forget (as if acknowledged) the waiting alerts for which keep()
 * returns 0; returns how many. */
size_t outbox_drop_if(struct outbox *o, int (*keep)(const struct alert_msg *m, void *arg),
		      void *arg);

/* Send never-sent items, and items sent more than timeout_ms ago and
 * still unacknowledged, through fn (0: sent; <0: stop for now). A
 * negative timeout sends new items only (the resend scan is O(n)). */
typedef int (*outbox_send_fn)(void *arg, const char *key, const struct alert_msg *m);
void outbox_send_due(struct outbox *o, long long now_ms, long long timeout_ms,
		     outbox_send_fn fn, void *arg);

#endif
