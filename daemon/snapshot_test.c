/* Tests of alert thumbnails: size and aspect, pixels that survive the
 * shrink, boxes drawn, and the alert queue attaching them only when the
 * switch is on and only to start and update alerts. */
#include "snapshot.h"

#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "testing.h"

/* A 640x360 4:2:0 picture: left half dark, right half bright, grey
 * chroma. */
static AVFrame *picture(void)
{
	AVFrame *f = av_frame_alloc();

	f->format = AV_PIX_FMT_YUV420P;
	f->width = 640;
	f->height = 360;
	if (av_frame_get_buffer(f, 0) < 0)
		abort();
	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			f->data[0][y * f->linesize[0] + x] = x < f->width / 2 ? 40 : 200;
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < f->height / 2; y++)
			memset(f->data[p] + y * f->linesize[p], 128, (size_t)f->width / 2);
	return f;
}

/* Decode a JPEG into a frame (caller frees). */
static AVFrame *decode(const uint8_t *jpeg, size_t size)
{
	const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *dec = avcodec_alloc_context3(c);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	int r;

	avcodec_open2(dec, c, NULL);
	pkt->data = (uint8_t *)jpeg;
	pkt->size = (int)size;
	r = avcodec_send_packet(dec, pkt);
	if (r >= 0)
		r = avcodec_receive_frame(dec, f);
	avcodec_free_context(&dec);
	pkt->data = NULL;
	av_packet_free(&pkt);
	if (r < 0)
		av_frame_free(&f);
	return f;
}

static int luma_at(const AVFrame *f, int x, int y)
{
	return f->data[0][y * f->linesize[0] + x];
}

static void test_size_and_pixels(void)
{
	AVFrame *src = picture(), *t;
	uint8_t *jpeg = NULL;
	size_t size = 0;

	CHECK(snapshot_thumbnail(src, 160, NULL, 0, &jpeg, &size) == 0);
	CHECK(jpeg && size > 100 && size < 20000);
	t = decode(jpeg, size);
	CHECK(t != NULL);
	if (t) {
		CHECK(t->width == 160 && t->height == 90);
		CHECK(abs(luma_at(t, 20, 45) - 40) <= 4);
		CHECK(abs(luma_at(t, 140, 45) - 200) <= 4);
	}
	av_frame_free(&t);
	free(jpeg);
	/* Never scaled up; odd widths made even. */
	CHECK(snapshot_thumbnail(src, 1281, NULL, 0, &jpeg, &size) == 0);
	t = decode(jpeg, size);
	CHECK(t && t->width == 640 && t->height == 360);
	av_frame_free(&t);
	free(jpeg);
	CHECK(snapshot_thumbnail(src, 101, NULL, 0, &jpeg, &size) == 0);
	t = decode(jpeg, size);
	CHECK(t && t->width == 100 && t->height == 56);
	av_frame_free(&t);
	free(jpeg);
	av_frame_free(&src);
}

static void test_box_outlined(void)
{
	AVFrame *src = picture(), *t;
	struct vigil_box box = { .x = 0.1f, .y = 0.2f, .w = 0.2f, .h = 0.5f };
	uint8_t *jpeg = NULL;
	size_t size = 0;

	CHECK(snapshot_thumbnail(src, 320, &box, 1, &jpeg, &size) == 0);
	t = decode(jpeg, size);
	CHECK(t != NULL);
	if (t) {
		/* The box's left edge (x = 32) is drawn over the dark half in
		 * red, whose luma (82) is well above the background (40). */
		CHECK(luma_at(t, 33, 90) > 60);
		CHECK(abs(luma_at(t, 20, 90) - 40) <= 6);
	}
	av_frame_free(&t);
	free(jpeg);
	av_frame_free(&src);
}

static void test_refuses_other_formats(void)
{
	AVFrame *src = picture();
	uint8_t *jpeg = (uint8_t *)"x";
	size_t size = 7;

	src->format = AV_PIX_FMT_NV12;
	CHECK(snapshot_thumbnail(src, 160, NULL, 0, &jpeg, &size) < 0);
	CHECK(jpeg == NULL && size == 0);
	av_frame_free(&src);
}

static void test_queue_attaches_when_asked(void)
{
	struct vigil_camera cam = { .id = "cam1", .name = "n", .district = "d", .grid = "g",
				    .site = "public" };
	AVFrame *src = picture();
	struct alert a = { .cam = &cam, .type = "motion", .phase = "start", .id = "e1",
			   .severity = "low", .ts_us = 1700000000000000LL, .frame = src,
			   .clip_duration = -1, .clip_size = -1 };
	struct alert_queue q;
	struct alert_msg m;

	CHECK(alert_queue_init(&q, 8) == 0);
	/* Off by default. */
	CHECK(alert_queue_push(&q, &a) == 0);
	CHECK(alert_queue_take(&q, &m) == 1 && m.payload && !m.thumb);
	alert_msg_free(&m);
	atomic_store(&q.thumb_width, 160);
	CHECK(alert_queue_push(&q, &a) == 0);
	CHECK(alert_queue_take(&q, &m) == 1 && m.thumb && m.thumb_size > 100);
	CHECK(m.thumb && m.thumb[0] == 0xff && m.thumb[1] == 0xd8);   /* JPEG SOI */
	alert_msg_free(&m);
	/* An end alert is not about the current picture; no frame, none. */
	a.phase = "end";
	CHECK(alert_queue_push(&q, &a) == 0);
	a.phase = "update";
	a.frame = NULL;
	CHECK(alert_queue_push(&q, &a) == 0);
	CHECK(alert_queue_take(&q, &m) == 1 && !m.thumb);
	alert_msg_free(&m);
	CHECK(alert_queue_take(&q, &m) == 1 && !m.thumb);
	alert_msg_free(&m);
	CHECK(alert_queue_take(&q, &m) == 0);
	/* What is left in the queue is freed with it. */
	a.frame = src;
	CHECK(alert_queue_push(&q, &a) == 0);
	alert_queue_destroy(&q);
	av_frame_free(&src);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_size_and_pixels),
		TEST(test_box_outlined),
		TEST(test_refuses_other_formats),
		TEST(test_queue_attaches_when_asked),
		{ NULL, NULL }
	};
	return test_run("snapshot", cases);
}
