/* Record-stream reader; see recreader.h. */
#include "recreader.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define RECREADER_OPEN_TIMEOUT_US  10000000
#define RECREADER_READ_TIMEOUT_US   5000000
#define RECREADER_BACKOFF_MIN_US    1000000
#define RECREADER_BACKOFF_MAX_US   30000000

struct recreader {
	const struct vigil_camera *cam;
	struct recorder *rec;
	char url_log[512];
	pthread_t thread;
	atomic_int stop;
	int64_t deadline_us;       /* monotonic */
	int timed_out;             /* sticky, see the interrupt callback */
	char error[160];
};

static int64_t recreader_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t recreader_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Polled by libavformat while it blocks; sticky once the deadline passed
 * so that a buffered success cannot hide the timeout. */
static int recreader_interrupt(void *opaque)
{
	struct recreader *r = opaque;

	if (atomic_load(&r->stop))
		return 1;
	if (!r->timed_out && recreader_mono_us() > r->deadline_us)
		r->timed_out = 1;
	return r->timed_out;
}

static void recreader_error(struct recreader *r, const char *what, int err)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];

	if (r->timed_out && !atomic_load(&r->stop))
		snprintf(r->error, sizeof(r->error), "%s: timed out", what);
	else
		snprintf(r->error, sizeof(r->error), "%s: %s", what,
			 av_make_error_string(buf, sizeof(buf), err));
}

static void recreader_arm(struct recreader *r, int64_t us)
{
	r->timed_out = 0;
	r->deadline_us = recreader_mono_us() + us;
}

/* Open the record URL; returns the video stream index or an AVERROR. */
static int recreader_open(struct recreader *r, AVFormatContext **fmt, int *is_file)
{
	const char *url = r->cam->record_url;
	AVDictionary *opts = NULL;
	char tmo[32];
	int ret;

	*is_file = strstr(url, "://") == NULL || strncmp(url, "file://", 7) == 0;
	*fmt = avformat_alloc_context();
	if (!*fmt)
		return AVERROR(ENOMEM);
	(*fmt)->interrupt_callback.callback = recreader_interrupt;
	(*fmt)->interrupt_callback.opaque = r;
	if (!*is_file) {
		snprintf(tmo, sizeof(tmo), "%d", RECREADER_READ_TIMEOUT_US);
		av_dict_set(&opts, "rtsp_transport", "tcp", 0);
		av_dict_set(&opts, "timeout", tmo, 0);
		av_dict_set(&opts, "allowed_media_types", "video", 0);
	}
	av_dict_set(&opts, "analyzeduration", "1000000", 0);
	av_dict_set(&opts, "probesize", "1000000", 0);
	recreader_arm(r, RECREADER_OPEN_TIMEOUT_US);
	ret = avformat_open_input(fmt, url, NULL, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		recreader_error(r, "open", ret);
		return ret;
	}
	ret = avformat_find_stream_info(*fmt, NULL);
	if (ret >= 0)
		ret = av_find_best_stream(*fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret < 0)
		recreader_error(r, "probe", ret);
	return ret;
}

/* Files are read at their own pace, as a camera would send them. */
static void recreader_pace(struct recreader *r, const AVPacket *pkt, AVRational tb,
			   int64_t start_mono, int64_t *first_us)
{
	int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts, wait;

	if (ts == AV_NOPTS_VALUE)
		return;
	ts = av_rescale_q(ts, tb, AV_TIME_BASE_Q);
	if (*first_us == AV_NOPTS_VALUE)
		*first_us = ts;
	wait = start_mono + (ts - *first_us) - recreader_mono_us();
	while (wait > 0 && !atomic_load(&r->stop)) {
		int64_t step = wait > 100000 ? 100000 : wait;
		av_usleep((unsigned)step);
		wait -= step;
	}
}

/* One connection: read and feed until the stream fails. Returns how long
 * it streamed (microseconds). */
static int64_t recreader_session(struct recreader *r)
{
	AVFormatContext *fmt = NULL;
	AVPacket *pkt = av_packet_alloc();
	int64_t start = recreader_mono_us(), first_us = AV_NOPTS_VALUE;
	int is_file, vidx, ret;

	vidx = pkt ? recreader_open(r, &fmt, &is_file) : AVERROR(ENOMEM);
	if (vidx >= 0) {
		AVStream *st = fmt->streams[vidx];
		recorder_set_stream(r->rec, st->codecpar, st->time_base);
		log_info(r->cam->id, "record stream connected: %s", r->url_log);
		start = recreader_mono_us();
		while (!atomic_load(&r->stop)) {
			recreader_arm(r, RECREADER_READ_TIMEOUT_US);
			ret = av_read_frame(fmt, pkt);
			if (ret < 0) {
				recreader_error(r, "read", ret);
				break;
			}
			if (pkt->stream_index == vidx) {
				if (is_file)
					recreader_pace(r, pkt, st->time_base, start, &first_us);
				recorder_feed(r->rec, pkt, recreader_wall_us());
			}
			av_packet_unref(pkt);
		}
	}
	avformat_close_input(&fmt);
	av_packet_free(&pkt);
	return vidx >= 0 ? recreader_mono_us() - start : 0;
}

static void *recreader_main(void *arg)
{
	struct recreader *r = arg;
	int64_t backoff = RECREADER_BACKOFF_MIN_US;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	log_name_thread("rread", r->cam->id);
	while (!atomic_load(&r->stop)) {
		int64_t streamed = recreader_session(r), wait;

		if (atomic_load(&r->stop))
			break;
		if (streamed >= 60000000)
			backoff = RECREADER_BACKOFF_MIN_US;
		log_warn(r->cam->id, "record stream %s: %s, retrying in %.1f s", r->url_log,
			 r->error, (double)backoff / 1e6);
		for (wait = backoff; wait > 0 && !atomic_load(&r->stop); wait -= 100000)
			av_usleep(100000);
		if (backoff < RECREADER_BACKOFF_MAX_US)
			backoff = backoff * 2 > RECREADER_BACKOFF_MAX_US ? RECREADER_BACKOFF_MAX_US
									   : backoff * 2;
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
	config_redact_url(cam->record_url, r->url_log, sizeof(r->url_log));
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
