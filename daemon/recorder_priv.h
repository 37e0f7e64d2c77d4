/* Recorder internals shared by recorder.c (ring, clip state, queue; the
 * feeding side) and recwriter.c (the writer thread). Not for other
 * modules. */
#ifndef VIGIL_RECORDER_PRIV_H
#define VIGIL_RECORDER_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "recorder.h"

#define RECORDER_MAX_EVENTS 8

/* Work for the writer thread, in order. */
enum rec_kind {
	REC_OPEN,     /* new clip: path, first event, type, events, stream */
	REC_PKT,      /* one packet of the open clip */
	REC_EVENT,    /* one more event shares the open clip */
	REC_SNAP,     /* snapshot: frame, boxes, path */
	REC_CLOSE,    /* end of the open clip */
};

struct rec_item {
	enum rec_kind kind;
	struct rec_item *next;
	AVPacket *pkt;
	AVFrame *frame;
	AVCodecParameters *par;
	AVRational tb;
	int64_t wall_us;
	char path[256];          /* relative to the clip directory */
	char event_id[96];
	char type[32];
	char events[512];
	struct vigil_box boxes[VIGIL_MAX_BOXES];
	int nboxes;
};

struct rec_slot {
	AVPacket *pkt;
	int64_t wall_us;
	int key;   /* a keyframe: kept here, trimming scans the ring per packet */
};

enum rec_clip_state { REC_CLIP_NONE, REC_CLIP_PENDING, REC_CLIP_OPEN };

struct recorder {
	const struct vigil_camera *cam;
	struct vigil_recording conf;
	char clip_dir[4096];
	char db_path[4096];

	/* Feeding side, under lock. */
	pthread_mutex_t lock;
	struct rec_slot *ring;
	size_t cap, head, count;
	int64_t ring_bytes;
	int64_t keep_us;         /* ring history: pre-roll, and the longest dwell */
	AVCodecParameters *par;
	AVRational tb;
	enum rec_clip_state state;
	char clip_path[256];     /* relative path of the open clip */
	char clip_base[96];      /* first event id: names the clip's parts */
	char clip_type[32];
	char clip_events[512];
	int clip_part;
	int64_t clip_start_us, clip_last_us, close_at_us;
	char active[RECORDER_MAX_EVENTS][96];
	int nactive;
	int need_key;            /* packets were dropped: resume at a keyframe */
	int64_t last_feed_mono;  /* CLOCK_MONOTONIC of the newest packet, us */
	int64_t drop_log_mono;   /* when drops were last logged */

	/* Queue to the writer, under qlock. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct rec_item *qhead, *qtail;
	size_t qcount;
	int64_t qbytes;
	int qstop;

	pthread_t writer;
	int writer_started;
	atomic_llong clip_bytes;         /* written to the open clip so far */
	atomic_ulong dropped;
};

void rec_item_free(struct rec_item *it);
/* Take the next item, waiting up to timeout_ms; NULL on timeout or when
 * stopping with nothing left (*stopping then says which). */
struct rec_item *rec_queue_pop(struct recorder *r, int timeout_ms, int *stopping);
/* Called by the writer about once a second: closes a clip whose events
 * are over when the record stream has stopped delivering packets (a lost
 * camera must not keep its clip open until it comes back). */
void rec_tick(struct recorder *r);
/* The writer thread's body (recwriter.c). */
void *recwriter_main(void *arg);

#endif
