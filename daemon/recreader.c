/* Record-stream reader; see recreader.h. */
#include "recreader.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "log.h"

struct recreader {
	const struct vigil_camera *cam;
	struct recorder *rec;
	pthread_t thread;
	atomic_int stop;
	char error[160];
};

/* One connection: read and feed until the stream fails. Returns how long
 * it streamed (microseconds; 0 when it never produced a packet). */
static int64_t recreader_session(struct recreader *r, struct ingest *in)
{
	const struct vigil_camera *cam = r->cam;
	struct ingest_conf ic = {
		.who = cam->id,
		.url = cam->record_url,
		.transport = cam->transport,
		.open_timeout_us = (int64_t)cam->open_timeout * 1000000,
		.read_timeout_us = (int64_t)cam->read_timeout * 1000000,
		.max_pixels = (int64_t)cam->max_width * cam->max_height,
		.loop = cam->loop,
		.stop = &r->stop,
		.error = r->error,
		.error_size = sizeof(r->error),
	};
	AVPacket *pkt = NULL;
	int64_t first = 0, wall;

	if (ingest_open(in, &ic) == 0 && !(pkt = av_packet_alloc()))
		snprintf(r->error, sizeof(r->error), "open: %s", strerror(ENOMEM));
	if (pkt) {
		recorder_set_stream(r->rec, in->st->codecpar, in->st->time_base);
		log_info(cam->id, "record stream connected: %s", in->url_log);
		while (!atomic_load(&r->stop) && ingest_read(in, pkt, &wall) == 0) {
			if (!first)
				first = ingest_mono_us();
			log_ffmpeg_tick(ingest_mono_us());
			recorder_feed(r->rec, pkt, wall);
			av_packet_unref(pkt);
		}
	}
	ingest_close(in);
	av_packet_free(&pkt);
	return first ? ingest_mono_us() - first : 0;
}

static void *recreader_main(void *arg)
{
	struct recreader *r = arg;
	struct ingest_backoff backoff;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ingest_backoff_init(&backoff, (unsigned)ingest_mono_us() ^ (unsigned)(uintptr_t)r);
	log_ffmpeg_who(r->cam->id);
	log_name_thread("rread", r->cam->id);
	while (!atomic_load(&r->stop)) {
		struct ingest in;
		int64_t streamed = recreader_session(r, &in), wait;

		if (atomic_load(&r->stop))
			break;
		wait = ingest_backoff_next(&backoff, streamed);
		log_warn(r->cam->id, "record stream %s: %s, retrying in %.1f s", in.url_log,
			 r->error, (double)wait / 1e6);
		ingest_sleep(&r->stop, wait);
	}
	return NULL;
}

int recreader_start(struct recreader **out, const struct vigil_camera *cam,
		    struct recorder *rec)
{
	struct recreader *r = calloc(1, sizeof(*r));
	int e;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->cam = cam;
	r->rec = rec;
	e = pthread_create(&r->thread, NULL, recreader_main, r);
	if (e) {
		log_err(cam->id, "cannot start record stream reader: %s", strerror(e));
		free(r);
		return -e;
	}
	*out = r;
	return 0;
}

void recreader_stop(struct recreader *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, 1);
	pthread_join(r->thread, NULL);
	free(r);
}
