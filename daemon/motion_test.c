/* Tests of the motion detector and the luma downscaler on synthetic
 * frames: noise alone and global brightness changes give no boxes; a
 * moving block gives a box where it is. */
#include "motion.h"

#include <stdlib.h>

#include "luma.h"
#include "testing.h"

#define W 320
#define H 180

static unsigned seed = 12345;

/* Textured background plus uniform noise of +-amp; a bright block at
 * (bx, by) of size bw x bh when bw > 0; gain and offset applied last. */
static void make_frame(uint8_t *f, int amp, int bx, int by, int bw, int bh,
		       int gain_pct, int offset)
{
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			int v = 80 + ((x / 8 + y / 8) % 2) * 40 + (x * 7 + y * 3) % 23;
			if (bw > 0 && x >= bx && x < bx + bw && y >= by && y < by + bh)
				v = 230 - (x + y) % 9;
			if (amp)
				v += (int)(rand_r(&seed) % (unsigned)(2 * amp + 1)) - amp;
			v = v * gain_pct / 100 + offset;
			f[y * W + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
}

static struct luma_frame frame_of(uint8_t *data)
{
	struct luma_frame f = { .data = data, .width = W, .height = H, .stride = W };
	return f;
}

static int run_frames(struct motion *m, uint8_t *buf, int n, int amp, int gain_pct,
		      int offset)
{
	struct motion_result r;
	int boxes = 0;

	for (int i = 0; i < n; i++) {
		struct luma_frame f = frame_of(buf);
		make_frame(buf, amp, 0, 0, 0, 0, gain_pct, offset);
		motion_process(m, &f, &r);
		boxes += r.nboxes;
	}
	return boxes;
}

static void test_noise_only(void)
{
	static uint8_t buf[W * H];
	struct motion m;

	CHECK(motion_init(&m, W, H) == 0);
	CHECK(run_frames(&m, buf, 200, 6, 100, 0) == 0);
	motion_free(&m);
}

static void test_brightness_step(void)
{
	static uint8_t buf[W * H];
	struct motion m;

	CHECK(motion_init(&m, W, H) == 0);
	CHECK(run_frames(&m, buf, 50, 4, 100, 0) == 0);
	/* Lights: offset step, then a gain step. */
	CHECK(run_frames(&m, buf, 50, 4, 100, 25) == 0);
	CHECK(run_frames(&m, buf, 50, 4, 125, 0) == 0);
	motion_free(&m);
}

static void test_moving_block(void)
{
	static uint8_t buf[W * H];
	struct motion m;
	struct motion_result r = { 0 };
	int found = 0;

	CHECK(motion_init(&m, W, H) == 0);
	CHECK(run_frames(&m, buf, 30, 4, 100, 0) == 0);
	for (int i = 0; i < 20; i++) {
		struct luma_frame f = frame_of(buf);
		make_frame(buf, 4, 40 + i * 4, 60, 30, 60, 100, 0);
		motion_process(&m, &f, &r);
		found += r.nboxes > 0;
	}
	CHECK(found >= 18);
	CHECK(r.nboxes >= 1);
	/* Last block: x 116..146, y 60..120 of 320x180. */
	CHECK(r.boxes[0].x <= 116.0f / W + 0.02f);
	CHECK(r.boxes[0].x + r.boxes[0].w >= 146.0f / W - 0.02f);
	CHECK(r.boxes[0].y <= 60.0f / H + 0.03f);
	CHECK(r.boxes[0].y + r.boxes[0].h >= 120.0f / H - 0.03f);
	CHECK(r.boxes[0].w < 0.3f);
	motion_free(&m);
}

static void test_small_object_ignored(void)
{
	static uint8_t buf[W * H];
	struct motion m;
	struct motion_result r;
	int found = 0;

	CHECK(motion_init(&m, W, H) == 0);
	CHECK(run_frames(&m, buf, 30, 4, 100, 0) == 0);
	for (int i = 0; i < 20; i++) {
		struct luma_frame f = frame_of(buf);
		make_frame(buf, 4, 40 + i * 3, 60, 4, 4, 100, 0);
		motion_process(&m, &f, &r);
		found += r.nboxes;
	}
	CHECK(found == 0);
	motion_free(&m);
}

static void test_scaler(void)
{
	static uint8_t src[1280 * 720];
	struct luma_scaler s = { 0 };

	for (int y = 0; y < 720; y++)
		for (int x = 0; x < 1280; x++)
			src[y * 1280 + x] = (uint8_t)((x / 4) % 2 ? 200 : 100);
	CHECK(luma_scaler_setup(&s, 1280, 720, 320) == 1);
	CHECK(s.out.width == 320 && s.out.height == 180);
	luma_scale(&s, src, 1280);
	CHECK(s.out.data[0] == 100 && s.out.data[1] == 200);
	CHECK(s.out.data[179 * 320 + 319] == 200);
	CHECK(luma_scaler_setup(&s, 1280, 720, 320) == 0);
	CHECK(luma_scaler_setup(&s, 640, 360, 320) == 1);
	CHECK(s.out.width == 320 && s.out.height == 180);
	luma_scaler_free(&s);
	luma_scaler_free(NULL);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_noise_only),
		TEST(test_brightness_step),
		TEST(test_moving_block),
		TEST(test_small_object_ignored),
		TEST(test_scaler),
		{ NULL, NULL }
	};
	return test_run("motion", cases);
}
