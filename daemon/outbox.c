/* Unacknowledged alerts of a worker; see outbox.h. */
#include "outbox.h"
#include "outbox_test.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define OUTBOX_KEY_MAX 96

int outbox_init(struct outbox *o, size_t cap, const char *prefix)
{
	memset(o, 0, sizeof(*o));
	o->ring = calloc(cap, sizeof(*o->ring));
	if (!o->ring)
		return -ENOMEM;
	o->cap = cap;
	o->next = 1;
	snprintf(o->prefix, sizeof(o->prefix), "%s", prefix);
	return 0;
}

void outbox_destroy(struct outbox *o)
{
	if (!o || !o->ring)
		return;
	for (size_t i = 0; i < o->count; i++)
		alert_msg_free(&o->ring[(o->head + i) % o->cap].msg);
	free(o->ring);
	memset(o, 0, sizeof(*o));
}

void outbox_make_prefix(int index, char *buf, size_t len)
{
	uint64_t boot = 0;

	/* The boot id only has to differ between runs of this worker. */
	if (getrandom(&boot, sizeof(boot), GRND_NONBLOCK) != sizeof(boot)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		boot = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	snprintf(buf, len, "w%d-%016" PRIx64 "-", index, boot);
}

int outbox_full(const struct outbox *o)
{
	return o->count == o->cap;
}

size_t outbox_waiting(const struct outbox *o)
{
	size_t n = 0;

	for (size_t i = 0; i < o->count; i++)
		n += !o->ring[(o->head + i) % o->cap].acked;
	return n;
}

int outbox_add_msg(struct outbox *o, struct alert_msg *m)
{
	struct outbox_item *it;

	if (outbox_full(o))
		return -ENOBUFS;
	it = &o->ring[(o->head + o->count) % o->cap];
	it->n = o->next++;
	it->msg = *m;
	memset(m, 0, sizeof(*m));
	it->sent_ms = 0;
	it->acked = 0;
	o->count++;
	return 0;
}

int outbox_add(struct outbox *o, char *payload)
{
	struct alert_msg m = { .payload = payload };

	return outbox_add_msg(o, &m);
}

/* Drop acknowledged items from the head. */
static void outbox_trim(struct outbox *o)
{
	while (o->count && o->ring[o->head].acked) {
		alert_msg_free(&o->ring[o->head].msg);
		o->head = (o->head + 1) % o->cap;
		o->count--;
		if (o->unsent)
			o->unsent--;
	}
}

int outbox_ack(struct outbox *o, const char *key)
{
	size_t plen = strlen(o->prefix), lo = 0, hi = o->count;
	char *end;
	uint64_t n;

	if (strncmp(key, o->prefix, plen) != 0 || !key[plen])
		return 0;
	n = strtoull(key + plen, &end, 10);
	if (*end)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct outbox_item *it = &o->ring[(o->head + mid) % o->cap];
		if (it->n == n) {
			int was = !it->acked;
			it->acked = 1;
			outbox_trim(o);
			return was;
		}
		if (it->n < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int outbox_send_one(struct outbox *o, struct outbox_item *it, long long now_ms,
			   outbox_send_fn fn, void *arg)
{
	char key[OUTBOX_KEY_MAX];

	snprintf(key, sizeof(key), "%s%" PRIu64, o->prefix, it->n);
	if (fn(arg, key, &it->msg) < 0)
		return -1;
	it->sent_ms = now_ms;
	return 0;
}

void outbox_send_due(struct outbox *o, long long now_ms, long long timeout_ms,
		     outbox_send_fn fn, void *arg)
{
	/* Resends first, oldest first: they are what subscribers wait for. */
	for (size_t i = 0; timeout_ms >= 0 && i < o->unsent; i++) {
		struct outbox_item *it = &o->ring[(o->head + i) % o->cap];
		if (it->acked || now_ms - it->sent_ms < timeout_ms)
			continue;
		if (outbox_send_one(o, it, now_ms, fn, arg) < 0)
			return;
		o->resent++;
	}
	while (o->unsent < o->count) {
		struct outbox_item *it = &o->ring[(o->head + o->unsent) % o->cap];
		/* Dropped before it was ever sent (outbox_drop_if). */
		if (!it->acked && outbox_send_one(o, it, now_ms, fn, arg) < 0)
			return;
		o->unsent++;
	}
}

size_t outbox_drop_if(struct outbox *o, int (*keep)(const struct alert_msg *m, void *arg),
		      void *arg)
{
	size_t dropped = 0;

	for (size_t i = 0; i < o->count; i++) {
		struct outbox_item *it = &o->ring[(o->head + i) % o->cap];
		if (!it->acked && !keep(&it->msg, arg)) {
			it->acked = 1;
			dropped++;
		}
	}
	outbox_trim(o);
	return dropped;
}
