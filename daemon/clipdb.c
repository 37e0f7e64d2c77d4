/* Clip index; see clipdb.h. */
#include "clipdb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char clipdb_schema[] =
	"CREATE TABLE IF NOT EXISTS clips ("
	" id INTEGER PRIMARY KEY,"
	" camera TEXT NOT NULL,"
	" event_id TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" events TEXT NOT NULL,"
	" start_us INTEGER NOT NULL,"
	" end_us INTEGER,"
	" path TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL DEFAULT 0,"
	" state TEXT NOT NULL CHECK (state IN ('recording', 'complete', 'truncated')));"
	"CREATE INDEX IF NOT EXISTS clips_by_start ON clips (start_us);"
	"CREATE INDEX IF NOT EXISTS clips_by_camera ON clips (camera, start_us);";

int clipdb_open(sqlite3 **db, const char *path, int readonly)
{
	int flags = readonly ? SQLITE_OPEN_READONLY
			     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	*db = NULL;
	if (sqlite3_open_v2(path, db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_busy_timeout(*db, 5000);
	if (readonly)
		return 0;
	if (sqlite3_exec(*db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(*db, clipdb_schema, NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	return 0;
}

void clipdb_close(sqlite3 *db)
{
	if (db)
		sqlite3_close(db);
}

/* Prepare, bind with a format ("t" text, "i" int64), step once. */
static int clipdb_exec(sqlite3 *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : -EIO;
}

int clipdb_insert(sqlite3 *db, struct clipdb_row *r)
{
	sqlite3_stmt *st;
	int ret;

	/* A clip written again at the same path (a camera's event ids are
	 * times in milliseconds, so only after a clock step) replaces the
	 * row; RETURNING gives its id either way. */
	if (sqlite3_prepare_v2(db,
		"INSERT INTO clips (camera, event_id, type, events, start_us, path, size, state)"
		" VALUES (?, ?, ?, ?, ?, ?, 0, 'recording')"
		" ON CONFLICT (path) DO UPDATE SET camera = excluded.camera,"
		" event_id = excluded.event_id, type = excluded.type, events = excluded.events,"
		" start_us = excluded.start_us, size = 0, state = 'recording', end_us = NULL"
		" RETURNING id", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, r->camera, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->event_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, r->events[0] ? r->events : r->event_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, r->start_us);
	sqlite3_bind_text(st, 6, r->path, -1, SQLITE_TRANSIENT);
	ret = sqlite3_step(st);
	if (ret == SQLITE_ROW)
		r->id = sqlite3_column_int64(st, 0);
	while (ret == SQLITE_ROW)
		ret = sqlite3_step(st);
	sqlite3_finalize(st);
	return ret == SQLITE_DONE ? 0 : -EIO;
}

int clipdb_update(sqlite3 *db, int64_t id, int64_t end_us, int64_t size,
		  const char *state)
{
	return clipdb_exec(db, "UPDATE clips SET end_us = ?, size = ?, state = ? WHERE id = ?",
			   "iiti", end_us, size, state, id);
}

int clipdb_add_event(sqlite3 *db, int64_t id, const char *event_id)
{
	return clipdb_exec(db, "UPDATE clips SET events = events || ' ' || ? WHERE id = ?",
			   "ti", event_id, id);
}

int clipdb_mark_truncated(sqlite3 *db, const char *camera, const char *clip_dir)
{
	sqlite3_stmt *st;
	int n = 0, r;

	if (sqlite3_prepare_v2(db, "SELECT id, path, size FROM clips"
			       " WHERE camera = ? AND state = 'recording'", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, camera, -1, SQLITE_TRANSIENT);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		char path[4200];
		struct stat sb;
		int64_t size = sqlite3_column_int64(st, 2);

		snprintf(path, sizeof(path), "%s/%s", clip_dir,
			 (const char *)sqlite3_column_text(st, 1));
		if (stat(path, &sb) == 0)
			size = (int64_t)sb.st_size;
		if (clipdb_exec(db, "UPDATE clips SET state = 'truncated', size = ? WHERE id = ?",
				"ii", size, sqlite3_column_int64(st, 0)) == 0)
			n++;
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? n : -EIO;
}

static void clipdb_copy(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src ? (const char *)src : "");
}

void clipdb_row_read(sqlite3_stmt *st, struct clipdb_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	clipdb_copy(r->camera, sizeof(r->camera), sqlite3_column_text(st, 1));
	clipdb_copy(r->event_id, sizeof(r->event_id), sqlite3_column_text(st, 2));
	clipdb_copy(r->type, sizeof(r->type), sqlite3_column_text(st, 3));
	clipdb_copy(r->events, sizeof(r->events), sqlite3_column_text(st, 4));
	r->start_us = sqlite3_column_int64(st, 5);
	r->end_us = sqlite3_column_int64(st, 6);
	clipdb_copy(r->path, sizeof(r->path), sqlite3_column_text(st, 7));
	r->size = sqlite3_column_int64(st, 8);
	clipdb_copy(r->state, sizeof(r->state), sqlite3_column_text(st, 9));
}
