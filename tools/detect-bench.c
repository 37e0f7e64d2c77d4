/* detect-bench: cost of detection against the cost of decoding.
 *
 * Decodes a video file the way a camera thread does (libavcodec, one
 * thread, loop filter skipped) and, as a second reference, the way
 * `ffmpeg -threads 1` does (loop filter on); downscales the luma to the analysis width
 * and runs detector plugins over every frame, timing decode and detection
 * separately with the thread's CPU clock. Prints both and their ratio;
 * with --trace, also every observation (frame time, type, zone, boxes).
 * With --line x1,y1,x2,y2 the host's tracker and that tripwire run on
 * the motion boxes too (timed with detection, and shown on their own);
 * --trace then also prints tracks and crossings.
 *
 * Usage: detect-bench [--plugins DIR] [--detectors motion,tamper]
 *                     [--width 320] [--repeat N] [--trace]
 *                     [--line x1,y1,x2,y2] FILE */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "luma.h"
#include "plugin.h"
#include "track.h"
#include "tripwire.h"

#define BENCH_MAX 8

static int64_t bench_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct bench {
	const char *file, *dir;
	char detectors[256];
	int width, repeat, trace;
	struct plugin_instance pi[BENCH_MAX];
	int npi;
	struct luma_scaler scaler;
	int64_t decode_ns, full_ns, detect_ns, scale_ns, track_ns;
	long frames;
	int lines;                       /* --line given: track and count */
	struct vigil_line_conf line;
	struct tracker tracker;
	struct tripwire wire;
};

/* The tracker and the tripwire on this frame's motion boxes. */
static void bench_track(struct bench *b, const struct vigil_observations *obs, double t)
{
	struct vigil_box boxes[64];
	struct tripwire_crossing cross[TRACK_MAX];
	int n = 0, nc;

	for (int k = 0; k < obs->count; k++)
		for (int j = 0; !strcmp(obs->obs[k].type, "motion") && j < obs->obs[k].nboxes &&
				n < 64; j++)
			boxes[n++] = obs->obs[k].boxes[j];
	tracker_update(&b->tracker, boxes, n, (int64_t)(t * 1e6));
	nc = tripwire_step(&b->wire, b->tracker.t, b->tracker.n, (int64_t)(t * 1e6), cross);
	for (int i = 0; b->trace && i < b->tracker.n; i++) {
		const struct vigil_track *tr = &b->tracker.t[i];
		printf("%.2f track %u%s [%.3f %.3f %.3f %.3f] v %.3f %.3f\n", t, tr->id,
		       tr->hidden ? " hidden" : "", tr->box.x, tr->box.y, tr->box.w, tr->box.h,
		       tr->vx, tr->vy);
	}
	for (int i = 0; b->trace && i < nc; i++)
		printf("%.2f crossed track %u %s\n", t, b->tracker.t[cross[i].track].id,
		       cross[i].dir == LINE_A_B ? "a-b" : "b-a");
}

static int bench_start(struct bench *b, double fps)
{
	struct vigil_setup setup = {
		.camera = "bench", .width = b->scaler.out.width,
		.height = b->scaler.out.height, .fps = fps,
	};
	char list[256], *save = NULL, err[512];

	snprintf(list, sizeof(list), "%s", b->detectors);
	for (char *name = strtok_r(list, ",", &save); name && b->npi < BENCH_MAX;
	     name = strtok_r(NULL, ",", &save)) {
		struct vigil_detector d = { .name = name };
		if (plugin_instance_init(&b->pi[b->npi], b->dir, &d, &setup, err,
					 sizeof(err)) < 0) {
			fprintf(stderr, "detect-bench: %s\n", err);
			return -1;
		}
		b->npi++;
	}
	return 0;
}

static void bench_detect(struct bench *b, const AVFrame *fr, double t)
{
	struct vigil_observations obs;
	struct vigil_frame f;
	int64_t t0 = bench_cpu_ns(), t1;

	luma_scale(&b->scaler, fr->data[0], fr->linesize[0]);
	t1 = bench_cpu_ns();
	b->scale_ns += t1 - t0;
	f = (struct vigil_frame){ .data = b->scaler.out.data, .width = b->scaler.out.width,
				  .height = b->scaler.out.height,
				  .stride = b->scaler.out.stride,
				  .pts_us = (int64_t)(t * 1e6), .wall_us = (int64_t)(t * 1e6),
				  .key = fr->key_frame || fr->pict_type == AV_PICTURE_TYPE_I };
	f.tracks = b->tracker.t;
	f.ntracks = b->tracker.n;
	for (int i = 0; i < b->npi; i++) {
		plugin_instance_process(&b->pi[i], &f, &obs);
		if (b->lines) {
			int64_t t2 = bench_cpu_ns();
			bench_track(b, &obs, t);
			b->track_ns += bench_cpu_ns() - t2;
		}
		for (int k = 0; b->trace && k < obs.count; k++) {
			const struct vigil_observation *o = &obs.obs[k];
			printf("%.2f %s zone=%d score=%.3f", t, o->type, o->zone, o->score);
			for (int j = 0; j < o->nboxes; j++)
				printf(" [%.3f %.3f %.3f %.3f]", o->boxes[j].x, o->boxes[j].y,
				       o->boxes[j].w, o->boxes[j].h);
			putchar('\n');
		}
	}
	b->detect_ns += bench_cpu_ns() - t1;
}

enum { BENCH_DECODE, BENCH_DETECT, BENCH_FULL };

/* Decode the whole file once: as the daemon does (BENCH_DECODE), with
 * the loop filter as `ffmpeg -threads 1` does (BENCH_FULL), or as the
 * daemon and then detect on every frame (BENCH_DETECT). */
static int bench_pass(struct bench *b, int mode)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec = NULL;
	const AVCodec *codec;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *fr = av_frame_alloc();
	int r, vidx;

	if ((r = avformat_open_input(&fmt, b->file, NULL, NULL)) < 0 ||
	    (r = avformat_find_stream_info(fmt, NULL)) < 0 ||
	    (r = vidx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)) < 0)
		goto out;
	dec = avcodec_alloc_context3(codec);
	avcodec_parameters_to_context(dec, fmt->streams[vidx]->codecpar);
	dec->thread_count = 1;
	if (mode != BENCH_FULL)
		dec->skip_loop_filter = AVDISCARD_ALL;
	if ((r = avcodec_open2(dec, codec, NULL)) < 0)
		goto out;
	if (mode == BENCH_DETECT && !b->npi) {
		luma_scaler_setup(&b->scaler, dec->width, dec->height, b->width);
		if (bench_start(b, av_q2d(fmt->streams[vidx]->avg_frame_rate)) < 0) {
			r = -1;
			goto out;
		}
	}
	while (av_read_frame(fmt, pkt) >= 0) {
		int64_t t0;
		if (pkt->stream_index != vidx) {
			av_packet_unref(pkt);
			continue;
		}
		t0 = bench_cpu_ns();
		avcodec_send_packet(dec, pkt);
		av_packet_unref(pkt);
		while (avcodec_receive_frame(dec, fr) >= 0) {
			double t = fr->best_effort_timestamp *
				   av_q2d(fmt->streams[vidx]->time_base);
			if (mode == BENCH_DETECT)
				bench_detect(b, fr, t);
			else
				*(mode == BENCH_FULL ? &b->full_ns : &b->decode_ns) +=
					bench_cpu_ns() - t0;
			if (mode == BENCH_DECODE)
				b->frames++;
			av_frame_unref(fr);
			t0 = bench_cpu_ns();
		}
		if (mode != BENCH_DETECT)
			*(mode == BENCH_FULL ? &b->full_ns : &b->decode_ns) += bench_cpu_ns() - t0;
	}
	r = 0;
out:
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	av_packet_free(&pkt);
	av_frame_free(&fr);
	return r;
}

int main(int argc, char **argv)
{
	struct bench b = { .width = 320, .repeat = 1 };
	char dir[PATH_MAX];

	snprintf(b.detectors, sizeof(b.detectors), "motion,tamper");
	b.dir = plugin_default_dir(dir, sizeof(dir));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--plugins") && i + 1 < argc)
			b.dir = argv[++i];
		else if (!strcmp(argv[i], "--detectors") && i + 1 < argc)
			snprintf(b.detectors, sizeof(b.detectors), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--width") && i + 1 < argc)
			b.width = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			b.repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--trace"))
			b.trace = 1;
		else if (!strcmp(argv[i], "--line") && i + 1 < argc) {
			float *p = b.line.points;
			if (sscanf(argv[++i], "%f,%f,%f,%f", &p[0], &p[1], &p[2], &p[3]) != 4) {
				fprintf(stderr, "detect-bench: --line wants x1,y1,x2,y2\n");
				return 2;
			}
			b.line.name = "line";
			b.line.direction = LINE_BOTH;
			b.lines = 1;
		}
		else if (argv[i][0] != '-')
			b.file = argv[i];
		else {
			fprintf(stderr, "usage: detect-bench [--plugins DIR] [--detectors LIST] "
				"[--width N] [--repeat N] [--trace] [--line x1,y1,x2,y2] FILE\n");
			return 2;
		}
	}
	if (!b.file) {
		fprintf(stderr, "detect-bench: no input file\n");
		return 2;
	}
	tracker_init(&b.tracker, 1.0);
	tripwire_init(&b.wire, &b.line);
	av_log_set_level(AV_LOG_ERROR);
	/* The plugins' own lines: warnings and errors only. */
	log_set_level(LOG_WARNING);
	/* Decode alone, then decode again with detection (its decode time
	 * is not counted): each repeat measures both in the same run. */
	for (int i = 0; i < b.repeat; i++) {
		if (bench_pass(&b, BENCH_DECODE) < 0 || bench_pass(&b, BENCH_DETECT) < 0 ||
		    (!b.trace && bench_pass(&b, BENCH_FULL) < 0)) {
			fprintf(stderr, "detect-bench: cannot read %s\n", b.file);
			return 1;
		}
	}
	if (!b.trace && b.frames) {
		double dec = (double)b.decode_ns / (double)b.frames / 1e3;
		double sc = (double)b.scale_ns / (double)b.frames / 1e3;
		double det = (double)b.detect_ns / (double)b.frames / 1e3;
		printf("frames %ld  analysis %dx%d  detectors %s\n", b.frames,
		       b.scaler.out.width, b.scaler.out.height, b.detectors);
		double full = (double)b.full_ns / (double)b.frames / 1e3;
		printf("decode     %8.1f us/frame  (as vigild: loop filter skipped)\n", dec);
		printf("full       %8.1f us/frame  (as ffmpeg -threads 1)\n", full);
		printf("downscale  %8.1f us/frame  %5.1f%% of decode\n", sc, 100 * sc / dec);
		printf("detect     %8.1f us/frame  %5.1f%% of decode, %5.1f%% of full\n", det,
		       100 * det / dec, 100 * det / full);
		if (b.lines) {
			double tr = (double)b.track_ns / (double)b.frames / 1e3;
			printf("tracking   %8.1f us/frame  %5.1f%% of decode (tracker and line, "
			       "within detect)\n", tr, 100 * tr / dec);
			printf("crossings  a-b %lu  b-a %lu\n", b.wire.total[0], b.wire.total[1]);
		}
	}
	for (int i = 0; i < b.npi; i++)
		plugin_instance_free(&b.pi[i]);
	plugin_registry_close();
	luma_scaler_free(&b.scaler);
	return 0;
}
