/* Camera thread: ingest, decode, analysis; see camera.h. */
#include "camera.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backlog.h"
#include "fault.h"
#include "ingest.h"
#include "log.h"
#include "recorder.h"

void camera_global_init(void)
{
	ingest_global_init();
}

struct camera_session {
	struct ingest in;       /* the detect stream */
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	int64_t analyse_every_us;  /* "fps" mode: minimum gap between analysed frames */
	int64_t next_analysis_us;
	int bad_packets;        /* consecutive packets the decoder rejected */
	int keyframes_only;     /* keyframes mode: other packets skip the decoder */
	int batch_reads;        /* RTSP over TCP: reads may wait (keyframes mode) */
	int distrust;           /* damage seen: skip analysis until a clean keyframe */
	int64_t frame_us;       /* nominal frame duration */
	int64_t prev_frame_us;  /* stream time of the previous decoded frame */
	int64_t picture_mono;   /* last trusted picture (or the first packet) */
	int keys_since_picture; /* keyframes the decoder got since then */
	int picture;            /* pictures decode: the camera is streaming */
	int pictureless;        /* no picture for too long: video_loss raised */
	int eof;                /* the session ended at the end of a file */

	/* "gated" mode: while c->gate is closed only keyframes are decoded;
	 * an opening decodes the backlog from a keyframe to the present. */
	int gated;
	int gate_started;       /* the gate knows this session's stream */
	struct backlog backlog;
	int64_t analysed_pts;   /* newest frame analysed (stream time base) */
	int replaying;          /* decoding the backlog: frames already seen skip */
	int wait_key;           /* opened with no keyframe held: wait for one */
	int since_key;          /* packets since the newest keyframe */
	enum gate_key_verdict verdict;  /* closed: what the keyframe showed */
};

#define CAMERA_MAX_BAD_PACKETS 50   /* then the decoder is rebuilt */
#define CAMERA_BATCH_US 100000      /* gated mode, closed: reads come in batches */
#define CAMERA_KEYFRAMES_BATCH_US 200000  /* keyframes mode: the same, longer */
#define CAMERA_NOKEY_TIMEOUTS 4     /* no keyframe either: read_timeouts to wait */

static void camera_close(struct camera_session *s)
{
	avcodec_free_context(&s->dec);
	backlog_free(&s->backlog);
	ingest_close(&s->in);
	av_packet_free(&s->pkt);
	av_frame_free(&s->frame);
}

/* Is a picture of this size above the camera's maximum? Then say so in
 * last_error: the reason of the video_loss and of the retry's log line. */
static int camera_too_big(struct camera *c, int w, int h)
{
	if (w <= c->conf->max_width && h <= c->conf->max_height)
		return 0;
	snprintf(c->stats.last_error, sizeof(c->stats.last_error),
		 "picture %dx%d is larger than max_width x max_height %dx%d", w, h,
		 c->conf->max_width, c->conf->max_height);
	return 1;
}

/* The decoder learnt a picture size from a parameter set and is about to
 * set up for it: refuse one above the maximum before it allocates (a
 * lying SPS costs a gigabyte otherwise). max_pixels backs this up in the
 * decoders that check it elsewhere. */
static enum AVPixelFormat camera_get_format(AVCodecContext *dec, const enum AVPixelFormat *fmts)
{
	struct camera *c = dec->opaque;
	int w = FFMAX(dec->width, dec->coded_width), h = FFMAX(dec->height, dec->coded_height);

	if (w > c->conf->max_width || h > c->conf->max_height) {
		c->refused_w = w;
		c->refused_h = h;
		return AV_PIX_FMT_NONE;
	}
	return avcodec_default_get_format(dec, fmts);
}

/* The decoder finished rows [y, y + h) of the picture it is decoding:
 * downscale them now, while they are still in this core's cache, rather
 * than reading the whole frame back from memory when it is output. */
static void camera_band(AVCodecContext *dec, const AVFrame *pic,
			int offset[AV_NUM_DATA_POINTERS], int y, int type, int h)
{
	struct camera *c = dec->opaque;

	(void)offset;
	if (type != 3)   /* a field: leave the frame to the whole-frame path */
		return;
	analysis_band(&c->an, pic, dec->width, dec->height, y, h);
}

/* (Re)build the decoder from the stream's parameters, set up for the
 * camera's analysis mode: never more work than the analysis needs. */
static int camera_open_decoder(struct camera *c, struct camera_session *s)
{
	AVStream *st = s->in.st;
	enum vigil_analysis_mode mode = config_analysis_mode(c->conf);
	int r;

	avcodec_free_context(&s->dec);
	s->dec = avcodec_alloc_context3(s->in.codec);
	if (!s->dec)
		return AVERROR(ENOMEM);
	r = avcodec_parameters_to_context(s->dec, st->codecpar);
	if (r < 0)
		return r;
	s->dec->thread_count = 1;
	s->dec->skip_loop_filter = AVDISCARD_ALL;
	s->keyframes_only = mode == ANALYSIS_KEYFRAMES;
	if (mode == ANALYSIS_KEYFRAMES)
		s->dec->skip_frame = AVDISCARD_NONKEY;
	else if (mode == ANALYSIS_FPS)
		s->dec->skip_frame = AVDISCARD_NONREF;
	s->dec->pkt_timebase = st->time_base;
	s->dec->max_pixels = (int64_t)c->conf->max_width * c->conf->max_height;
	s->dec->opaque = c;
	s->dec->get_format = camera_get_format;
	c->refused_w = c->refused_h = 0;
	/* Bands in decoding order: a frame is analysed when it is output, and
	 * its bands are used only if they were that frame's (streams without
	 * B-frames, as cameras send them). The H.264 decoder calls back per
	 * macroblock row though it no longer announces the capability; a
	 * decoder that never calls leaves every frame to the whole-frame
	 * path. "fps" mode decodes more frames than it analyses, so it
	 * downscales only the frames it keeps. */
	if (mode != ANALYSIS_FPS) {
		s->dec->draw_horiz_band = camera_band;
		s->dec->slice_flags = SLICE_FLAG_CODED_ORDER;
	}
	s->bad_packets = 0;
	return avcodec_open2(s->dec, s->in.codec, NULL);
}

/* Frames per second the analysis will see, for the event engine. */
static double camera_analysis_rate(struct camera *c, const AVStream *st)
{
	double fps = av_q2d(st->avg_frame_rate);

	if (!(fps > 0 && fps < 1000))
		fps = av_q2d(st->r_frame_rate);
	if (!(fps > 0 && fps < 1000))
		fps = 25;
	switch (config_analysis_mode(c->conf)) {
	case ANALYSIS_KEYFRAMES:
		/* One frame per GOP; streams do not announce their GOP, and
		 * cameras mostly use 1-2 s: assume the slower. */
		return 0.5;
	case ANALYSIS_FPS:
		return fps < c->conf->analysis_fps ? fps : c->conf->analysis_fps;
	case ANALYSIS_FULL:
	case ANALYSIS_GATED:   /* the detectors run at full rate when it matters */
		break;
	}
	return fps;
}

/* Open the detect URL and its video decoder. */
static int camera_open(struct camera *c, struct camera_session *s)
{
	struct ingest_conf ic = {
		.who = c->conf->id,
		.url = c->conf->detect_url,
		.transport = c->conf->transport,
		.open_timeout_us = c->open_timeout_us,
		.read_timeout_us = c->read_timeout_us,
		.max_pixels = (int64_t)c->conf->max_width * c->conf->max_height,
		.loop = c->conf->loop,
		.unpaced = !c->conf->pace,
		.stop = &c->stop,
		.error = c->stats.last_error,
		.error_size = sizeof(c->stats.last_error),
	};
	AVStream *st;
	int r;

	memset(s, 0, sizeof(*s));
	s->pkt = av_packet_alloc();
	s->frame = av_frame_alloc();
	if (!s->pkt || !s->frame)
		return AVERROR(ENOMEM);
	r = ingest_open(&s->in, &ic);
	if (r < 0)
		return r;
	st = s->in.st;
	s->batch_reads = !s->in.is_file && strcmp(c->conf->transport, "tcp") == 0;
	if (camera_too_big(c, st->codecpar->width, st->codecpar->height))
		return AVERROR(EFBIG);
	r = camera_open_decoder(c, s);
	if (r < 0) {
		ingest_set_error(&s->in, "decoder", r);
		return r;
	}
	if (config_analysis_mode(c->conf) == ANALYSIS_FPS)
		s->analyse_every_us = 1000000 / c->conf->analysis_fps;
	s->frame_us = st->avg_frame_rate.num > 0 ?
		av_rescale(1000000, st->avg_frame_rate.den, st->avg_frame_rate.num) : 40000;
	s->prev_frame_us = AV_NOPTS_VALUE;
	analysis_set_rate(&c->an, camera_analysis_rate(c, st));
	analysis_skip_repeats(&c->an, config_analysis_mode(c->conf) == ANALYSIS_FULL &&
				      c->conf->analysis_skip_repeats);
	c->an.time_base = st->time_base;
	if (c->rec_shared)
		recorder_set_stream(c->rec, st->codecpar, st->time_base);
	s->next_analysis_us = AV_NOPTS_VALUE;
	s->gated = config_analysis_mode(c->conf) == ANALYSIS_GATED;
	s->analysed_pts = AV_NOPTS_VALUE;
	log_info(c->conf->id, "connected to %s (%s): %s %dx%d, analysis %s", s->in.url_log,
		 s->in.is_file ? "file" : c->conf->transport, s->in.codec->name,
		 st->codecpar->width, st->codecpar->height, c->conf->analysis_mode);
	return 0;
}

/* Can this frame be trusted? After damage (a concealed frame, a packet
 * the decoder refused, or frames missing from the time line) pictures are
 * predicted from broken references without any error flag, and their
 * smear looks like motion: trust returns with the next clean keyframe. */
static int camera_frame_trusted(struct camera *c, struct camera_session *s, const AVFrame *f)
{
	AVStream *st = s->in.st;
	int64_t t = f->best_effort_timestamp == AV_NOPTS_VALUE ? AV_NOPTS_VALUE :
		av_rescale_q(f->best_effort_timestamp, st->time_base, AV_TIME_BASE_Q);
	int keyframe = f->key_frame || f->pict_type == AV_PICTURE_TYPE_I;
	int skipping = config_analysis_mode(c->conf) != ANALYSIS_FULL;  /* gaps are ours */

	if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT))
		s->distrust = 1;
	else if (!skipping && t != AV_NOPTS_VALUE && s->prev_frame_us != AV_NOPTS_VALUE &&
		 t - s->prev_frame_us > s->frame_us * 3 / 2 && t > s->prev_frame_us)
		s->distrust = 1;
	else if (keyframe)
		s->distrust = 0;
	if (t != AV_NOPTS_VALUE)
		s->prev_frame_us = t;
	if (s->distrust)
		atomic_fetch_add(&c->an.frames_corrupt, 1);
	return !s->distrust;
}

/* Should this decoded frame be analysed? ("fps" mode keeps a rate.) */
static int camera_want_frame(struct camera_session *s, const AVFrame *f)
{
	AVStream *st;
	int64_t t;

	if (!s->analyse_every_us)
		return 1;
	st = s->in.st;
	if (f->best_effort_timestamp == AV_NOPTS_VALUE)
		return 1;
	t = av_rescale_q(f->best_effort_timestamp, st->time_base, AV_TIME_BASE_Q);
	if (s->next_analysis_us != AV_NOPTS_VALUE && t < s->next_analysis_us &&
	    t > s->next_analysis_us - 10 * s->analyse_every_us)
		return 0;
	s->next_analysis_us = t + s->analyse_every_us;
	return 1;
}

static void camera_streaming(struct camera *c, int64_t wall_us);

/* A trusted picture came out of the decoder: the camera streams (again). */
static void camera_picture(struct camera *c, struct camera_session *s, int64_t wall_us)
{
	s->picture_mono = ingest_mono_us();
	s->keys_since_picture = 0;
	if (s->picture)
		return;
	if (s->pictureless)
		log_info(c->conf->id, "pictures decode again");
	s->picture = 1;
	s->pictureless = 0;
	camera_streaming(c, wall_us);
}

/* "gated" mode: should this trusted frame be analysed? A keyframe is
 * judged by the gate first (once, not again when the backlog is
 * replayed): while the gate is closed, one that shows change or a frozen
 * picture is held back for the opening to analyse in its turn. Frames
 * the analysis saw before the opening are not seen twice. */
static int camera_gate_frame(struct camera *c, struct camera_session *s, int64_t wall_us)
{
	const AVFrame *f = s->frame;
	int64_t pts = f->best_effort_timestamp;
	enum gate_key_verdict v;

	if (!s->gated)
		return 1;
	if (s->replaying)
		return pts == AV_NOPTS_VALUE || s->analysed_pts == AV_NOPTS_VALUE ||
		       pts > s->analysed_pts;
	if (!(f->key_frame || f->pict_type == AV_PICTURE_TYPE_I) || f->format < 0)
		return 1;
	v = gate_keys_test(&c->gate.keys, f->data[0], f->linesize[0], f->width, f->height, 1);
	if (v == GATE_KEY_QUIET)
		return 1;
	if (c->gate.open) {
		gate_activity(&c->gate, wall_us);
		return 1;
	}
	s->verdict = v;
	return 0;
}

/* Decode one packet and analyse every frame it yields. New parameter
 * sets in side data, or a decoder that keeps rejecting packets (the
 * stream changed under it), rebuild the decoder; analysis state follows
 * the new geometry by itself. */
static int camera_decode(struct camera *c, struct camera_session *s, int64_t wall_us)
{
	int64_t t0 = ingest_mono_us();
	size_t extra_size = 0;
	int r;

	if (av_packet_get_side_data(s->pkt, AV_PKT_DATA_NEW_EXTRADATA, &extra_size) &&
	    extra_size > 0) {
		log_info(c->conf->id, "stream parameters changed, resetting decoder");
		avcodec_parameters_from_context(s->in.st->codecpar, s->dec);
		r = camera_open_decoder(c, s);
		if (r < 0)
			return r;
	}
	r = avcodec_send_packet(s->dec, s->pkt);
	if (r == AVERROR_INVALIDDATA && ++s->bad_packets >= CAMERA_MAX_BAD_PACKETS) {
		log_warn(c->conf->id, "%d packets rejected in a row, resetting decoder",
			 s->bad_packets);
		return camera_open_decoder(c, s);
	}
	if (r >= 0)
		s->bad_packets = 0;
	else
		s->distrust = 1;
	if (r < 0 && r != AVERROR(EAGAIN) && r != AVERROR_INVALIDDATA)
		return r;
	if (c->refused_w)
		return AVERROR(EFBIG);
	while ((r = avcodec_receive_frame(s->dec, s->frame)) >= 0) {
		int trusted;

		if (s->frame->width > c->conf->max_width || s->frame->height > c->conf->max_height) {
			c->refused_w = s->frame->width;
			c->refused_h = s->frame->height;
			av_frame_unref(s->frame);
			return AVERROR(EFBIG);
		}
		atomic_fetch_add(&c->stats.frames_decoded, 1);
		atomic_fetch_add(&c->stats.decode_us, (unsigned long)(ingest_mono_us() - t0));
		trusted = camera_frame_trusted(c, s, s->frame);
		if (trusted)
			camera_picture(c, s, wall_us);
		if (trusted && camera_want_frame(s, s->frame) && camera_gate_frame(c, s, wall_us)) {
			analysis_frame(&c->an, s->frame, wall_us);
			s->analysed_pts = s->frame->best_effort_timestamp;
		} else {
			analysis_skip(&c->an, s->frame);
		}
		av_frame_unref(s->frame);
		t0 = ingest_mono_us();
	}
	return r == AVERROR(EAGAIN) || r == AVERROR_EOF || r == AVERROR_INVALIDDATA ? 0 : r;
}

/* Keep the open video_loss event on disk ("ID START_US"), written
 * through a temporary file so that a crash leaves the old or the new one. */
static void camera_loss_save(struct camera *c)
{
	char tmp[4300], dir[4200];
	FILE *f;
	int ok;

	if (!c->loss_file[0])
		return;
	snprintf(dir, sizeof(dir), "%s", c->loss_file);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		log_warn(c->conf->id, "cannot create %s: %s; an open video_loss will not "
			 "survive a restart", dir, strerror(errno));
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->loss_file);
	f = fopen(tmp, "w");
	if (!f) {
		log_warn(c->conf->id, "cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	ok = fprintf(f, "%s %lld\n", c->loss_id, (long long)c->loss_us) > 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, c->loss_file) < 0) {
		log_warn(c->conf->id, "cannot write %s: %s", c->loss_file, strerror(errno));
		unlink(tmp);
	}
}

static void camera_loss_clear(struct camera *c)
{
	if (c->loss_file[0] && unlink(c->loss_file) < 0 && errno != ENOENT)
		log_warn(c->conf->id, "cannot remove %s: %s", c->loss_file, strerror(errno));
}

/* Take over the video_loss event an earlier run of this camera left open.
 * A file that does not parse is reported and ignored. */
static void camera_loss_load(struct camera *c)
{
	char id[sizeof(c->loss_id)], line[256];
	long long us;
	FILE *f = fopen(c->loss_file, "r");

	if (!f) {
		if (errno != ENOENT)
			log_warn(c->conf->id, "cannot read %s: %s", c->loss_file, strerror(errno));
		return;
	}
	if (fgets(line, sizeof(line), f) && sscanf(line, "%95s %lld", id, &us) == 2 && us > 0 &&
	    strncmp(id, c->conf->id, strlen(c->conf->id)) == 0) {
		snprintf(c->loss_id, sizeof(c->loss_id), "%s", id);
		c->loss_us = us;
		log_info(c->conf->id, "video_loss event %s is still open from before the restart",
			 id);
	} else {
		log_warn(c->conf->id, "%s: not an open video_loss event, ignored", c->loss_file);
	}
	fclose(f);
}

/* First picture after (re)connecting or after pictures stopped decoding:
 * close an open video_loss event. */
static void camera_streaming(struct camera *c, int64_t wall_us)
{
	atomic_store(&c->stats.state, CAMERA_STREAMING);
	if (c->loss_id[0]) {
		analysis_emit(&c->an, "video_restored", "end", c->loss_id, wall_us,
			      c->loss_us, NULL);
		c->loss_id[0] = '\0';
		camera_loss_clear(c);
	}
}

/* Now, for events the camera thread raises on its own: the wall clock,
 * or for a file read unpaced the file's clock (its newest packet), so
 * that they fall on the same time line as the frames' events. */
static int64_t camera_now(const struct camera *c)
{
	return !c->conf->pace && c->last_wall_us ? c->last_wall_us : ingest_wall_us();
}

/* The stream failed: end open events, open a video_loss event (once);
 * both say why (last_error). */
static void camera_lost(struct camera *c)
{
	int64_t now = camera_now(c);
	char reason[sizeof(c->stats.last_error) + 16];

	snprintf(reason, sizeof(reason), "video lost: %s", c->stats.last_error);
	analysis_reset(&c->an, now, reason);
	if (!c->loss_id[0]) {
		c->loss_us = now;
		snprintf(c->loss_id, sizeof(c->loss_id), "%s-loss-%lld", c->conf->id,
			 (long long)(now / 1000));
		analysis_emit(&c->an, "video_loss", "start", c->loss_id, now, 0,
			      c->stats.last_error);
		camera_loss_save(c);
	}
}

/* Packets arrive but none has given an analysable picture for
 * read_timeout, though a keyframe reached the decoder since the last one
 * (a camera with a longer GOP is not failed for it; with no keyframe at
 * all, CAMERA_NOKEY_TIMEOUTS times as long): the camera is not streaming.
 * Raise video_loss and end its open events once; the connection stays,
 * and the next trusted picture restores the camera. */
static void camera_check_picture(struct camera *c, struct camera_session *s, int64_t now)
{
	int64_t since = now - s->picture_mono;

	if (s->pictureless || since <= c->read_timeout_us ||
	    (!s->keys_since_picture && since <= CAMERA_NOKEY_TIMEOUTS * c->read_timeout_us))
		return;
	snprintf(c->stats.last_error, sizeof(c->stats.last_error),
		 "no decodable picture for %.1f s", (double)since / 1e6);
	log_warn(c->conf->id, "%s while packets arrive, waiting for a clean keyframe",
		 c->stats.last_error);
	s->pictureless = 1;
	s->picture = 0;
	atomic_store(&c->stats.state, CAMERA_DOWN);
	camera_lost(c);
}

/* Has the analysis something going: an event open, or observations in
 * consecutive frames that may start one (a single frame's is mostly
 * noise)? Then the gate stays open. */
static int camera_scene_busy(const struct camera *c)
{
	const struct engine *e = &c->an.engine;

	for (int i = 0; i < e->ntracks; i++)
		if (e->tracks[i].ev.active || e->tracks[i].ev.run >= 2)
			return 1;
	return 0;
}

/* The gate's figures for the status page. */
static void camera_gate_publish(struct camera *c)
{
	const struct gate *g = &c->gate;

	atomic_store(&c->stats.gate_open, g->open);
	atomic_store(&c->stats.gated_us, (unsigned long)g->gated_us);
	atomic_store(&c->stats.watched_us, (unsigned long)g->total_us);
	atomic_store(&c->stats.openings, (unsigned long)g->openings);
	atomic_store(&c->stats.catchup_us, (unsigned long)(g->ncatchup ?
		g->catchup[(g->catchup_next + GATE_CATCHUPS - 1) % GATE_CATCHUPS] : 0));
	atomic_store(&c->stats.catchup_median_us, (unsigned long)gate_catchup_median(g));
}

/* Open the gate: decode the backlog from its newest keyframe (back = 0)
 * or the one before (back = 1: a keyframe showed the change, which
 * began somewhere in the GOP before it) up to the present packet, as fast
 * as the decoder goes. Each frame is analysed with its own packet's wall
 * time, so events start where full decoding would have started them. */
static int camera_gate_open(struct camera *c, struct camera_session *s, int back,
			    int64_t wall_us)
{
	long k = backlog_key(&s->backlog, back);
	AVPacket *present = s->pkt;
	int64_t t0 = ingest_mono_us();
	int r = 0;

	if (k < 0)
		k = backlog_key(&s->backlog, 0);
	gate_activity(&c->gate, wall_us);
	log_debug(c->conf->id, "gate opens (%s)", back ? "keyframe changed" : "packet size");
	if (k < 0) {
		/* No keyframe held (a GOP over the backlog's bound): the
		 * decoder cannot start mid-GOP, full decoding starts at the
		 * next keyframe. */
		s->wait_key = 1;
		return 0;
	}
	avcodec_flush_buffers(s->dec);
	s->replaying = 1;
	for (size_t i = (size_t)k; i < s->backlog.n && r >= 0; i++) {
		struct backlog_item *it = backlog_at(&s->backlog, i);
		s->pkt = it->pkt;
		r = camera_decode(c, s, it->wall_us);
	}
	s->pkt = present;
	s->replaying = 0;
	gate_caught_up(&c->gate, ingest_mono_us() - t0);
	return r;
}

/* One packet in "gated" mode. Closed: a non-key packet only feeds the
 * size statistics unless it stands out; a keyframe is decoded and
 * judged. Open: everything is decoded and analysed, and the gate closes
 * once nothing has happened for the hold time. */
static int camera_gated(struct camera *c, struct camera_session *s, int64_t wall_us)
{
	struct gate *g = &c->gate;
	int key = (s->pkt->flags & AV_PKT_FLAG_KEY) != 0;
	int r, sizes;

	if (!s->gate_started) {
		gate_start(g, (int64_t)c->conf->analysis_hold * 1000000, wall_us);
		s->gate_started = 1;
	}
	gate_tick(g, wall_us);
	if (backlog_push(&s->backlog, s->pkt, wall_us) < 0)
		return AVERROR(ENOMEM);
	s->since_key = key ? 0 : s->since_key + 1;
	sizes = !key && s->since_key > GATE_SIZES_SKIP;
	if (g->open) {
		if (s->wait_key && !key)
			return 0;
		if (s->wait_key)
			avcodec_flush_buffers(s->dec);
		s->wait_key = 0;
		if (sizes && gate_sizes_test(&g->sizes, s->pkt->size))
			gate_activity(g, wall_us);
		r = camera_decode(c, s, wall_us);
		if (camera_scene_busy(c))
			gate_activity(g, wall_us);
		if (gate_settle(g, wall_us))
			log_debug(c->conf->id, "gate closes: quiet for %d s", c->conf->analysis_hold);
		return r;
	}
	if (!key) {
		if (!sizes)
			return 0;
		if (!gate_sizes_test(&g->sizes, s->pkt->size)) {
			gate_sizes_learn(&g->sizes, s->pkt->size);
			return 0;
		}
		return camera_gate_open(c, s, 0, wall_us);
	}
	s->verdict = GATE_KEY_QUIET;
	r = camera_decode(c, s, wall_us);
	if (r < 0 || s->verdict == GATE_KEY_QUIET)
		return r;
	return camera_gate_open(c, s, 1, wall_us);
}

/* Read until the stream fails or stop is asked. Returns how long the
 * session streamed, in microseconds (0: never produced a packet). */
static int64_t camera_session(struct camera *c, struct camera_session *s)
{
	int64_t first = 0, wall;
	int r;

	while (!atomic_load(&c->stop)) {
		r = ingest_read(&s->in, s->pkt, &wall);
		if (r < 0) {
			s->eof = r == AVERROR_EOF && s->in.is_file;
			break;
		}
		c->last_wall_us = wall;
		if (s->in.rewound) {
			avcodec_flush_buffers(s->dec);
			/* Time stamps start again: the backlog's are another pass. */
			backlog_clear(&s->backlog);
			s->analysed_pts = AV_NOPTS_VALUE;
		}
		if (!first) {
			first = ingest_mono_us();
			s->picture_mono = first;
			c->ever_streamed = 1;
		}
		log_ffmpeg_tick(ingest_mono_us());
		atomic_fetch_add(&c->stats.packets_in, 1);
		atomic_fetch_add(&c->stats.bytes_in, (unsigned long)s->pkt->size);
		if (c->busy)
			atomic_store(c->busy, 1);
		if (c->fault_armed)
			fault_abort();
		if (c->rec_shared)
			recorder_feed(c->rec, s->pkt, wall);
		/* keyframes mode: the decoder would only parse and drop the
		 * other packets; they need not reach it at all. */
		if (s->pkt->flags & AV_PKT_FLAG_KEY)
			s->keys_since_picture++;
		if (s->gated) {
			r = camera_gated(c, s, wall);
			camera_gate_publish(c);
		} else if (s->keyframes_only && !(s->pkt->flags & AV_PKT_FLAG_KEY)) {
			r = 0;
		} else {
			r = camera_decode(c, s, wall);
		}
		if (c->busy)
			atomic_store(c->busy, 0);
		av_packet_unref(s->pkt);
		if (r < 0) {
			if (!c->refused_w || !camera_too_big(c, c->refused_w, c->refused_h))
				ingest_set_error(&s->in, "decode", r);
			break;
		}
		camera_check_picture(c, s, ingest_mono_us());
		/* keyframes mode, and the camera's packets are all read: let
		 * some arrive before reading on. A wake-up per frame (poll,
		 * context switches) was a large part of this mode's cost; the
		 * next keyframe is analysed at most CAMERA_BATCH_US later
		 * (keyframes mode: CAMERA_KEYFRAMES_BATCH_US, against one
		 * analysed frame a GOP).
		 * Over TCP only, where the data waits in the socket: a UDP
		 * buffer could overflow with a large keyframe. */
		if (s->in.waited && s->batch_reads &&
		    (s->keyframes_only || (s->gated && !c->gate.open)))
			ingest_sleep(&c->stop, s->keyframes_only ? CAMERA_KEYFRAMES_BATCH_US
								 : CAMERA_BATCH_US);
	}
	return first ? ingest_mono_us() - first : 0;
}

/* Connect, stream, and on failure report and wait (ingest_backoff_next).
 * A camera that never came up is reported down after its first attempt. */
static void *camera_main(void *arg)
{
	struct camera *c = arg;
	struct ingest_backoff backoff;

	ingest_backoff_init(&backoff, (unsigned)ingest_mono_us() ^ (unsigned)(uintptr_t)c);
	log_ffmpeg_who(c->conf->id);
	log_name_thread("cam", c->conf->id);
	while (!atomic_load(&c->stop)) {
		struct camera_session s;
		int64_t streamed = 0, wait;

		atomic_store(&c->stats.state, CAMERA_CONNECTING);
		if (camera_open(c, &s) == 0)
			streamed = camera_session(c, &s);
		camera_close(&s);
		if (atomic_load(&c->stop))
			break;
		atomic_store(&c->stats.state, CAMERA_DOWN);
		if (streamed > 0 || !c->ever_streamed)
			camera_lost(c);
		if (s.eof && !c->conf->pace) {
			/* Read once: again would learn the same weeks twice. */
			log_info(c->conf->id, "end of the file (pace = false): %.1f s of it read "
				 "in %.1f s, not read again", (double)(c->last_wall_us -
				 s.in.file_wall_us) / 1e6, (double)streamed / 1e6);
			while (!atomic_load(&c->stop))
				ingest_sleep(&c->stop, 1000000);
			break;
		}
		wait = ingest_backoff_next(&backoff, streamed);
		atomic_fetch_add(&c->stats.reconnects, 1);
		log_warn(c->conf->id, "%s, retrying in %.1f s", c->stats.last_error,
			 (double)wait / 1e6);
		ingest_sleep(&c->stop, wait);
	}
	/* Stopping (shutdown, reload) ends an open event with its end alert. */
	analysis_reset(&c->an, camera_now(c), NULL);
	analysis_free(&c->an);
	return NULL;
}

int camera_start(struct camera *c, const struct vigil_camera *conf,
		 const char *plugin_dir, const char *data_dir, struct alert_queue *alerts,
		 struct recorder *rec, struct status_slot *slot)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->conf = conf;
	c->busy = slot ? &slot->busy : NULL;
	analysis_init(&c->an, conf, plugin_dir, alerts);
	if (slot && data_dir) {
		c->an.picture_asked = &slot->picture_asked;
		c->an.picture_done = &slot->picture_done;
		snprintf(c->an.picture_path, sizeof(c->an.picture_path), "%s/pictures/%s.jpg",
			 data_dir, conf->id);
	}
	c->rec = rec;
	c->an.rec = rec;
	c->rec_shared = strcmp(conf->record_url, conf->detect_url) == 0;
	c->open_timeout_us = (int64_t)conf->open_timeout * 1000000;
	c->read_timeout_us = (int64_t)conf->read_timeout * 1000000;
	c->fault_armed = fault_armed(conf->detect_url);
	if (data_dir) {
		snprintf(c->loss_file, sizeof(c->loss_file), "%s/events/%s.video_loss", data_dir,
			 conf->id);
		camera_loss_load(c);
		engine_recover(&c->an.engine, data_dir);
		activity_recover(&c->an.anomaly.activity, data_dir);
	}
	r = pthread_create(&c->thread, NULL, camera_main, c);
	if (r) {
		log_err(conf->id, "cannot start camera thread: %s", strerror(r));
		return -r;
	}
	c->started = 1;
	return 0;
}

void camera_request_stop(struct camera *c)
{
	if (c && c->started)
		atomic_store(&c->stop, 1);
}

void camera_stop(struct camera *c)
{
	if (!c || !c->started)
		return;
	atomic_store(&c->stop, 1);
	pthread_join(c->thread, NULL);
	c->started = 0;
}
