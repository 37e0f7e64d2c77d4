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

/* Every clip of the index, oldest first. */
static int retention_load(sqlite3 *db, struct retention_set *s, int64_t *total)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int r;

	memset(s, 0, sizeof(*s));
	*total = 0;
	if (sqlite3_prepare_v2(db, "SELECT id, camera, start_us, size, state, path, events"
			       " FROM clips ORDER BY start_us, id", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n == cap) {
			cap = cap ? cap * 2 : 64;
			s->clips = realloc(s->clips, cap * sizeof(*s->clips));
			s->ids = realloc(s->ids, cap * sizeof(*s->ids));
			s->cams = realloc(s->cams, cap * sizeof(*s->cams));
			s->paths = realloc(s->paths, cap * sizeof(*s->paths));
			s->events = realloc(s->events, cap * sizeof(*s->events));
			if (!s->clips || !s->ids || !s->cams || !s->paths || !s->events) {
				sqlite3_finalize(st);
				return -ENOMEM;
			}
		}
		s->ids[s->n] = sqlite3_column_int64(st, 0);
		snprintf(s->cams[s->n], 64, "%s", (const char *)sqlite3_column_text(st, 1));
		s->clips[s->n].start_us = sqlite3_column_int64(st, 2);
		s->clips[s->n].size = sqlite3_column_int64(st, 3);
		s->clips[s->n].recording =
			strcmp((const char *)sqlite3_column_text(st, 4), "recording") == 0;
		snprintf(s->paths[s->n], 256, "%s", (const char *)sqlite3_column_text(st, 5));
		snprintf(s->events[s->n], 512, "%s", (const char *)sqlite3_column_text(st, 6));
		*total += s->clips[s->n].size;
		s->n++;
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -EIO;
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

int retention_run(sqlite3 *db, const char *clip_dir, const struct vigil_recording *conf,
		  int64_t now_us)
{
	struct retention_set s;
	unsigned char *del = NULL;
	int64_t total, excess;
	int r, n = 0;

	if (conf->retention_days <= 0 && conf->quota_bytes <= 0 && conf->quota_percent <= 0)
		return 0;
	/* One writer at a time decides, so two cameras never both delete
	 * for the same excess. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EBUSY;
	r = retention_load(db, &s, &total);
	if (r < 0 || !s.n)
		goto out;
	del = malloc(s.n);
	if (!del) {
		r = -ENOMEM;
		goto out;
	}
	excess = retention_excess(conf, clip_dir, total);
	if (!retention_pick(s.clips, s.n, now_us,
			    (int64_t)conf->retention_days * 86400LL * 1000000LL, excess, del))
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		char q[64];
		if (!del[i])
			continue;
		snprintf(q, sizeof(q), "DELETE FROM clips WHERE id = %lld", (long long)s.ids[i]);
		if (sqlite3_exec(db, q, NULL, NULL, NULL) != SQLITE_OK) {
			r = -EIO;
			break;
		}
		retention_unlink(clip_dir, s.paths[i], s.events[i]);
		log_info(s.cams[i], "retention: deleted clip %s (%lld bytes, %s)", s.paths[i],
			 (long long)s.clips[i].size,
			 excess > 0 ? "over quota" : "older than retention_days");
		n++;
	}
out:
	sqlite3_exec(db, r < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	free(del);
	retention_set_free(&s);
	return r < 0 ? r : n;
}
