/* Alerts the relay published but could not journal yet (a full disk).
 *
 * When the journal cannot be written, the relay does not hold alerts
 * back: it numbers, publishes and acknowledges them at once and keeps
 * them here, in seq order, until the journal takes them, so the journal
 * stays gap-free. At most RELAY_HELD_MAX alerts / RELAY_HELD_BYTES are
 * kept; beyond that new alerts are left to their workers, which resend
 * them. A reserve file of RELAY_RESERVE_BYTES in the data directory is
 * given up at the first full-disk failure to let the journal go on, and
 * made again once it has caught up. */
#ifndef VIGIL_RELAY_HELD_H
#define VIGIL_RELAY_HELD_H

#include <stddef.h>
#include <stdint.h>

struct journal;

#define RELAY_HELD_MAX      16384
#define RELAY_HELD_BYTES    (32 << 20)
#define RELAY_HELD_BATCH    1024          /* journaled per transaction */
#define RELAY_RETRY_MS      1000          /* journal retries while alerts are held */
#define RELAY_RESERVE_BYTES (4 << 20)

/* A numbered alert: in the relay's open batch or held here. */
struct relay_alert {
	uint64_t seq;
	char *key, *topic, *payload;
	void *thumb;                    /* JPEG or NULL */
	size_t thumb_size;
};

void relay_alert_free(struct relay_alert *a);

struct relay_held {
	struct journal *journal;
	struct relay_alert *a;          /* in seq order */
	size_t n, bytes;
	long long retry_ms;             /* next journal attempt (monotonic), 0: none */
	char reserve[4096];             /* path of the reserve file */
};

/* Start empty and make the reserve file in data_dir. */
void relay_held_init(struct relay_held *h, struct journal *j, const char *data_dir);
/* Log what could not be journaled and free it. */
void relay_held_free(struct relay_held *h);

/* The seq the next alert gets: after the held ones, if any. */
uint64_t relay_held_next_seq(const struct relay_held *h);
/* Seq of a held alert stored under key: 1 when found, else 0. */
int relay_held_find(const struct relay_held *h, const char *key, uint64_t *seq);
/* Whether no more may be held. */
int relay_held_full(const struct relay_held *h);

/* Keep a published alert (its thumbnail is dropped); takes ownership of
 * *a and clears it. */
void relay_held_add(struct relay_held *h, struct relay_alert *a, long long now_ms);
/* Journal what is held, oldest first; on a full disk release the reserve
 * once, else try again RELAY_RETRY_MS later. */
void relay_held_drain(struct relay_held *h, long long now_ms);

#endif
