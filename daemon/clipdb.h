/* The clip index: one SQLite (WAL) database, DATA_DIR/clips.db, with a
 * row per clip file: camera, first event id and type, every event id the
 * clip holds, start and end (wall clock, microseconds), path relative to
 * the clip directory, size (clip plus snapshots) and state.
 *
 * Each recorder writer thread opens its own connection; vigilctl opens
 * the same file read-only. Functions return 0 or -errno (-EIO for SQLite
 * errors, with the message in the connection). */
#ifndef VIGIL_CLIPDB_H
#define VIGIL_CLIPDB_H

#include <sqlite3.h>
#include <stdint.h>

#define CLIPDB_RECORDING "recording"
#define CLIPDB_COMPLETE  "complete"
#define CLIPDB_TRUNCATED "truncated"

struct clipdb_row {
	int64_t id;
	char camera[64];
	char event_id[96];
	char type[32];
	char events[512];    /* event ids, space separated */
	int64_t start_us;
	int64_t end_us;      /* 0 while unknown */
	char path[256];      /* relative to the clip directory */
	int64_t size;
	char state[16];
};

/* Open (creating the schema) for writing, or read-only. */
int clipdb_open(sqlite3 **db, const char *path, int readonly);
void clipdb_close(sqlite3 *db);

/* Insert a clip in state recording; sets r->id. */
int clipdb_insert(sqlite3 *db, struct clipdb_row *r);
/* Record end, size and state of a clip. */
int clipdb_update(sqlite3 *db, int64_t id, int64_t end_us, int64_t size,
		  const char *state);
/* Note one more event held by a clip. */
int clipdb_add_event(sqlite3 *db, int64_t id, const char *event_id);
/* Clips of a camera still marked recording belong to a process that
 * died: mark them truncated with the size their files have now. Returns
 * how many, or -errno. */
int clipdb_mark_truncated(sqlite3 *db, const char *camera, const char *clip_dir);

/* Fill r from a row of "SELECT " CLIPDB_COLUMNS " FROM clips ...". */
#define CLIPDB_COLUMNS "id, camera, event_id, type, events, start_us, " \
	"coalesce(end_us, 0), path, size, state"
void clipdb_row_read(sqlite3_stmt *st, struct clipdb_row *r);

#endif
