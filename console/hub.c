/* The event hub: a ring of the latest events (alerts, acknowledgements)
 * as the event streams send them. The ingest thread and the ack handler
 * push; each stream reads from its own position, waiting on a condition
 * variable, and sends only what its user may see. A stream that falls a
 * whole ring behind (a client too slow to read) is ended: the browser
 * reconnects and reloads the list. */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hub_entry {
	uint64_t id;
	char event[8];
	char district[CONSOLE_NAME_MAX];
	char *data;
	size_t len;
};

struct hub {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hub_entry *ring;
	int capacity;
	uint64_t head;          /* id of the newest entry, 0: none yet */
	uint64_t boot;          /* tells this run's ids from an earlier run's */
	uint64_t kicks;         /* hub_kick() calls: wake every reader */
	int stopping;
};

struct hub *hub_new(int capacity)
{
	struct hub *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;

	if (!h || !(h->ring = calloc((size_t)capacity, sizeof(*h->ring)))) {
		free(h);
		return NULL;
	}
	h->capacity = capacity;
	h->boot = (uint64_t)now_us() / 1000;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	return h;
}

void hub_free(struct hub *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->capacity; i++)
		free(h->ring[i].data);
	free(h->ring);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

void hub_push(struct hub *h, const char *event, const char *district, const char *data)
{
	size_t len = strlen(data);
	char *copy = malloc(len + 1);
	struct hub_entry *e;

	if (!copy)
		return;
	memcpy(copy, data, len + 1);
	pthread_mutex_lock(&h->lock);
	h->head++;
	e = &h->ring[h->head % (uint64_t)h->capacity];
	free(e->data);
	e->id = h->head;
	snprintf(e->event, sizeof(e->event), "%s", event);
	snprintf(e->district, sizeof(e->district), "%s", district ? district : "");
	e->data = copy;
	e->len = len;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void hub_stop(struct hub *h)
{
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void hub_kick(struct hub *h)
{
	pthread_mutex_lock(&h->lock);
	h->kicks++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

uint64_t hub_head(struct hub *h)
{
	uint64_t v;

	pthread_mutex_lock(&h->lock);
	v = h->head;
	pthread_mutex_unlock(&h->lock);
	return v;
}

uint64_t hub_boot(struct hub *h)
{
	return h->boot;
}

long hub_read(struct hub *h, const struct user *u, uint64_t *pos, char *buf, size_t n,
	      int wait_ms)
{
	struct timespec until;
	size_t used = 0;
	uint64_t kicks;
	long r = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&h->lock);
	kicks = h->kicks;
	for (;;) {
		if (h->stopping || (h->head > (uint64_t)h->capacity &&
				    *pos < h->head - (uint64_t)h->capacity)) {
			r = -1;
			break;
		}
		while (*pos < h->head) {
			struct hub_entry *e = &h->ring[(*pos + 1) % (uint64_t)h->capacity];
			int w;

			if (!user_may_see(u, e->district)) {
				(*pos)++;
				continue;
			}
			/* A frame that does not fit waits for the next call
			 * (one larger than the whole buffer is dropped). */
			if (e->len + 96 > n) {
				fprintf(stderr, "vigil-console: event of %zu bytes too large for a "
					"stream, not sent\n", e->len);
				(*pos)++;
				continue;
			}
			if (used + e->len + 96 > n)
				break;
			w = snprintf(buf + used, n - used, "id: %llu-%llu\nevent: %s\ndata: ",
				     (unsigned long long)h->boot, (unsigned long long)e->id, e->event);
			used += (size_t)w;
			memcpy(buf + used, e->data, e->len);
			used += e->len;
			memcpy(buf + used, "\n\n", 2);
			used += 2;
			(*pos)++;
		}
		if (used > 0 || *pos < h->head || h->kicks != kicks) {
			r = (long)used;
			break;
		}
		if (pthread_cond_timedwait(&h->cond, &h->lock, &until) == ETIMEDOUT) {
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}
