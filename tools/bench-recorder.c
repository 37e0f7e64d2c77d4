/* bench-recorder: CPU cost of recording compared with decoding, per
 * camera, on one video file.
 *
 *   bench-recorder FILE [ROUNDS]
 *
 * Reference: single-thread decode of every video packet of FILE (what
 * `ffmpeg -threads 1 -i FILE -f null -` does), thread CPU time. Measured
 * the same way in the same run: (a) the always-on cost, every packet
 * through recorder_feed() with no event (ring only); (b) the cost while
 * an event lasts the whole file, ring plus the writer thread writing the
 * clip, a snapshot and the index (process CPU time, the writer drained).
 * Prints medians over ROUNDS (default 5) and the ratios. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "recorder.h"

struct bench_input {
	AVPacket **pkts;
	int64_t *wall_us;        /* arrival time as if streamed in real time */
	size_t n;
	AVCodecParameters *par;
	AVRational tb;
	double seconds;          /* of video */
	AVFrame *frame;          /* one decoded frame, for the snapshot */
};

static double bench_cpu(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp);
	return v[n / 2];
}

static int bench_load(const char *file, struct bench_input *in)
{
	AVFormatContext *fmt = NULL;
	AVPacket *pkt = av_packet_alloc();
	int vidx, cap = 0;
	int64_t first = AV_NOPTS_VALUE, last = 0;

	if (avformat_open_input(&fmt, file, NULL, NULL) < 0 ||
	    avformat_find_stream_info(fmt, NULL) < 0)
		return -1;
	vidx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (vidx < 0)
		return -1;
	in->par = avcodec_parameters_alloc();
	avcodec_parameters_copy(in->par, fmt->streams[vidx]->codecpar);
	in->tb = fmt->streams[vidx]->time_base;
	while (av_read_frame(fmt, pkt) >= 0) {
		if (pkt->stream_index == vidx) {
			int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
			if ((int)in->n == cap) {
				cap = cap ? cap * 2 : 1024;
				in->pkts = realloc(in->pkts, (size_t)cap * sizeof(*in->pkts));
				in->wall_us = realloc(in->wall_us, (size_t)cap * sizeof(*in->wall_us));
			}
			if (first == AV_NOPTS_VALUE)
				first = ts;
			last = av_rescale_q(ts - first, in->tb, AV_TIME_BASE_Q);
			in->wall_us[in->n] = 1700000000000000LL + last;
			in->pkts[in->n++] = av_packet_clone(pkt);
		}
		av_packet_unref(pkt);
	}
	in->seconds = (double)last / 1e6;
	av_packet_free(&pkt);
	avformat_close_input(&fmt);
	return in->n ? 0 : -1;
}

/* Reference: decode every packet on one thread; returns CPU seconds. */
static double bench_decode(struct bench_input *in)
{
	const AVCodec *codec = avcodec_find_decoder(in->par->codec_id);
	AVCodecContext *dec = avcodec_alloc_context3(codec);
	AVFrame *frame = av_frame_alloc();
	double t0;

	avcodec_parameters_to_context(dec, in->par);
	dec->thread_count = 1;
	avcodec_open2(dec, codec, NULL);
	t0 = bench_cpu(CLOCK_THREAD_CPUTIME_ID);
	for (size_t i = 0; i <= in->n; i++) {
		avcodec_send_packet(dec, i < in->n ? in->pkts[i] : NULL);
		while (avcodec_receive_frame(dec, frame) >= 0) {
			if (!in->frame)
				in->frame = av_frame_clone(frame);
			av_frame_unref(frame);
		}
	}
	t0 = bench_cpu(CLOCK_THREAD_CPUTIME_ID) - t0;
	av_frame_free(&frame);
	avcodec_free_context(&dec);
	return t0;
}

/* Feed the file through a recorder; with_event: one event spans it.
 * Returns process CPU seconds including the writer draining. */
static double bench_record(struct bench_input *in, const struct vigil_camera *cam,
			   const char *dir, int with_event, unsigned long *dropped)
{
	struct recorder *rec;
	struct recorder_info info;
	double t0 = bench_cpu(CLOCK_PROCESS_CPUTIME_ID);
	size_t trigger = in->n / 4;

	if (recorder_start(&rec, cam, dir) < 0)
		return -1;
	recorder_set_stream(rec, in->par, in->tb);
	for (size_t i = 0; i < in->n; i++) {
		recorder_feed(rec, in->pkts[i], in->wall_us[i]);
		if (with_event && i == trigger)
			recorder_event_start(rec, "motion", "bench", in->wall_us[i], in->frame,
					     NULL, 0, &info);
	}
	if (with_event)
		recorder_event_end(rec, "bench", in->wall_us[in->n - 1], &info);
	*dropped += recorder_dropped(rec);
	recorder_stop(rec);
	return bench_cpu(CLOCK_PROCESS_CPUTIME_ID) - t0;
}

int main(int argc, char **argv)
{
	struct bench_input in = { 0 };
	struct vigil_camera cam = { .id = "bench" };
	char dir[] = "/tmp/vigil-bench-XXXXXX", cmd[256];
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	double dec[64], ring[64], clip[64];
	unsigned long dropped = 0;

	if (argc < 2 || rounds < 1 || rounds > 64) {
		fprintf(stderr, "usage: bench-recorder FILE [ROUNDS (1..64)]\n");
		return 2;
	}
	log_init("bench");
	log_set_level(LOG_WARNING);
	av_log_set_level(AV_LOG_ERROR);
	if (bench_load(argv[1], &in) < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "bench-recorder: cannot read %s\n", argv[1]);
		return 1;
	}
	cam.recording = (struct vigil_recording){ .pre_seconds = 5, .post_seconds = 10,
						  .max_seconds = 300 };
	for (int r = 0; r < rounds; r++) {
		dec[r] = bench_decode(&in);
		ring[r] = bench_record(&in, &cam, dir, 0, &dropped);
		clip[r] = bench_record(&in, &cam, dir, 1, &dropped);
	}
	double d = bench_median(dec, rounds), g = bench_median(ring, rounds);
	double c = bench_median(clip, rounds);
	printf("file: %s, %zu packets, %.1f s of video, %d rounds (medians)\n", argv[1], in.n,
	       in.seconds, rounds);
	printf("decode (reference, 1 thread): %8.2f ms CPU per s of video\n", d * 1000 / in.seconds);
	printf("ring only (no event):         %8.3f ms CPU per s of video  = %6.3f%% of decode\n",
	       g * 1000 / in.seconds, 100 * g / d);
	printf("ring + clip + snapshot:       %8.3f ms CPU per s of video  = %6.3f%% of decode\n",
	       c * 1000 / in.seconds, 100 * c / d);
	printf("clip packets dropped: %lu\n", dropped);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-recorder: could not remove %s\n", dir);
	return 0;
}
