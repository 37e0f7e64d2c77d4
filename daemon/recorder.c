/* Recorder: packet ring, clip state and the queue to the writer; see
 * recorder.h. Everything here runs on the feeding threads and never
 * waits on disk: the only locks are held for list operations. */
#include "recorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "recorder_priv.h"

#define RECORDER_SLACK_US        1000000  /* detection latency kept in the ring */
#define RECORDER_RING_MAX_BYTES  (64LL << 20)
#define RECORDER_QUEUE_MAX_ITEMS 2048
#define RECORDER_QUEUE_MAX_BYTES (32LL << 20)
#define RECORDER_DROP_LOG_US     10000000 /* at most one drop warning per 10 s */
#define RECORDER_WAKE_ITEMS      8        /* packets that wake the writer */

static int64_t rec_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void recorder_clip_dir(const char *data_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/clips", data_dir);
}

void recorder_db_path(const char *data_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/clips.db", data_dir);
}

void rec_item_free(struct rec_item *it)
{
	if (!it)
		return;
	av_packet_free(&it->pkt);
	av_frame_free(&it->frame);
	avcodec_parameters_free(&it->par);
	free(it);
}

/* Append to the writer's queue. Packets are refused (-ENOBUFS) when the
 * queue is over its bounds; control items always go, they are few. */
static int rec_queue_push(struct recorder *r, struct rec_item *it)
{
	int64_t bytes = it->pkt ? it->pkt->size : 0;

	pthread_mutex_lock(&r->qlock);
	if (it->kind == REC_PKT && (r->qcount >= RECORDER_QUEUE_MAX_ITEMS ||
				    r->qbytes + bytes > RECORDER_QUEUE_MAX_BYTES)) {
		pthread_mutex_unlock(&r->qlock);
		rec_item_free(it);
		return -ENOBUFS;
	}
	if (r->qtail)
		r->qtail->next = it;
	else
		r->qhead = it;
	r->qtail = it;
	r->qcount++;
	r->qbytes += bytes;
	/* Packets wake the writer in batches (it also wakes by itself at
	 * least every second): a wake-up per packet cost each recording
	 * camera two context switches a frame. Control items wake it at
	 * once. Waiting packets are in memory only for those few frames;
	 * the file's fragments are cut at keyframes anyway. */
	if (it->kind != REC_PKT || r->qcount >= RECORDER_WAKE_ITEMS)
		pthread_cond_signal(&r->qcond);
	pthread_mutex_unlock(&r->qlock);
	return 0;
}

struct rec_item *rec_queue_pop(struct recorder *r, int timeout_ms, int *stopping)
{
	struct rec_item *it;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->qlock);
	while (!r->qhead && !r->qstop)
		if (pthread_cond_timedwait(&r->qcond, &r->qlock, &ts) == ETIMEDOUT)
			break;
	it = r->qhead;
	if (it) {
		r->qhead = it->next;
		if (!r->qhead)
			r->qtail = NULL;
		r->qcount--;
		r->qbytes -= it->pkt ? it->pkt->size : 0;
		it->next = NULL;
	}
	*stopping = r->qstop;
	pthread_mutex_unlock(&r->qlock);
	return it;
}

static struct rec_item *rec_item_new(enum rec_kind kind)
{
	struct rec_item *it = calloc(1, sizeof(*it));

	if (it)
		it->kind = kind;
	return it;
}

/* Queue a control item (never refused; lost only when out of memory). */
static void rec_control(struct recorder *r, struct rec_item *it)
{
	if (!it) {
		log_err(r->cam->id, "recorder: out of memory, clip data lost");
		return;
	}
	rec_queue_push(r, it);
}

/* --- the ring ------------------------------------------------------- */

static int rec_is_key(const AVPacket *pkt)
{
	return (pkt->flags & AV_PKT_FLAG_KEY) != 0;
}

static struct rec_slot *rec_slot(struct recorder *r, size_t i)
{
	return &r->ring[(r->head + i) % r->cap];
}

static void rec_ring_drop_head(struct recorder *r)
{
	struct rec_slot *s = rec_slot(r, 0);

	r->ring_bytes -= s->pkt->size;
	av_packet_free(&s->pkt);
	r->head = (r->head + 1) % r->cap;
	r->count--;
}

static void rec_ring_clear(struct recorder *r)
{
	while (r->count)
		rec_ring_drop_head(r);
}

static int rec_ring_push(struct recorder *r, const AVPacket *pkt, int64_t wall_us)
{
	AVPacket *ref;

	if (r->count == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		struct rec_slot *n = malloc(ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < r->count; i++)
			n[i] = *rec_slot(r, i);
		free(r->ring);
		r->ring = n;
		r->cap = ncap;
		r->head = 0;
	}
	ref = av_packet_clone(pkt);
	if (!ref)
		return -ENOMEM;
	r->ring[(r->head + r->count) % r->cap] = (struct rec_slot){ ref, wall_us, rec_is_key(ref) };
	r->count++;
	r->ring_bytes += ref->size;
	return 0;
}

/* Keep the ring from the newest keyframe at or before the pre-roll (plus
 * detection latency), within the byte bound, starting at a keyframe. */
static void rec_ring_trim(struct recorder *r, int64_t newest_us)
{
	int64_t keep_from = newest_us - r->keep_us - RECORDER_SLACK_US;
	size_t key = 0;

	for (size_t i = 0; i < r->count; i++) {
		struct rec_slot *s = rec_slot(r, i);
		if (s->wall_us > keep_from)
			break;
		if (s->key)
			key = i;
	}
	while (key-- > 0)
		rec_ring_drop_head(r);
	while (r->count > 1 && r->ring_bytes > RECORDER_RING_MAX_BYTES)
		rec_ring_drop_head(r);
	while (r->count && !rec_slot(r, 0)->key)
		rec_ring_drop_head(r);
}

/* --- clips ---------------------------------------------------------- */

/* "<camera>/<UTC date>/<base>[-part].<ext>" */
static void rec_name(const struct recorder *r, int64_t us, const char *base, int part,
		     const char *ext, char *buf, size_t len)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;
	char pnum[16] = "";

	gmtime_r(&sec, &tm);
	if (part > 1)
		snprintf(pnum, sizeof(pnum), "-%d", part);
	snprintf(buf, len, "%s/%04d-%02d-%02d/%.96s%s.%s", r->cam->id, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, base, pnum, ext);
}

/* Send one packet to the open clip; a refused packet makes the clip wait
 * for the next keyframe, so what is written always decodes. */
static void rec_clip_packet(struct recorder *r, const AVPacket *pkt, int64_t wall_us)
{
	struct rec_item *it;

	if (r->need_key && !rec_is_key(pkt)) {
		atomic_fetch_add(&r->dropped, 1);
		return;
	}
	it = rec_item_new(REC_PKT);
	if (it)
		it->pkt = av_packet_clone(pkt);
	if (!it || !it->pkt) {
		rec_item_free(it);
		it = NULL;
	} else {
		it->wall_us = wall_us;
	}
	if (!it || rec_queue_push(r, it) < 0) {
		unsigned long n = atomic_fetch_add(&r->dropped, 1) + 1;
		int64_t now = rec_mono_us();
		if (!r->need_key && (!r->drop_log_mono ||
				     now - r->drop_log_mono >= RECORDER_DROP_LOG_US)) {
			r->drop_log_mono = now;
			log_warn(r->cam->id, "clip %s: writer is behind (slow disk?), dropping "
				 "packets up to the next keyframe (%lu dropped so far)",
				 r->clip_path, n);
		}
		r->need_key = 1;
		return;
	}
	r->need_key = 0;
	r->clip_last_us = wall_us;
}

/* Open the clip named r->clip_path at ring slot from: the writer gets
 * the stream and every packet from there on. */
static void rec_clip_open(struct recorder *r, size_t from)
{
	struct rec_item *it = rec_item_new(REC_OPEN);
	int64_t start = rec_slot(r, from)->wall_us;

	if (it) {
		it->par = avcodec_parameters_alloc();
		if (!it->par || avcodec_parameters_copy(it->par, r->par) < 0) {
			rec_item_free(it);
			it = NULL;
		}
	}
	if (it) {
		it->tb = r->tb;
		it->wall_us = start;
		snprintf(it->path, sizeof(it->path), "%s", r->clip_path);
		snprintf(it->event_id, sizeof(it->event_id), "%s", r->clip_base);
		snprintf(it->type, sizeof(it->type), "%s", r->clip_type);
		snprintf(it->events, sizeof(it->events), "%s", r->clip_events);
	}
	rec_control(r, it);
	r->state = REC_CLIP_OPEN;
	r->clip_start_us = start;
	r->need_key = 0;
	atomic_store(&r->clip_bytes, 0);
	for (size_t i = from; i < r->count; i++)
		rec_clip_packet(r, rec_slot(r, i)->pkt, rec_slot(r, i)->wall_us);
}

static void rec_clip_close(struct recorder *r)
{
	rec_control(r, rec_item_new(REC_CLOSE));
	r->state = REC_CLIP_NONE;
}

/* The events still open start the next part, named after when_us. The
 * name is fixed here, before the part opens, because alerts quote it. */
static void rec_clip_next_part(struct recorder *r, int64_t when_us)
{
	r->clip_part++;
	rec_name(r, when_us, r->clip_base, r->clip_part, "mp4", r->clip_path,
		 sizeof(r->clip_path));
	r->clip_events[0] = '\0';
	for (int i = 0; i < r->nactive; i++) {
		size_t l = strlen(r->clip_events);
		snprintf(r->clip_events + l, sizeof(r->clip_events) - l, "%s%s",
			 l ? " " : "", r->active[i]);
	}
}

void recorder_set_stream(struct recorder *r, const AVCodecParameters *par, AVRational tb)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	rec_ring_clear(r);
	if (!r->par)
		r->par = avcodec_parameters_alloc();
	if (r->par && avcodec_parameters_copy(r->par, par) < 0)
		avcodec_parameters_free(&r->par);
	r->tb = tb;
	if (r->state == REC_CLIP_OPEN) {
		rec_clip_close(r);
		if (r->nactive) {
			rec_clip_next_part(r, r->clip_last_us);
			r->state = REC_CLIP_PENDING;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void rec_tick(struct recorder *r)
{
	int64_t idle_us = (int64_t)r->conf.post_seconds * 1000000 + 2000000;

	pthread_mutex_lock(&r->lock);
	if (r->state != REC_CLIP_NONE && !r->nactive &&
	    rec_mono_us() - r->last_feed_mono > idle_us) {
		if (r->state == REC_CLIP_OPEN) {
			log_warn(r->cam->id, "clip %s: no packets from the record stream for "
				 "%.0f s, closing it", r->clip_path, (double)idle_us / 1e6);
			rec_clip_close(r);
		}
		r->state = REC_CLIP_NONE;
	}
	pthread_mutex_unlock(&r->lock);
}

void recorder_feed(struct recorder *r, const AVPacket *pkt, int64_t wall_us)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->last_feed_mono = rec_mono_us();
	if (!r->par || rec_ring_push(r, pkt, wall_us) < 0)
		goto out;
	rec_ring_trim(r, wall_us);
	switch (r->state) {
	case REC_CLIP_NONE:
		break;
	case REC_CLIP_PENDING:
		if (rec_is_key(pkt) && r->count)
			rec_clip_open(r, r->count - 1);
		break;
	case REC_CLIP_OPEN:
		if (!r->nactive && wall_us >= r->close_at_us) {
			rec_clip_close(r);
		} else if (rec_is_key(pkt) && r->count &&
			   wall_us - r->clip_start_us >= (int64_t)r->conf.max_seconds * 1000000) {
			rec_clip_close(r);
			rec_clip_next_part(r, wall_us);
			rec_clip_open(r, r->count - 1);
		} else {
			rec_clip_packet(r, pkt, wall_us);
		}
		break;
	}
out:
	pthread_mutex_unlock(&r->lock);
}

/* Where a clip for a trigger at trigger_us starts: the last keyframe at
 * or before trigger - pre_seconds, else the oldest (the ring always
 * starts at a keyframe). Returns 0 with *from set, or -ENOENT. */
static int rec_start_slot(struct recorder *r, int64_t trigger_us, size_t *from)
{
	int64_t want = trigger_us - (int64_t)r->conf.pre_seconds * 1000000;
	int found = 0;

	for (size_t i = 0; i < r->count; i++) {
		struct rec_slot *s = rec_slot(r, i);
		if (!s->key)
			continue;
		if (!found || s->wall_us <= want) {
			*from = i;
			found = 1;
		}
		if (s->wall_us > want)
			break;
	}
	return found ? 0 : -ENOENT;
}

static void rec_info(struct recorder *r, struct recorder_info *info)
{
	if (r->state == REC_CLIP_NONE)
		return;
	snprintf(info->clip, sizeof(info->clip), "%s", r->clip_path);
	if (r->state == REC_CLIP_OPEN) {
		info->duration = (double)(r->clip_last_us - r->clip_start_us) / 1e6;
		info->size = atomic_load(&r->clip_bytes);
	}
}

/* Queue the snapshot of an event, beside the clip it belongs to. */
static void rec_snapshot(struct recorder *r, const char *id, const AVFrame *frame,
			 const struct vigil_box *boxes, int nboxes,
			 struct recorder_info *info)
{
	struct rec_item *it;
	const char *slash = strrchr(r->clip_path, '/');

	if (!frame || !slash)
		return;
	it = rec_item_new(REC_SNAP);
	if (!it || !(it->frame = av_frame_clone(frame))) {
		rec_item_free(it);
		log_warn(r->cam->id, "snapshot of %s: out of memory, skipped", id);
		return;
	}
	snprintf(it->path, sizeof(it->path), "%.*s/%s.jpg", (int)(slash - r->clip_path),
		 r->clip_path, id);
	snprintf(info->snapshot, sizeof(info->snapshot), "%s", it->path);
	if (!boxes || nboxes < 0)
		nboxes = 0;
	if (nboxes > VIGIL_MAX_BOXES)
		nboxes = VIGIL_MAX_BOXES;
	if (nboxes)
		memcpy(it->boxes, boxes, (size_t)nboxes * sizeof(*boxes));
	it->nboxes = nboxes;
	snprintf(it->event_id, sizeof(it->event_id), "%s", id);
	rec_control(r, it);
}

void recorder_event_start(struct recorder *r, const char *type, const char *id,
			  int64_t trigger_us, const AVFrame *frame,
			  const struct vigil_box *boxes, int nboxes,
			  struct recorder_info *info)
{
	size_t from;

	memset(info, 0, sizeof(*info));
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->state == REC_CLIP_NONE) {
		snprintf(r->clip_base, sizeof(r->clip_base), "%s", id);
		snprintf(r->clip_type, sizeof(r->clip_type), "%s", type);
		snprintf(r->clip_events, sizeof(r->clip_events), "%s", id);
		r->clip_part = 1;
		if (r->par && rec_start_slot(r, trigger_us, &from) == 0) {
			rec_name(r, rec_slot(r, from)->wall_us, id, 1, "mp4", r->clip_path,
				 sizeof(r->clip_path));
			rec_clip_open(r, from);
		} else {
			/* No keyframe yet: the clip starts at the next one. */
			rec_name(r, trigger_us, id, 1, "mp4", r->clip_path, sizeof(r->clip_path));
			r->state = REC_CLIP_PENDING;
		}
	} else {
		/* Overlapping events share the clip. */
		size_t l = strlen(r->clip_events);
		if (l + strlen(id) + 2 < sizeof(r->clip_events))
			snprintf(r->clip_events + l, sizeof(r->clip_events) - l, " %s", id);
		if (r->state == REC_CLIP_OPEN) {
			struct rec_item *it = rec_item_new(REC_EVENT);
			if (it)
				snprintf(it->event_id, sizeof(it->event_id), "%s", id);
			rec_control(r, it);
		}
	}
	if (r->nactive < RECORDER_MAX_EVENTS)
		snprintf(r->active[r->nactive++], sizeof(r->active[0]), "%s", id);
	rec_info(r, info);
	rec_snapshot(r, id, frame, boxes, nboxes, info);
	pthread_mutex_unlock(&r->lock);
}

void recorder_event_end(struct recorder *r, const char *id, int64_t end_us,
			struct recorder_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < r->nactive; i++) {
		if (strcmp(r->active[i], id) != 0)
			continue;
		memmove(r->active[i], r->active[i + 1],
			(size_t)(r->nactive - i - 1) * sizeof(r->active[0]));
		r->nactive--;
		if (!r->nactive)
			r->close_at_us = end_us + (int64_t)r->conf.post_seconds * 1000000;
		rec_info(r, info);
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

unsigned long recorder_dropped(const struct recorder *r)
{
	return r ? atomic_load(&r->dropped) : 0;
}

int recorder_start(struct recorder **out, const struct vigil_camera *cam,
		   const char *data_dir)
{
	struct recorder *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int e;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->cam = cam;
	r->conf = cam->recording;
	/* A loitering clip shows the stay from its start: keep the longest
	 * dwell of the camera's zones too (within the byte bound). */
	r->keep_us = (int64_t)r->conf.pre_seconds * 1000000;
	for (int z = 0; z < cam->nzones; z++)
		if (cam->zones[z].dwell > 0 &&
		    (int64_t)((cam->zones[z].dwell + r->conf.pre_seconds) * 1e6) > r->keep_us)
			r->keep_us = (int64_t)((cam->zones[z].dwell + r->conf.pre_seconds) * 1e6);
	recorder_clip_dir(data_dir, r->clip_dir, sizeof(r->clip_dir));
	recorder_db_path(data_dir, r->db_path, sizeof(r->db_path));
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->qlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->qcond, &ca);
	pthread_condattr_destroy(&ca);
	e = pthread_create(&r->writer, NULL, recwriter_main, r);
	if (e) {
		log_err(cam->id, "cannot start clip writer thread: %s", strerror(e));
		recorder_stop(r);
		return -e;
	}
	r->writer_started = 1;
	*out = r;
	return 0;
}

void recorder_stop(struct recorder *r)
{
	struct rec_item *it;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->state == REC_CLIP_OPEN)
		rec_clip_close(r);
	r->state = REC_CLIP_NONE;
	rec_ring_clear(r);
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_lock(&r->qlock);
	r->qstop = 1;
	pthread_cond_signal(&r->qcond);
	pthread_mutex_unlock(&r->qlock);
	if (r->writer_started)
		pthread_join(r->writer, NULL);
	while ((it = r->qhead)) {
		r->qhead = it->next;
		rec_item_free(it);
	}
	free(r->ring);
	avcodec_parameters_free(&r->par);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->qlock);
	pthread_cond_destroy(&r->qcond);
	free(r);
}
