/* Alert journal in SQLite; see journal.h. */
#include "journal.h"
#include "journal_test.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

struct journal {
	sqlite3 *db;
	sqlite3_stmt *insert, *find, *read, *prune, *oldest;
	int64_t epoch;
	uint64_t committed;     /* newest durable seq */
	uint64_t newest;        /* newest seq handed out */
	int in_batch;
};

static const char journal_schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS alerts ("
	"  seq INTEGER PRIMARY KEY,"
	"  key TEXT NOT NULL UNIQUE,"
	"  topic TEXT NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  stored INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS alerts_stored ON alerts(stored);";

static int64_t journal_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

const char *journal_error(const struct journal *j)
{
	return j && j->db ? sqlite3_errmsg(j->db) : "no journal";
}

/* -ENOSPC when SQLite found the disk full, else -EIO. */
static int journal_failure(struct journal *j)
{
	return sqlite3_errcode(j->db) == SQLITE_FULL ? -ENOSPC : -EIO;
}

static int journal_exec(struct journal *j, const char *sql)
{
	return sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : journal_failure(j);
}

/* Read the stored epoch, or create one (the time of creation in
 * milliseconds) when the journal is new. */
static int journal_load_epoch(struct journal *j)
{
	sqlite3_stmt *st;
	char buf[32];
	int r;

	if (sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE name='epoch'", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		j->epoch = strtoll((const char *)sqlite3_column_text(st, 0), NULL, 10);
		sqlite3_finalize(st);
		return j->epoch > 0 ? 0 : -EINVAL;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return -EIO;
	j->epoch = journal_now_ms();
	snprintf(buf, sizeof(buf), "%" PRId64, j->epoch);
	if (sqlite3_prepare_v2(j->db, "INSERT INTO meta(name, value) VALUES('epoch', ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, buf, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -EIO;
}

static int journal_load_newest(struct journal *j)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(j->db, "SELECT COALESCE(MAX(seq), 0) FROM alerts", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		j->committed = j->newest = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 0 : -EIO;
}

int journal_open(struct journal **jp, const char *path, char *err, size_t errlen)
{
	struct journal *j = calloc(1, sizeof(*j));
	const char *what = "opening";

	*jp = NULL;
	if (!j)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(j->db, 2000);
	what = "creating the schema of";
	if (journal_exec(j, journal_schema) < 0)
		goto fail;
	what = "reading the epoch of";
	if (journal_load_epoch(j) < 0)
		goto fail;
	what = "reading";
	if (journal_load_newest(j) < 0)
		goto fail;
	what = "preparing statements on";
	if (sqlite3_prepare_v2(j->db, "INSERT INTO alerts(seq, key, topic, payload, stored) "
			       "VALUES(?, ?, ?, ?, ?)", -1, &j->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(j->db, "DELETE FROM alerts WHERE stored < ? AND seq < ?", -1,
			       &j->prune, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(j->db, "SELECT COALESCE(MIN(seq), 0) FROM alerts", -1,
			       &j->oldest, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(j->db, "SELECT seq FROM alerts WHERE key = ?", -1, &j->find,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(j->db, "SELECT seq, topic, payload FROM alerts "
			       "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?", -1, &j->read,
			       NULL) != SQLITE_OK)
		goto fail;
	*jp = j;
	return 0;
fail:
	if (err)
		snprintf(err, errlen, "%s %s: %s", what, path,
			 j->db ? sqlite3_errmsg(j->db) : "out of memory");
	journal_close(j);
	return -EIO;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->in_batch)
		journal_exec(j, "ROLLBACK");
	sqlite3_finalize(j->insert);
	sqlite3_finalize(j->find);
	sqlite3_finalize(j->read);
	sqlite3_finalize(j->prune);
	sqlite3_finalize(j->oldest);
	sqlite3_close(j->db);
	free(j);
}

int64_t journal_epoch(const struct journal *j)
{
	return j->epoch;
}

uint64_t journal_newest(const struct journal *j)
{
	return j->newest;
}

uint64_t journal_committed(const struct journal *j)
{
	return j->committed;
}

size_t journal_pending(const struct journal *j)
{
	return (size_t)(j->newest - j->committed);
}

uint64_t journal_next_seq(const struct journal *j)
{
	return j->newest + 1;
}

int journal_find_key(struct journal *j, const char *key, uint64_t *seq)
{
	int r;

	sqlite3_reset(j->find);
	sqlite3_bind_text(j->find, 1, key, -1, SQLITE_STATIC);
	r = sqlite3_step(j->find);
	if (r == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(j->find, 0);
	sqlite3_reset(j->find);
	if (r == SQLITE_ROW)
		return 1;
	return r == SQLITE_DONE ? 0 : -EIO;
}

int journal_append(struct journal *j, const char *key, const char *topic,
		   const char *payload)
{
	int r;

	if (!j->in_batch) {
		r = journal_exec(j, "BEGIN IMMEDIATE");
		if (r < 0)
			return r;
		j->in_batch = 1;
	}
	sqlite3_reset(j->insert);
	sqlite3_bind_int64(j->insert, 1, (sqlite3_int64)(j->newest + 1));
	sqlite3_bind_text(j->insert, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(j->insert, 3, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(j->insert, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int64(j->insert, 5, journal_now_ms());
	r = sqlite3_step(j->insert);
	sqlite3_reset(j->insert);
	if (r != SQLITE_DONE)
		return r == SQLITE_CONSTRAINT ? -EEXIST : journal_failure(j);
	j->newest++;
	return 0;
}

int journal_commit(struct journal *j)
{
	int r;

	if (!j->in_batch)
		return 0;
	j->in_batch = 0;
	r = journal_exec(j, "COMMIT");
	if (r < 0) {
		journal_exec(j, "ROLLBACK");
		j->newest = j->committed;
		return r;
	}
	j->committed = j->newest;
	return 0;
}

void journal_abort(struct journal *j)
{
	if (j->in_batch)
		journal_exec(j, "ROLLBACK");
	j->in_batch = 0;
	j->newest = j->committed;
}

int journal_read(struct journal *j, uint64_t after, int limit, journal_row_fn fn,
		 void *arg, uint64_t *last)
{
	int n = 0, r;

	*last = after;
	sqlite3_reset(j->read);
	sqlite3_bind_int64(j->read, 1, (sqlite3_int64)after);
	sqlite3_bind_int64(j->read, 2, (sqlite3_int64)j->committed);
	sqlite3_bind_int(j->read, 3, limit);
	while ((r = sqlite3_step(j->read)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(j->read, 0);
		n++;
		*last = seq;
		if (fn(arg, seq, (const char *)sqlite3_column_text(j->read, 1),
		       (const char *)sqlite3_column_text(j->read, 2)))
			break;
	}
	sqlite3_reset(j->read);
	return r == SQLITE_ROW || r == SQLITE_DONE ? n : -EIO;
}

int journal_prune(struct journal *j, int64_t before_ms)
{
	int r;

	if (j->in_batch)
		return -EBUSY;
	sqlite3_reset(j->prune);
	sqlite3_bind_int64(j->prune, 1, before_ms);
	/* The newest alert always stays: it carries the sequence on. */
	sqlite3_bind_int64(j->prune, 2, (sqlite3_int64)j->committed);
	r = sqlite3_step(j->prune);
	sqlite3_reset(j->prune);
	return r == SQLITE_DONE ? sqlite3_changes(j->db) : -EIO;
}

uint64_t journal_oldest(struct journal *j)
{
	uint64_t seq = 0;

	sqlite3_reset(j->oldest);
	if (sqlite3_step(j->oldest) == SQLITE_ROW)
		seq = (uint64_t)sqlite3_column_int64(j->oldest, 0);
	sqlite3_reset(j->oldest);
	return seq;
}
