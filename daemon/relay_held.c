/* Published alerts waiting for the journal; see relay_held.h. */
#include "relay_held.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

void relay_alert_free(struct relay_alert *a)
{
	free(a->key);
	free(a->topic);
	free(a->payload);
	free(a->thumb);
	memset(a, 0, sizeof(*a));
}

static size_t relay_held_size(const struct relay_alert *a)
{
	return strlen(a->payload) + strlen(a->topic) + strlen(a->key);
}

/* Make the reserve file if it is missing; a disk too full for it is
 * tried again later. */
static void relay_reserve_make(struct relay_held *h)
{
	struct stat st;
	int fd, e;

	if (stat(h->reserve, &st) == 0 && st.st_size >= RELAY_RESERVE_BYTES)
		return;
	fd = open(h->reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	e = posix_fallocate(fd, 0, RELAY_RESERVE_BYTES);
	close(fd);
	if (e != 0)
		unlink(h->reserve);
	else
		log_info(NULL, "journal: %d MB reserved in %s for a full disk",
			 RELAY_RESERVE_BYTES >> 20, h->reserve);
}

/* Give the reserve's space to the journal. 1 when there was one. */
static int relay_reserve_release(struct relay_held *h)
{
	if (unlink(h->reserve) < 0)
		return 0;
	log_warn(NULL, "journal: the disk is full, %d MB reserve released",
		 RELAY_RESERVE_BYTES >> 20);
	return 1;
}

void relay_held_init(struct relay_held *h, struct journal *j, const char *data_dir)
{
	memset(h, 0, sizeof(*h));
	h->journal = j;
	snprintf(h->reserve, sizeof(h->reserve), "%s/journal.reserve", data_dir);
	relay_reserve_make(h);
}

void relay_held_free(struct relay_held *h)
{
	if (h->n)
		log_err(NULL, "journal: %zu published alert(s) up to seq %" PRIu64 " could not be "
			"journaled and are lost from it", h->n, h->a[h->n - 1].seq);
	for (size_t i = 0; i < h->n; i++)
		relay_alert_free(&h->a[i]);
	free(h->a);
	h->a = NULL;
	h->n = h->bytes = 0;
}

uint64_t relay_held_next_seq(const struct relay_held *h)
{
	return h->n ? h->a[h->n - 1].seq + 1 : journal_next_seq(h->journal);
}

int relay_held_find(const struct relay_held *h, const char *key, uint64_t *seq)
{
	for (size_t i = h->n; i-- > 0;) {
		if (strcmp(h->a[i].key, key) == 0) {
			*seq = h->a[i].seq;
			return 1;
		}
	}
	return 0;
}

int relay_held_full(const struct relay_held *h)
{
	return h->n >= RELAY_HELD_MAX || h->bytes >= RELAY_HELD_BYTES;
}

void relay_held_add(struct relay_held *h, struct relay_alert *a, long long now_ms)
{
	free(a->thumb);
	a->thumb = NULL;
	a->thumb_size = 0;
	/* One batch to spare: a whole failed batch is held at once. */
	if (!h->a)
		h->a = calloc(RELAY_HELD_MAX + RELAY_HELD_BATCH, sizeof(*h->a));
	if (!h->a || !a->key || !a->topic || !a->payload) {
		log_err(NULL, "alert seq %" PRIu64 " published, not journaled: out of memory",
			a->seq);
		relay_alert_free(a);
		return;
	}
	if (h->n == 0)
		log_err(NULL, "journal: cannot store alerts; publishing them not journaled, "
			"kept in memory until it can (at most %d)", RELAY_HELD_MAX);
	h->bytes += relay_held_size(a);
	h->a[h->n++] = *a;
	memset(a, 0, sizeof(*a));
	if (!h->retry_ms)
		h->retry_ms = now_ms + RELAY_RETRY_MS;
}

/* Journal up to one batch of held alerts, oldest first. 0, or a
 * negative errno with the batch still held. */
static int relay_held_store(struct relay_held *h)
{
	size_t n = h->n < RELAY_HELD_BATCH ? h->n : RELAY_HELD_BATCH;
	int e = 0;

	for (size_t i = 0; i < n && e == 0; i++) {
		if (journal_next_seq(h->journal) != h->a[i].seq) {
			log_err(NULL, "journal: held alert seq %" PRIu64 " is not the next (%" PRIu64
				")", h->a[i].seq, journal_next_seq(h->journal));
			e = -EINVAL;
		} else {
			e = journal_append(h->journal, h->a[i].key, h->a[i].topic, h->a[i].payload);
		}
	}
	if (e == 0)
		e = journal_commit(h->journal);
	if (e < 0) {
		journal_abort(h->journal);
		return e;
	}
	for (size_t i = 0; i < n; i++) {
		h->bytes -= relay_held_size(&h->a[i]);
		relay_alert_free(&h->a[i]);
	}
	h->n -= n;
	memmove(h->a, h->a + n, h->n * sizeof(*h->a));
	return 0;
}

void relay_held_drain(struct relay_held *h, long long now_ms)
{
	size_t before = h->n;
	int e = 0;

	while (h->n && e == 0) {
		e = relay_held_store(h);
		if (e == -ENOSPC && relay_reserve_release(h))
			e = relay_held_store(h);
	}
	if (h->n) {
		h->retry_ms = now_ms + RELAY_RETRY_MS;
		return;
	}
	h->retry_ms = 0;
	if (before)
		log_info(NULL, "journal: writable again, %zu held alert(s) journaled, up to seq %"
			 PRIu64, before, journal_committed(h->journal));
	relay_reserve_make(h);
}
