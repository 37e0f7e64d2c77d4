/* Tests of the recorder with its real writer thread, on packets from a
 * real encoder (MPEG-4 part 2, built into libavcodec): the pre-roll
 * starts at the right keyframe, overlapping events share a clip, long
 * events are split, and the index records it all. */
#include "recorder.h"

#include <libavformat/avformat.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipdb.h"
#include "log.h"
#include "testing.h"

#define FPS 10
#define GOP 10                        /* frames: one keyframe a second */
#define BASE_US 1700000000000000LL    /* 2023-11-14T22:13:20Z */
#define US(sec) (BASE_US + (int64_t)((sec) * 1e6))

struct stream {
	AVPacket *pkts[400];
	int n;
	AVCodecParameters *par;
	AVRational tb;
	AVFrame *frame;
};

/* seconds of a small moving picture, encoded. */
static void encode(struct stream *s, int seconds)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
	AVCodecContext *enc = avcodec_alloc_context3(codec);
	AVPacket *pkt = av_packet_alloc();

	memset(s, 0, sizeof(*s));
	enc->width = 160;
	enc->height = 120;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	enc->time_base = (AVRational){ 1, FPS };
	enc->gop_size = GOP;
	enc->max_b_frames = 0;
	enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if (avcodec_open2(enc, codec, NULL) < 0)
		abort();
	s->frame = av_frame_alloc();
	s->frame->width = 160;
	s->frame->height = 120;
	s->frame->format = AV_PIX_FMT_YUV420P;
	av_frame_get_buffer(s->frame, 0);
	for (int i = 0; i <= seconds * FPS; i++) {
		av_frame_make_writable(s->frame);
		for (int p = 0; p < 3; p++)
			for (int y = 0; y < (p ? 60 : 120); y++)
				memset(s->frame->data[p] + y * s->frame->linesize[p],
				       (y + i * 3 + p * 40) & 0xff, p ? 80 : 160);
		s->frame->pts = i;
		avcodec_send_frame(enc, i < seconds * FPS ? s->frame : NULL);
		while (avcodec_receive_packet(enc, pkt) >= 0)
			s->pkts[s->n++] = av_packet_clone(pkt);
	}
	s->par = avcodec_parameters_alloc();
	avcodec_parameters_from_context(s->par, enc);
	s->tb = enc->time_base;
	avcodec_free_context(&enc);
	av_packet_free(&pkt);
}

static void stream_free(struct stream *s)
{
	for (int i = 0; i < s->n; i++)
		av_packet_free(&s->pkts[i]);
	avcodec_parameters_free(&s->par);
	av_frame_free(&s->frame);
}

static int64_t wall_of(const struct stream *s, int i)
{
	return BASE_US + av_rescale_q(s->pkts[i]->pts, s->tb, AV_TIME_BASE_Q);
}

static double file_duration(const char *path)
{
	AVFormatContext *fmt = NULL;
	double d = -1;

	if (avformat_open_input(&fmt, path, NULL, NULL) == 0 &&
	    avformat_find_stream_info(fmt, NULL) >= 0)
		d = (double)fmt->duration / AV_TIME_BASE;
	avformat_close_input(&fmt);
	return d;
}

struct fixture {
	char dir[64];
	struct vigil_camera cam;
	struct recorder *rec;
	struct stream s;
	int fed;
};

/* A camera with zones (their dwell sets how far back the ring reaches). */
static void fixture_start_zones(struct fixture *f, int pre, int post, int max,
				struct vigil_zone_conf *zones, int nzones)
{
	memset(f, 0, sizeof(*f));
	f->cam.zones = zones;
	f->cam.nzones = nzones;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-recorder-test-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	f->cam.id = "cam";
	f->cam.recording = (struct vigil_recording){ .pre_seconds = pre,
		.post_seconds = post, .max_seconds = max };
	encode(&f->s, 20);
	CHECK(recorder_start(&f->rec, &f->cam, f->dir) == 0);
	recorder_set_stream(f->rec, f->s.par, f->s.tb);
}

static void fixture_start(struct fixture *f, int pre, int post, int max)
{
	fixture_start_zones(f, pre, post, max, NULL, 0);
}

/* Feed packets up to stream time t seconds. */
static void feed_until(struct fixture *f, double t)
{
	while (f->fed < f->s.n && wall_of(&f->s, f->fed) <= US(t)) {
		recorder_feed(f->rec, f->s.pkts[f->fed], wall_of(&f->s, f->fed));
		f->fed++;
	}
}

static void fixture_stop(struct fixture *f)
{
	char cmd[128];

	recorder_stop(f->rec);
	stream_free(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
}

/* Rows of the index, oldest first. */
static int rows(struct fixture *f, struct clipdb_row *out, int max)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = 0;

	snprintf(path, sizeof(path), "%s/clips.db", f->dir);
	if (clipdb_open(&db, path, 1) < 0)
		return -1;
	sqlite3_prepare_v2(db, "SELECT " CLIPDB_COLUMNS " FROM clips ORDER BY start_us",
			   -1, &st, NULL);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		clipdb_row_read(st, &out[n++]);
	sqlite3_finalize(st);
	clipdb_close(db);
	return n;
}

static void test_overlapping_events_share_a_clip(void)
{
	struct fixture f;
	struct recorder_info a, b, ea, eb;
	struct clipdb_row r[4];
	char path[512];

	fixture_start(&f, 2, 1, 300);
	feed_until(&f, 4.5);
	recorder_event_start(f.rec, "motion", "cam-A", US(4.5), f.s.frame, NULL, 0, &a);
	feed_until(&f, 6);
	recorder_event_start(f.rec, "motion", "cam-B", US(6), f.s.frame, NULL, 0, &b);
	feed_until(&f, 7);
	recorder_event_end(f.rec, "cam-A", US(7), &ea);
	feed_until(&f, 9);
	recorder_event_end(f.rec, "cam-B", US(9), &eb);
	feed_until(&f, 15);
	recorder_stop(f.rec);
	f.rec = NULL;

	CHECK(strcmp(a.clip, "cam/2023-11-14/cam-A.mp4") == 0);
	CHECK(strcmp(b.clip, a.clip) == 0);
	CHECK(strcmp(a.snapshot, "cam/2023-11-14/cam-A.jpg") == 0);
	CHECK(strcmp(b.snapshot, "cam/2023-11-14/cam-B.jpg") == 0);
	CHECK(strcmp(ea.clip, a.clip) == 0 && ea.duration > 4.0);
	CHECK(strcmp(eb.clip, a.clip) == 0 && eb.duration > ea.duration);
	CHECK(rows(&f, r, 4) == 1);
	CHECK(strcmp(r[0].events, "cam-A cam-B") == 0);
	CHECK(strcmp(r[0].state, "complete") == 0);
	/* Pre-roll: the last keyframe at or before 4.5 - 2 s is at 2 s. */
	CHECK(r[0].start_us == US(2));
	/* Post-roll: one second after the last event ended. */
	CHECK(r[0].end_us >= US(10) - 100000 && r[0].end_us < US(10) + 200000);
	snprintf(path, sizeof(path), "%s/clips/%s", f.dir, r[0].path);
	double d = file_duration(path);
	CHECK(d > 7.8 && d < 8.3);
	snprintf(path, sizeof(path), "%s/clips/cam/2023-11-14/cam-B.jpg", f.dir);
	CHECK(access(path, R_OK) == 0);
	fixture_stop(&f);
}

/* A loitering clip starts pre-roll before the stay: a camera with a
 * dwell zone keeps that much in its ring, one without does not. */
static void test_dwell_keeps_the_stay(void)
{
	struct vigil_zone_conf zone = { .dwell = 6 };
	struct fixture f;
	struct recorder_info a, e;
	struct clipdb_row r[2];

	for (int dwell = 1; dwell >= 0; dwell--) {
		fixture_start_zones(&f, 1, 1, 300, dwell ? &zone : NULL, dwell);
		feed_until(&f, 11.5);
		/* In the zone since 5 s, for the dwell: the clip from 4 s. */
		recorder_event_start(f.rec, "loitering", "cam-L", US(5), f.s.frame, NULL, 0, &a);
		feed_until(&f, 13);
		recorder_event_end(f.rec, "cam-L", US(13), &e);
		feed_until(&f, 16);
		recorder_stop(f.rec);
		f.rec = NULL;
		CHECK(rows(&f, r, 2) == 1);
		if (dwell)
			CHECK(r[0].start_us == US(4));
		else            /* pre-roll, a second of slack, a GOP */
			CHECK(r[0].start_us >= US(8));
		CHECK(strcmp(r[0].state, "complete") == 0 && r[0].end_us >= US(14) - 100000);
		fixture_stop(&f);
	}
}

static void test_long_event_is_split(void)
{
	struct fixture f;
	struct recorder_info a, e;
	struct clipdb_row r[8];
	int n;

	fixture_start(&f, 1, 1, 3);
	feed_until(&f, 2);
	recorder_event_start(f.rec, "motion", "cam-L", US(2), NULL, NULL, 0, &a);
	feed_until(&f, 12);
	recorder_event_end(f.rec, "cam-L", US(12), &e);
	feed_until(&f, 15);
	recorder_stop(f.rec);
	f.rec = NULL;

	n = rows(&f, r, 8);
	CHECK(n == 4);   /* 1..4, 4..7, 7..10, 10..13 */
	CHECK(n > 1 && strcmp(r[0].path, "cam/2023-11-14/cam-L.mp4") == 0);
	CHECK(n > 1 && strcmp(r[1].path, "cam/2023-11-14/cam-L-2.mp4") == 0);
	CHECK(strcmp(e.clip, "cam/2023-11-14/cam-L-4.mp4") == 0);
	for (int i = 0; i < n; i++) {
		char path[512];
		CHECK(strcmp(r[i].state, "complete") == 0);
		CHECK(strcmp(r[i].events, "cam-L") == 0);
		snprintf(path, sizeof(path), "%s/clips/%s", f.dir, r[i].path);
		double d = file_duration(path);
		CHECK(d > 2.9 && d < 3.2);
		/* Parts follow each other without a gap. */
		if (i)
			CHECK(r[i].start_us == r[i - 1].start_us + 3000000);
	}
	fixture_stop(&f);
}

static void test_no_clip_without_event(void)
{
	struct fixture f;
	struct recorder_info e;
	struct clipdb_row r[2];

	fixture_start(&f, 2, 1, 300);
	feed_until(&f, 10);
	/* An end for an event the recorder never saw changes nothing. */
	recorder_event_end(f.rec, "cam-X", US(10), &e);
	CHECK(e.clip[0] == '\0');
	recorder_stop(f.rec);
	f.rec = NULL;
	CHECK(rows(&f, r, 2) == 0);
	CHECK(recorder_dropped(NULL) == 0);
	recorder_stop(NULL);
	fixture_stop(&f);
}

/* An event before the first packet waits for a keyframe under the name
 * its alert announced; a new stream (reconnect) mid-event ends that part
 * and the next one starts at the new stream's first keyframe. */
static void test_pending_start_and_reconnect(void)
{
	struct fixture f;
	struct recorder_info a, e;
	struct clipdb_row r[4];

	fixture_start(&f, 2, 1, 300);
	recorder_event_start(f.rec, "motion", "cam-R", US(0), NULL, NULL, 0, &a);
	CHECK(strcmp(a.clip, "cam/2023-11-14/cam-R.mp4") == 0);
	feed_until(&f, 3.05);
	recorder_set_stream(f.rec, f.s.par, f.s.tb);
	feed_until(&f, 6);
	recorder_event_end(f.rec, "cam-R", US(6), &e);
	CHECK(strcmp(e.clip, "cam/2023-11-14/cam-R-2.mp4") == 0);
	feed_until(&f, 9);
	recorder_stop(f.rec);
	f.rec = NULL;
	CHECK(rows(&f, r, 4) == 2);
	CHECK(strcmp(r[0].path, a.clip) == 0 && r[0].start_us == US(0));
	CHECK(strcmp(r[0].state, "complete") == 0);
	CHECK(r[0].end_us >= US(3) && r[0].end_us < US(3.1));
	CHECK(strcmp(r[1].path, e.clip) == 0 && r[1].start_us == US(4));
	CHECK(strcmp(r[1].state, "complete") == 0);
	fixture_stop(&f);
}

/* Frames of a file that decode, or -1 when decoding reports an error. */
static int decoded_frames(const char *path)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec = NULL;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame = av_frame_alloc();
	const AVCodec *codec;
	int n = 0;

	if (avformat_open_input(&fmt, path, NULL, NULL) < 0 ||
	    avformat_find_stream_info(fmt, NULL) < 0)
		n = -1;
	if (n == 0) {
		codec = avcodec_find_decoder(fmt->streams[0]->codecpar->codec_id);
		dec = avcodec_alloc_context3(codec);
		avcodec_parameters_to_context(dec, fmt->streams[0]->codecpar);
		if (avcodec_open2(dec, codec, NULL) < 0)
			n = -1;
	}
	while (n >= 0 && av_read_frame(fmt, pkt) >= 0) {
		if (avcodec_send_packet(dec, pkt) < 0)
			n = -1;
		while (n >= 0 && avcodec_receive_frame(dec, frame) >= 0) {
			if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT))
				n = -1;
			else
				n++;
		}
		av_packet_unref(pkt);
	}
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	av_packet_free(&pkt);
	av_frame_free(&frame);
	return n;
}

/* A writer that cannot keep up (here: packets arrive far faster than
 * real time) costs clip packets, counted, never a wait in the feeder;
 * what reaches the clip still decodes, since a drop skips to the next
 * keyframe. */
static void test_writer_behind_drops_and_clip_decodes(void)
{
	struct fixture f;
	struct recorder_info a, e;
	struct clipdb_row r[2];
	char path[512];
	int loops = 100, total;
	int64_t span = US(20) - BASE_US;

	fixture_start(&f, 1, 1, 3600);
	feed_until(&f, 2);
	recorder_event_start(f.rec, "motion", "cam-F", US(2), NULL, NULL, 0, &a);
	for (int k = 0; k < loops; k++) {
		for (int i = 0; i < f.s.n; i++) {
			AVPacket *p = av_packet_clone(f.s.pkts[i]);
			int64_t shift = av_rescale_q(span * k, AV_TIME_BASE_Q, f.s.tb);
			p->pts += shift;
			p->dts += shift;
			recorder_feed(f.rec, p, wall_of(&f.s, i) + span * k);
			av_packet_free(&p);
		}
	}
	total = loops * f.s.n;
	recorder_event_end(f.rec, "cam-F", US(20) + span * loops, &e);
	/* Whether the writer falls behind depends on the machine (a
	 * sanitizer build feeds slower): what is dropped is counted, and
	 * never everything. */
	unsigned long dropped = recorder_dropped(f.rec);
	CHECK(dropped < (unsigned long)total);
	recorder_stop(f.rec);
	f.rec = NULL;
	CHECK(rows(&f, r, 2) == 1);
	snprintf(path, sizeof(path), "%s/clips/%s", f.dir, r[0].path);
	int n = decoded_frames(path);
	CHECK(n > 0 && n <= total);
	if (dropped)
		CHECK(n < total);
	fixture_stop(&f);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_overlapping_events_share_a_clip),
		TEST(test_long_event_is_split),
		TEST(test_dwell_keeps_the_stay),
		TEST(test_no_clip_without_event),
		TEST(test_pending_start_and_reconnect),
		TEST(test_writer_behind_drops_and_clip_decodes),
		{ NULL, NULL }
	};
	log_init("test");
	log_set_level(LOG_WARNING);
	av_log_set_level(AV_LOG_ERROR);
	return test_run("recorder", cases);
}
