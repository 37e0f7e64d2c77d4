/* Clip retention; see retention.h. */
#include "retention.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"

size_t retention_pick(const struct retention_clip *clips, size_t n, int64_t now_us,
		      int64_t max_age_us, int64_t excess_bytes, unsigned char *del)
{
	size_t count = 0;

	memset(del, 0, n);
	for (size_t i = 0; i < n; i++) {
		if (clips[i].recording)
			continue;
		if (max_age_us > 0 && clips[i].start_us < now_us - max_age_us) {
			del[i] = 1;
			excess_bytes -= clips[i].size;
			count++;
		}
	}
	for (size_t i = 0; i < n && excess_bytes > 0; i++) {
		if (clips[i].recording || del[i])
			continue;
		del[i] = 1;
		excess_bytes -= clips[i].size;
		count++;
	}
	return count;
}

int64_t retention_excess(const struct vigil_recording *conf, const char *clip_dir,
			 int64_t clip_bytes)
{
	struct statvfs vfs;

	if (conf->quota_bytes > 0)
		return clip_bytes - conf->quota_bytes;
	if (conf->quota_percent > 0 && statvfs(clip_dir, &vfs) == 0) {
		int64_t total = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
		int64_t used = total - (int64_t)vfs.f_bfree * (int64_t)vfs.f_frsize;
		return used - total / 100 * conf->quota_percent;
	}
	return 0;
}

struct retention_set {
	struct retention_clip *clips;
	int64_t *ids;
	char (*cams)[64];
	char (*paths)[256];
	char (*events)[512];
	size_t n;
};

static void retention_set_free(struct retention_set *s)
{
	free(s->clips);
	free(s->ids);
	free(s->cams);
	free(s->paths);
	free(s->events);
}

/* Total bytes of the clips in the index (being written or not). */
static int retention_total(sqlite3 *db, int64_t *total)
{
	sqlite3_stmt *st;
	int r;

	*total = 0;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(sum(size), 0) FROM clips", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 0 : -EIO;
}

/* The candidates, oldest first: finished clips that started before
 * cutoff_us, or all finished clips when over quota; at most
 * RETENTION_BATCH (the next pass takes the rest). */
#define RETENTION_BATCH 512
static int retention_load(sqlite3 *db, struct retention_set *s, int over_quota,
			  int64_t cutoff_us)
{
	sqlite3_stmt *st;
	size_t cap = RETENTION_BATCH;
	int r = SQLITE_DONE;

	memset(s, 0, sizeof(*s));
	if (sqlite3_prepare_v2(db, "SELECT id, camera, start_us, size, path, events FROM clips"
			       " WHERE state != 'recording' AND (?1 OR start_us < ?2)"
			       " ORDER BY start_us, id LIMIT ?3", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int(st, 1, over_quota);
	sqlite3_bind_int64(st, 2, cutoff_us);
	sqlite3_bind_int(st, 3, RETENTION_BATCH);
	s->clips = malloc(cap * sizeof(*s->clips));
	s->ids = malloc(cap * sizeof(*s->ids));
	s->cams = malloc(cap * sizeof(*s->cams));
	s->paths = malloc(cap * sizeof(*s->paths));
	s->events = malloc(cap * sizeof(*s->events));
	if (!s->clips || !s->ids || !s->cams || !s->paths || !s->events) {
		sqlite3_finalize(st);
		return -ENOMEM;
	}
	while (s->n < cap && (r = sqlite3_step(st)) == SQLITE_ROW) {
		s->ids[s->n] = sqlite3_column_int64(st, 0);
		snprintf(s->cams[s->n], 64, "%s", (const char *)sqlite3_column_text(st, 1));
		s->clips[s->n].start_us = sqlite3_column_int64(st, 2);
		s->clips[s->n].size = sqlite3_column_int64(st, 3);
		s->clips[s->n].recording = 0;
		snprintf(s->paths[s->n], 256, "%s", (const char *)sqlite3_column_text(st, 4));
		snprintf(s->events[s->n], 512, "%s", (const char *)sqlite3_column_text(st, 5));
		s->n++;
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : -EIO;
}

/* Remove a clip's file and the snapshots of its events beside it. */
static void retention_unlink(const char *clip_dir, const char *path, const char *events)
{
	char file[4200], ev[512], *save = NULL;
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 0;

	snprintf(file, sizeof(file), "%s/%s", clip_dir, path);
	if (unlink(file) < 0 && errno != ENOENT)
		log_warn(NULL, "retention: cannot delete %s: %s, ignoring", path, strerror(errno));
	snprintf(ev, sizeof(ev), "%s", events);
	for (char *e = strtok_r(ev, " ", &save); e; e = strtok_r(NULL, " ", &save)) {
		snprintf(file, sizeof(file), "%s/%.*s/%s.jpg", clip_dir, dirlen, path, e);
		unlink(file);
	}
}

/* Work to do? Cheap checks outside any write transaction. */
static int retention_due(sqlite3 *db, const char *clip_dir,
			 const struct vigil_recording *conf, int64_t cutoff_us,
			 int64_t *excess)
{
	sqlite3_stmt *st;
	int64_t total;
	int old = 0;

	if (retention_total(db, &total) < 0)
		return -EIO;
	*excess = retention_excess(conf, clip_dir, total);
	if (*excess > 0)
		return 1;
	if (conf->retention_days <= 0)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM clips WHERE state != 'recording'"
			       " AND start_us < ? LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, cutoff_us);
	old = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return old;
}

int retention_run(sqlite3 *db, const char *clip_dir, const struct vigil_recording *conf,
		  int64_t now_us)
{
	int64_t max_age = (int64_t)conf->retention_days * 86400LL * 1000000LL;
	int64_t cutoff = max_age > 0 ? now_us - max_age : INT64_MIN, excess;
	struct retention_set s = { 0 };
	unsigned char *del = NULL;
	int r, n = 0;

	if (conf->retention_days <= 0 && conf->quota_bytes <= 0 && conf->quota_percent <= 0)
		return 0;
	r = retention_due(db, clip_dir, conf, cutoff, &excess);
	if (r <= 0)
		return r;
	/* One writer at a time decides, on fresh figures, so two cameras
	 * never both delete for the same excess. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EBUSY;
	r = retention_due(db, clip_dir, conf, cutoff, &excess);
	if (r > 0)
		r = retention_load(db, &s, excess > 0, cutoff);
	if (r < 0 || !s.n)
		goto out;
	del = malloc(s.n);
	if (!del) {
		r = -ENOMEM;
		goto out;
	}
	if (!retention_pick(s.clips, s.n, now_us, max_age, excess, del))
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		char q[64];
		if (!del[i])
			continue;
		snprintf(q, sizeof(q), "DELETE FROM clips WHERE id = %lld", (long long)s.ids[i]);
		if (sqlite3_exec(db, q, NULL, NULL, NULL) != SQLITE_OK) {
			r = -EIO;
			goto out;
		}
		n++;
	}
	/* Files go once the index no longer lists them: a crash in between
	 * leaves a stray file, never an entry without its file. */
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (!del[i])
			continue;
		retention_unlink(clip_dir, s.paths[i], s.events[i]);
		log_info(s.cams[i], "retention: deleted clip %s (%lld bytes, %s)", s.paths[i],
			 (long long)s.clips[i].size,
			 s.clips[i].start_us < cutoff ? "older than retention_days" : "over quota");
	}
	free(del);
	retention_set_free(&s);
	return n;
out:
	sqlite3_exec(db, r < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	free(del);
	retention_set_free(&s);
	return r < 0 ? r : n;
}
