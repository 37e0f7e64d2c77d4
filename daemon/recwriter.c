/* The recorder's writer thread: clip files, snapshots, the clip index
 * and retention, fed by the recorder's queue (recorder_priv.h). Every
 * disk error is logged once per clip here, where the camera is known;
 * the feeding side never waits for any of it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clipdb.h"
#include "clipfile.h"
#include "log.h"
#include "recorder_priv.h"
#include "retention.h"
#include "snapshot.h"

#define RECWRITER_PERIOD_US     5000000   /* index refresh of the open clip */
#define RECWRITER_RETENTION_US 60000000   /* retention, besides at each clip */
#define RECWRITER_PENDING       16        /* clip ends the index could not take */

/* A clip's final row that the index could not store (a full disk): kept
 * and stored again every second, so that a clip never stays
 * "recording" in the index while its writer runs. */
struct recwriter_end {
	int64_t id, end_us, size;
	const char *state;
};

struct recwriter {
	struct recorder *r;
	const char *who;
	sqlite3 *db;
	struct clipfile file;
	int open, failed;
	int64_t id;                       /* index row of the open clip */
	char path[256];
	int64_t start_us, last_us;
	int64_t snap_bytes;               /* snapshots of the open or next clip */
	unsigned long skipped;            /* packets lost after a write error */
	struct recwriter_end pending[RECWRITER_PENDING];
	int npending;
};

static int64_t recwriter_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* mkdir -p of the directory part of path. */
static int recwriter_mkdirs(const char *path)
{
	char buf[4300];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static void recwriter_full_path(struct recwriter *w, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", w->r->clip_dir, rel);
}

static void recwriter_index(struct recwriter *w, const char *state)
{
	if (w->db && w->id &&
	    clipdb_update(w->db, w->id, w->last_us, clipfile_size(&w->file) + w->snap_bytes,
			  state) < 0)
		log_warn(w->who, "clip index: cannot update %s: %s, ignoring", w->path,
			 sqlite3_errmsg(w->db));
}

/* Store a clip's final row; when the index cannot take it, keep it for
 * recwriter_retry_ends. */
static void recwriter_finish(struct recwriter *w, int64_t id, int64_t end_us, int64_t size,
			     const char *state)
{
	if (clipdb_update(w->db, id, end_us, size, state) == 0)
		return;
	if (w->npending == RECWRITER_PENDING) {
		log_warn(w->who, "clip index: %d clip ends waiting, the oldest is left to the next "
			 "start (which marks it truncated)", RECWRITER_PENDING);
		memmove(w->pending, w->pending + 1, (RECWRITER_PENDING - 1) * sizeof(w->pending[0]));
		w->npending--;
	}
	w->pending[w->npending++] = (struct recwriter_end){ id, end_us, size, state };
	log_warn(w->who, "clip index: cannot finish %s (%s): %s, retrying every second", w->path,
		 state, sqlite3_errmsg(w->db));
}

static void recwriter_retry_ends(struct recwriter *w)
{
	int k = 0;

	for (int i = 0; i < w->npending; i++) {
		struct recwriter_end *e = &w->pending[i];
		if (clipdb_update(w->db, e->id, e->end_us, e->size, e->state) == 0)
			log_info(w->who, "clip index: clip %lld finished (%s) after all",
				 (long long)e->id, e->state);
		else
			w->pending[k++] = *e;
	}
	w->npending = k;
}

static void recwriter_retention(struct recwriter *w)
{
	int r;

	if (!w->db)
		return;
	r = retention_run(w->db, w->r->clip_dir, &w->r->conf, recwriter_now_us());
	if (r < 0 && r != -EBUSY)
		log_warn(w->who, "retention: %s, retrying later", sqlite3_errmsg(w->db));
}

static void recwriter_fail(struct recwriter *w, const char *what, int err)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];

	log_err(w->who, "clip %s: %s failed: %s; the clip ends here (playable up to "
		"its last fragment), alerts go on", w->path, what,
		av_make_error_string(buf, sizeof(buf), err));
	w->failed = 1;
	recwriter_index(w, CLIPDB_TRUNCATED);
}

static void recwriter_close(struct recwriter *w)
{
	int r;

	if (!w->open)
		return;
	r = clipfile_close(&w->file);
	if (r < 0 && !w->failed)
		recwriter_fail(w, "finishing", r);
	if (w->db && w->id) {
		char full[4400];
		struct stat sb;
		int64_t size = w->snap_bytes;
		recwriter_full_path(w, w->path, full, sizeof(full));
		if (stat(full, &sb) == 0)
			size += (int64_t)sb.st_size;
		recwriter_finish(w, w->id, w->last_us, size,
				 w->failed ? CLIPDB_TRUNCATED : CLIPDB_COMPLETE);
	}
	log_info(w->who, "clip %s %s: %.1f s%s", w->path,
		 w->failed ? "truncated" : "complete",
		 (double)(w->last_us - w->start_us) / 1e6,
		 w->skipped ? " (packets lost after the error)" : "");
	w->open = 0;
	w->id = 0;
	w->snap_bytes = 0;
	atomic_store(&w->r->clip_bytes, 0);
	recwriter_retention(w);
}

static void recwriter_open(struct recwriter *w, struct rec_item *it)
{
	char full[4400];
	struct clipdb_row row = { 0 };
	int r;

	if (w->open)
		recwriter_close(w);     /* runs retention too */
	else
		recwriter_retention(w);
	memset(&w->file, 0, sizeof(w->file));
	snprintf(w->path, sizeof(w->path), "%s", it->path);
	w->open = 1;
	w->failed = 0;
	w->skipped = 0;
	w->start_us = w->last_us = it->wall_us;
	if (w->db) {
		snprintf(row.camera, sizeof(row.camera), "%s", w->r->cam->id);
		snprintf(row.event_id, sizeof(row.event_id), "%s", it->event_id);
		snprintf(row.type, sizeof(row.type), "%s", it->type);
		snprintf(row.events, sizeof(row.events), "%s", it->events);
		snprintf(row.path, sizeof(row.path), "%s", it->path);
		row.start_us = it->wall_us;
		if (clipdb_insert(w->db, &row) < 0)
			log_warn(w->who, "clip index: cannot add %s: %s, ignoring", it->path,
				 sqlite3_errmsg(w->db));
		w->id = row.id;
	}
	recwriter_full_path(w, it->path, full, sizeof(full));
	r = recwriter_mkdirs(full);
	if (r == 0)
		r = clipfile_open(&w->file, full, it->par, it->tb);
	else
		r = AVERROR(-r);
	if (r < 0) {
		recwriter_fail(w, "creating the file", r);
		return;
	}
	log_info(w->who, "clip %s started", it->path);
}

static void recwriter_packet(struct recwriter *w, struct rec_item *it)
{
	int r;

	if (!w->open)
		return;
	if (w->failed) {
		w->skipped++;
		return;
	}
	r = clipfile_write(&w->file, it->pkt);
	if (r < 0) {
		recwriter_fail(w, "writing", r);
		return;
	}
	w->last_us = it->wall_us;
	atomic_store(&w->r->clip_bytes, clipfile_size(&w->file));
}

static void recwriter_snapshot(struct recwriter *w, struct rec_item *it)
{
	char full[4400], buf[AV_ERROR_MAX_STRING_SIZE];
	int64_t r;

	recwriter_full_path(w, it->path, full, sizeof(full));
	r = recwriter_mkdirs(full);
	if (r == 0)
		r = snapshot_write(full, it->frame, it->boxes, it->nboxes);
	else
		r = AVERROR(-r);
	if (r < 0) {
		log_err(w->who, "snapshot %s: %s; the alert keeps its reference, the "
			"picture is missing", it->path,
			av_make_error_string(buf, sizeof(buf), (int)r));
		return;
	}
	/* Counted with the open clip, or the pending one it belongs to. */
	w->snap_bytes += r;
}

static void recwriter_handle(struct recwriter *w, struct rec_item *it)
{
	switch (it->kind) {
	case REC_OPEN:
		recwriter_open(w, it);
		break;
	case REC_PKT:
		recwriter_packet(w, it);
		break;
	case REC_EVENT:
		if (w->open && w->db && w->id)
			clipdb_add_event(w->db, w->id, it->event_id);
		break;
	case REC_SNAP:
		recwriter_snapshot(w, it);
		break;
	case REC_CLOSE:
		recwriter_close(w);
		break;
	}
}

void *recwriter_main(void *arg)
{
	struct recwriter w = { .r = arg, .who = ((struct recorder *)arg)->cam->id };
	int64_t next_period = 0, next_tick = 0, next_retention = 0;
	sigset_t all;
	int n;

	/* Signals belong to the worker's main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	log_name_thread("rec", w.who);
	if (recwriter_mkdirs(w.r->db_path) < 0 || clipdb_open(&w.db, w.r->db_path, 0) < 0) {
		log_err(w.who, "clip index %s: %s; clips are written but not indexed",
			w.r->db_path, w.db ? sqlite3_errmsg(w.db) : strerror(errno));
		clipdb_close(w.db);
		w.db = NULL;
	}
	if (w.db && (n = clipdb_mark_truncated(w.db, w.r->cam->id, w.r->clip_dir)) > 0)
		log_warn(w.who, "%d clip(s) left unfinished by a previous run marked truncated", n);
	for (;;) {
		int stopping;
		struct rec_item *it = rec_queue_pop(w.r, 1000, &stopping);
		int64_t now = recwriter_now_us();

		if (it) {
			recwriter_handle(&w, it);
			rec_item_free(it);
		} else if (stopping) {
			break;
		}
		if (now >= next_tick) {
			next_tick = now + 1000000;
			rec_tick(w.r);
			if (w.npending)
				recwriter_retry_ends(&w);
		}
		if (now >= next_period) {
			next_period = now + RECWRITER_PERIOD_US;
			if (w.open && !w.failed)
				recwriter_index(&w, CLIPDB_RECORDING);
		}
		if (now >= next_retention) {
			next_retention = now + RECWRITER_RETENTION_US;
			recwriter_retention(&w);
		}
	}
	recwriter_close(&w);
	if (w.npending)
		recwriter_retry_ends(&w);
	clipdb_close(w.db);
	return NULL;
}
