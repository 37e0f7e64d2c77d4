/* Alert journal: the relay's durable record of every alert it numbered.
 *
 * One SQLite database (WAL mode) in the data directory. Each alert is
 * stored with its sequence number, the worker's unique key (so that a
 * resent alert is recognised even by a restarted relay), its topic and
 * its full payload. The epoch is created with the database and kept in
 * it: it changes only when the journal is lost.
 *
 * Appends go into an open transaction; journal_commit() makes the whole
 * batch durable at once, which is what keeps throughput high. Sequence
 * numbers are assigned by the journal, gap-free: a batch that fails to
 * commit gives its numbers back. */
#ifndef VIGIL_JOURNAL_H
#define VIGIL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct journal;

/* Open or create the journal at path. Returns 0 or a negative errno;
 * *jp is NULL on failure and err (if not NULL) says why. */
int journal_open(struct journal **jp, const char *path, char *err, size_t errlen);
void journal_close(struct journal *j);

int64_t journal_epoch(const struct journal *j);
/* Newest sequence number handed out (committed or in the open batch). */
uint64_t journal_newest(const struct journal *j);
/* Newest committed sequence number: what subscribers may already see. */
uint64_t journal_committed(const struct journal *j);

/* Sequence number stored under key: 1 and *seq when found (in the open
 * batch too), 0 when not, negative errno on error. */
int journal_find_key(struct journal *j, const char *key, uint64_t *seq);

/* The sequence number the next append will get. */
uint64_t journal_next_seq(const struct journal *j);

/* Append an alert numbered journal_next_seq() to the open batch
 * (starting one if needed). Returns 0 or a negative errno (-ENOSPC when
 * the disk is full). */
int journal_append(struct journal *j, const char *key, const char *topic,
		   const char *payload);

/* Make the open batch durable. On failure the batch is rolled back and
 * its sequence numbers are handed out again. Returns 0, -ENOSPC when the
 * disk is full, or -EIO. */
int journal_commit(struct journal *j);

/* Roll the open batch back (if any); its numbers are handed out again. */
void journal_abort(struct journal *j);

/* Call fn for each committed alert with seq > after, in order, stopping
 * after limit rows or when fn returns non-zero. Returns the number of
 * rows read, or a negative errno; *last is the seq of the last row read
 * (after when none). */
typedef int (*journal_row_fn)(void *arg, uint64_t seq, const char *topic,
			      const char *payload);
int journal_read(struct journal *j, uint64_t after, int limit, journal_row_fn fn,
		 void *arg, uint64_t *last);

/* Delete alerts stored before before_ms (wall clock, ms), except the
 * newest. Not during a batch. Returns the number deleted or -errno. */
int journal_prune(struct journal *j, int64_t before_ms);

/* Oldest stored seq (0 when empty): replay cannot go further back. */
uint64_t journal_oldest(struct journal *j);

/* Human text of the last SQLite error, for log lines. */
const char *journal_error(const struct journal *j);

#endif
