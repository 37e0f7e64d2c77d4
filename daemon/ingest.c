/* Ingest of one stream; see ingest.h. */
#include "ingest.h"

#include <errno.h>
#include <libavutil/time.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "log.h"

#define INGEST_BACKOFF_MIN_US   1000000
#define INGEST_BACKOFF_MAX_US  30000000
#define INGEST_STABLE_US       60000000  /* streaming this long resets backoff */
#define INGEST_CLOSE_US         1000000  /* TEARDOWN to a dead peer */
#define INGEST_WAITED_US           3000  /* a read this long waited for data */

int64_t ingest_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ingest_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ingest_global_init(void)
{
	fault_init();
	log_ffmpeg_install();
	avformat_network_init();
}

void ingest_sleep(atomic_int *stop, int64_t us)
{
	while (us > 0 && !atomic_load(stop)) {
		int64_t step = us > 100000 ? 100000 : us;

		av_usleep((unsigned)step);
		us -= step;
	}
}

/* Polled by libavformat during blocking calls; sticky once it fires. */
static int ingest_interrupt(void *opaque)
{
	struct ingest *in = opaque;

	if (atomic_load(in->conf.stop))
		return 1;
	if (!in->timed_out && ingest_mono_us() > in->deadline_us)
		in->timed_out = 1;
	return in->timed_out;
}

static void ingest_arm(struct ingest *in, int64_t us)
{
	in->deadline_us = ingest_mono_us() + us;
}

void ingest_set_error(struct ingest *in, const char *what, int err)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];

	if (!in->conf.error_size)
		return;
	if (in->timed_out && !atomic_load(in->conf.stop))
		snprintf(in->conf.error, in->conf.error_size, "%s: timed out", what);
	else
		snprintf(in->conf.error, in->conf.error_size, "%s: %s", what,
			 av_make_error_string(buf, sizeof(buf), err));
}

/* Read the streams' parameters. Probing decodes a few frames with
 * decoders of its own: they get the camera's pixel limit too. */
static int ingest_probe(struct ingest *in)
{
	unsigned n = in->fmt->nb_streams;
	AVDictionary **opts = n ? av_calloc(n, sizeof(*opts)) : NULL;
	char px[32];
	int r;

	if (n && !opts)
		return AVERROR(ENOMEM);
	snprintf(px, sizeof(px), "%lld", (long long)in->conf.max_pixels);
	for (unsigned i = 0; in->conf.max_pixels > 0 && i < n; i++)
		av_dict_set(&opts[i], "max_pixels", px, 0);
	r = avformat_find_stream_info(in->fmt, opts);
	for (unsigned i = 0; i < n; i++)
		av_dict_free(&opts[i]);
	av_free(opts);
	if (r < 0)
		ingest_set_error(in, "probe", r);
	/* The probing decoders are freed: hand their memory back rather
	 * than keep it in this thread's heap. Not under AddressSanitizer:
	 * its allocator is not glibc's, and glibc's trim then reads arenas
	 * it does not own (seen to crash while other threads start). */
#if !defined(__SANITIZE_ADDRESS__)
	malloc_trim(0);
#endif
	return r;
}

int ingest_open(struct ingest *in, const struct ingest_conf *conf)
{
	const char *url = conf->url;
	AVDictionary *opts = NULL;
	AVDictionaryEntry *left = NULL;
	char tmo[32];
	int r;

	memset(in, 0, sizeof(*in));
	in->conf = *conf;
	in->first_pts_us = AV_NOPTS_VALUE;
	log_redact_url(url, in->url_log, sizeof(in->url_log));
	in->is_file = strstr(url, "://") == NULL || strncmp(url, "file://", 7) == 0;
	in->fmt = avformat_alloc_context();
	if (!in->fmt)
		return AVERROR(ENOMEM);
	in->fmt->interrupt_callback.callback = ingest_interrupt;
	in->fmt->interrupt_callback.opaque = in;
	if (!in->is_file) {
		snprintf(tmo, sizeof(tmo), "%lld", (long long)conf->read_timeout_us);
		av_dict_set(&opts, "rtsp_transport", conf->transport, 0);
		av_dict_set(&opts, "timeout", tmo, 0);
		av_dict_set(&opts, "allowed_media_types", "video", 0);
	}
	av_dict_set(&opts, "analyzeduration", "1000000", 0);
	av_dict_set(&opts, "probesize", "1000000", 0);
	av_dict_set(&opts, "fpsprobesize", "0", 0);
	ingest_arm(in, conf->open_timeout_us);
	r = avformat_open_input(&in->fmt, url, NULL, &opts);
	while ((left = av_dict_get(opts, "", left, AV_DICT_IGNORE_SUFFIX)))
		log_debug(conf->who, "input option %s not used", left->key);
	av_dict_free(&opts);
	if (r < 0) {
		ingest_set_error(in, "open", r);
		return r;
	}
	r = ingest_probe(in);
	if (r < 0)
		return r;
	r = av_find_best_stream(in->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &in->codec, 0);
	if (r < 0) {
		ingest_set_error(in, "no video stream", r);
		return r;
	}
	in->vidx = r;
	in->st = in->fmt->streams[r];
	in->start_mono = ingest_mono_us();
	return 0;
}

void ingest_close(struct ingest *in)
{
	/* Closing may send TEARDOWN: bound it, a dead peer must not hang us. */
	ingest_arm(in, INGEST_CLOSE_US);
	avformat_close_input(&in->fmt);
	in->st = NULL;
}

/* Stream time of a packet in microseconds, earlier passes of a looping
 * file included; prefer is the time stamp to use when it is set. */
static int64_t ingest_stream_us(const struct ingest *in, int64_t prefer, int64_t other)
{
	int64_t ts = prefer != AV_NOPTS_VALUE ? prefer : other;

	if (ts == AV_NOPTS_VALUE)
		return AV_NOPTS_VALUE;
	return av_rescale_q(ts, in->st->time_base, AV_TIME_BASE_Q) + in->pts_offset_us;
}

/* Files are read at their own pace (as a camera would send them). */
static void ingest_pace(struct ingest *in, const AVPacket *pkt)
{
	int64_t us = ingest_stream_us(in, pkt->dts, pkt->pts);

	if (us == AV_NOPTS_VALUE)
		return;
	if (in->first_pts_us == AV_NOPTS_VALUE)
		in->first_pts_us = us;
	in->last_pts_us = us;
	ingest_sleep(in->conf.stop, in->start_mono + (us - in->first_pts_us) - ingest_mono_us());
}

/* A looping file reached its end: start again, keeping time running.
 * first_pts_us is the file's first time stamp (set in the first pass,
 * with no offset): the next pass follows the last frame. */
static int ingest_rewind(struct ingest *in)
{
	AVRational fr = in->st->avg_frame_rate;
	int64_t frame_us = fr.num > 0 ? av_rescale(1000000, fr.den, fr.num) : 40000;
	int r = av_seek_frame(in->fmt, in->vidx, 0, AVSEEK_FLAG_BACKWARD);

	if (r < 0 || in->first_pts_us == AV_NOPTS_VALUE)
		return r < 0 ? r : AVERROR(EINVAL);
	in->pts_offset_us = in->last_pts_us + frame_us - in->first_pts_us;
	in->rewound = 1;
	log_debug(in->conf.who, "looping file");
	return 0;
}

int64_t ingest_clock_wall(struct ingest_clock *k, int64_t stream_us, int64_t arrival_us)
{
	int64_t off = arrival_us - stream_us;

	if (k->have) {
		k->off += (arrival_us - k->off_wall) / 1000;
		k->off_wall = arrival_us;
	}
	if (!k->have || off < k->off || stream_us < k->last_us - 1000000 ||
	    stream_us > k->last_us + 5000000) {
		k->off = off;
		k->off_wall = arrival_us;
		k->have = 1;
	}
	k->last_us = stream_us;
	return stream_us + k->off;
}

/* Unpaced file: wall time is the first packet's arrival plus the stream
 * time elapsed since, so a jump of the file's timestamps is a jump of
 * time for everything downstream (tracks, events, clips). A packet
 * without a timestamp keeps the previous one's time. */
static int64_t ingest_file_wall(struct ingest *in, int64_t stream_us)
{
	if (stream_us == AV_NOPTS_VALUE)
		return in->file_wall_us ? in->file_last_us : ingest_wall_us();
	if (!in->file_wall_us) {
		in->file_wall_us = ingest_wall_us();
		in->file_first_us = stream_us;
	}
	in->file_last_us = in->file_wall_us + (stream_us - in->file_first_us);
	return in->file_last_us;
}

int ingest_read(struct ingest *in, AVPacket *pkt, int64_t *wall_us)
{
	int64_t t0, us;
	int r;

	in->rewound = 0;
	for (;;) {
		/* The flag stays set once a deadline passed: the session is
		 * over even if a buffered packet still comes back. */
		t0 = ingest_mono_us();
		ingest_arm(in, in->conf.read_timeout_us);
		r = av_read_frame(in->fmt, pkt);
		in->waited = ingest_mono_us() - t0 > INGEST_WAITED_US;
		if (r == AVERROR_EOF && in->is_file && in->conf.loop && in->packets &&
		    ingest_rewind(in) == 0)
			continue;
		if (r < 0 || in->timed_out) {
			av_packet_unref(pkt);
			r = r < 0 ? r : AVERROR(ETIMEDOUT);
			ingest_set_error(in, "read", r);
			return r;
		}
		if (pkt->stream_index == in->vidx)
			break;
		av_packet_unref(pkt);
	}
	us = ingest_stream_us(in, pkt->pts, pkt->dts);
	if (in->is_file && in->conf.unpaced) {
		*wall_us = ingest_file_wall(in, us);
		in->packets++;
		return 0;
	}
	if (in->is_file)
		ingest_pace(in, pkt);
	*wall_us = ingest_wall_us();
	if (us != AV_NOPTS_VALUE)
		*wall_us = ingest_clock_wall(&in->clock, us, *wall_us);
	in->packets++;
	return 0;
}

void ingest_backoff_init(struct ingest_backoff *b, unsigned seed)
{
	b->next_us = INGEST_BACKOFF_MIN_US;
	b->seed = seed;
}

int64_t ingest_backoff_next(struct ingest_backoff *b, int64_t streamed_us)
{
	int64_t wait;

	if (streamed_us >= INGEST_STABLE_US)
		b->next_us = INGEST_BACKOFF_MIN_US;
	wait = b->next_us + (int64_t)(rand_r(&b->seed) % 401 - 200) * b->next_us / 1000;
	if (streamed_us < INGEST_STABLE_US)
		b->next_us = b->next_us * 2 > INGEST_BACKOFF_MAX_US ? INGEST_BACKOFF_MAX_US
								 : b->next_us * 2;
	return wait;
}
