/* Tests of the plugin host with the real motion plugin (loaded from the
 * build's plugin directory) on synthetic frames: noise alone, global
 * brightness changes and headlights sweeping the picture give nothing; a
 * moving block gives a box where it is, with or without headlights, and
 * is still found a while after it stopped; zones and masks decide where
 * motion counts; the host refuses unknown plugins with a clear message.
 * Also the luma downscaler. */
#include "plugin.h"

#include <errno.h>
#include <limits.h>
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

static int64_t frame_no;

/* Run one frame through the plugin; returns the observation count. */
static int feed(struct plugin_instance *pi, uint8_t *buf, struct vigil_observations *o)
{
	struct vigil_frame f = { .data = buf, .width = W, .height = H, .stride = W };

	f.pts_us = f.wall_us = 40000 * frame_no++;
	CHECK(plugin_instance_process(pi, &f, o) == 0);
	return o->count;
}

static int start_motion(struct plugin_instance *pi, const struct vigil_zone *zones,
			int nzones, const struct vigil_zone *masks, int nmasks)
{
	static const struct vigil_detector d = { .name = "motion" };
	struct vigil_setup setup = {
		.camera = "test", .width = W, .height = H, .fps = 25,
		.zones = zones, .nzones = nzones, .masks = masks, .nmasks = nmasks,
	};
	char dir[PATH_MAX], err[256];
	int r = plugin_instance_init(pi, plugin_default_dir(dir, sizeof(dir)), &d, &setup,
				     err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "%s\n", err);
	return r;
}

static int run_frames(struct plugin_instance *pi, uint8_t *buf, int n, int amp,
		      int gain_pct, int offset)
{
	struct vigil_observations o;
	int found = 0;

	for (int i = 0; i < n; i++) {
		make_frame(buf, amp, 0, 0, 0, 0, gain_pct, offset);
		found += feed(pi, buf, &o);
	}
	return found;
}

static void test_noise_only(void)
{
	static uint8_t buf[W * H];
	struct plugin_instance pi;

	CHECK(start_motion(&pi, NULL, 0, NULL, 0) == 0);
	CHECK(run_frames(&pi, buf, 200, 6, 100, 0) == 0);
	plugin_instance_free(&pi);
}

static void test_brightness_step(void)
{
	static uint8_t buf[W * H];
	struct plugin_instance pi;

	CHECK(start_motion(&pi, NULL, 0, NULL, 0) == 0);
	CHECK(run_frames(&pi, buf, 50, 4, 100, 0) == 0);
	/* Lights: offset step, then a gain step. */
	CHECK(run_frames(&pi, buf, 50, 4, 100, 25) == 0);
	CHECK(run_frames(&pi, buf, 50, 4, 125, 0) == 0);
	plugin_instance_free(&pi);
}

/* A block moving right; returns frames with motion, last in o. */
static int move_block(struct plugin_instance *pi, int x0, int step, int size,
		      struct vigil_observations *o)
{
	static uint8_t buf[W * H];
	int found = 0;

	run_frames(pi, buf, 30, 4, 100, 0);
	for (int i = 0; i < 20; i++) {
		make_frame(buf, 4, x0 + i * step, 60, size, size * 2, 100, 0);
		found += feed(pi, buf, o) > 0;
	}
	return found;
}

static void test_moving_block(void)
{
	struct plugin_instance pi;
	struct vigil_observations o;

	CHECK(start_motion(&pi, NULL, 0, NULL, 0) == 0);
	CHECK(move_block(&pi, 40, 4, 30, &o) >= 18);
	CHECK(o.count == 1);
	CHECK(o.obs[0].nboxes >= 1 && o.obs[0].zone == -1);
	CHECK(strcmp(o.obs[0].type, "motion") == 0);
	/* Last block: x 116..146, y 60..120 of 320x180. */
	CHECK(o.obs[0].boxes[0].x <= 116.0f / W + 0.02f);
	CHECK(o.obs[0].boxes[0].x + o.obs[0].boxes[0].w >= 146.0f / W - 0.02f);
	CHECK(o.obs[0].boxes[0].y <= 60.0f / H + 0.03f);
	CHECK(o.obs[0].boxes[0].y + o.obs[0].boxes[0].h >= 120.0f / H - 0.03f);
	CHECK(o.obs[0].boxes[0].w < 0.3f);
	plugin_instance_free(&pi);
}

/* Headlights: a soft patch of light centred at (cx, cy), half-axes rx
 * and ry, multiplying the picture by 1 + gain_pct / 100 in its middle and
 * by 1 on its rim, as light falling on a surface does. */
static void light_patch(uint8_t *f, int cx, int cy, int rx, int ry, int gain_pct)
{
	for (int y = cy - ry; y <= cy + ry; y++) {
		for (int x = cx - rx; x <= cx + rx; x++) {
			double u = (double)(x - cx) / rx, v = (double)(y - cy) / ry;
			double in = 1.0 - u * u - v * v;
			int val;

			if (x < 0 || y < 0 || x >= W || y >= H || in <= 0)
				continue;
			val = (int)(f[y * W + x] * (1.0 + gain_pct / 100.0 * in * in) + 0.5);
			f[y * W + x] = (uint8_t)(val > 255 ? 255 : val);
		}
	}
}

/* A flat block of value v (plus the same noise as the background). */
static void flat_block(uint8_t *f, int bx, int by, int bw, int bh, int v)
{
	for (int y = by < 0 ? 0 : by; y < by + bh && y < H; y++)
		for (int x = bx < 0 ? 0 : bx; x < bx + bw && x < W; x++)
			f[y * W + x] = (uint8_t)(v + (int)(rand_r(&seed) % 9u) - 4);
}

/* The background with a 30x60 block at (x, 60), kind 0: none, 1:
 * textured, 2: flat and dark; lit: in the middle of a headlight patch. */
static void block_frame(uint8_t *buf, int x, int kind, int lit)
{
	make_frame(buf, 4, x, 60, kind == 1 ? 30 : 0, 60, 100, 0);
	if (kind == 2)
		flat_block(buf, x, 60, 30, 60, 40);
	if (lit)
		light_patch(buf, x + 15, 90, 50, 36, 70);
}

/* Frames with motion while the block enters on the left and crosses the
 * background 4 px a frame, its headlight patch moving with it when lit.
 * Counted from the frame the block is all in on (52 frames); without a
 * block, every frame (60). */
static int crossing(struct plugin_instance *pi, int kind, int lit)
{
	static uint8_t buf[W * H];
	struct vigil_observations o;
	int found = 0;

	run_frames(pi, buf, 30, 4, 100, 0);
	for (int i = 0; i < 60; i++) {
		int x = 4 * i - 30;

		block_frame(buf, x, kind, lit);
		found += feed(pi, buf, &o) > 0 && (x >= 0 || kind == 0);
	}
	return found;
}

static void test_headlights(void)
{
	struct plugin_instance pi;

	/* The light alone: the background's texture, brighter. */
	CHECK(start_motion(&pi, NULL, 0, NULL, 0) == 0);
	CHECK(crossing(&pi, 0, 1) == 0);
	plugin_instance_free(&pi);
	/* Objects replace the texture, lit or not, textured or flat: found
	 * on every frame. */
	for (int kind = 1; kind <= 2; kind++) {
		for (int lit = 0; lit <= 1; lit++) {
			CHECK(start_motion(&pi, NULL, 0, NULL, 0) == 0);
			CHECK(crossing(&pi, kind, lit) == 52);
			plugin_instance_free(&pi);
		}
	}
}

/* An object that stops is learnt into the background only slowly; by
 * then it correlates with the background a little, but it is no light:
 * still found 8 s after it stopped, textured or flat. */
static void test_stopped_object(void)
{
	static uint8_t buf[W * H];
	struct plugin_instance pi;
	struct vigil_observations o;

	for (int kind = 1; kind <= 2; kind++) {
		int found = 0;

		CHECK(start_motion(&pi, NULL, 0, NULL, 0) == 0);
		run_frames(&pi, buf, 30, 4, 100, 0);
		/* In as in crossing() (22 frames all in), then still 200. */
		for (int i = 0; i < 30 + 200; i++) {
			int x = i < 30 ? 4 * i - 30 : 86;

			block_frame(buf, x, kind, 0);
			found += feed(&pi, buf, &o) > 0 && x >= 0;
		}
		CHECK(found == 22 + 200);
		plugin_instance_free(&pi);
	}
}

static void test_small_object_ignored(void)
{
	struct plugin_instance pi;
	struct vigil_observations o;

	CHECK(start_motion(&pi, NULL, 0, NULL, 0) == 0);
	CHECK(move_block(&pi, 40, 3, 4, &o) == 0);
	plugin_instance_free(&pi);
}

static const struct vigil_zone right_half = {
	.name = "right", .npoints = 4,
	.points = { 0.5f, 0, 1, 0, 1, 1, 0.5f, 1 },
	.sensitivity = 0.5, .min_size = 1,
};

static void test_zone_decides(void)
{
	struct plugin_instance pi;
	struct vigil_observations o;

	/* Left of the zone: nothing. */
	CHECK(start_motion(&pi, &right_half, 1, NULL, 0) == 0);
	CHECK(move_block(&pi, 10, 3, 30, &o) == 0);
	plugin_instance_free(&pi);
	/* Inside it: zone 0. */
	CHECK(start_motion(&pi, &right_half, 1, NULL, 0) == 0);
	CHECK(move_block(&pi, 180, 3, 30, &o) >= 18);
	CHECK(o.count == 1 && o.obs[0].zone == 0);
	plugin_instance_free(&pi);
}

static void test_mask_hides(void)
{
	struct plugin_instance pi;
	struct vigil_observations o;

	CHECK(start_motion(&pi, NULL, 0, &right_half, 1) == 0);
	CHECK(move_block(&pi, 180, 3, 30, &o) == 0);
	plugin_instance_free(&pi);
}

static void test_unknown_plugin(void)
{
	char err[512];

	CHECK(plugin_get("/nonexistent", "nosuch", err, sizeof(err)) == NULL);
	CHECK_STR_CONTAINS(err, "cannot load detector 'nosuch'");
	CHECK(plugin_get("/nonexistent", "../x", err, sizeof(err)) == NULL);
	CHECK_STR_CONTAINS(err, "may only contain a-z, 0-9 and '_'");
	plugin_instance_free(NULL);
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

/* The vector path gives exactly what the plain C path gives, for every
 * factor it handles and widths that leave a remainder, on noise that
 * reaches both ends of the range. */
static void test_scaler_paths_agree(void)
{
	static uint8_t src[1283 * 731];
	static const int sizes[][3] = {
		{ 1280, 720, 320 }, { 640, 360, 320 }, { 2560, 720, 320 },
		{ 1283, 731, 320 }, { 1000, 700, 320 }, { 1280, 720, 100 },
		{ 346, 200, 320 }, { 1283, 731, 160 },
	};
	uint32_t seed = 12345;

	for (size_t i = 0; i < sizeof(src); i++) {
		seed = seed * 1103515245u + 12345u;
		src[i] = (uint8_t)(i % 7 == 0 ? 255 : i % 11 == 0 ? 0 : seed >> 24);
	}
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct luma_scaler v = { 0 }, c = { 0 };
		int w = sizes[k][0], h = sizes[k][1], stride = w;

		if (w == 2560)
			h = (int)(sizeof(src) / 2560);
		CHECK(luma_scaler_setup(&v, w, h, sizes[k][2]) == 1);
		CHECK(luma_scaler_setup(&c, w, h, sizes[k][2]) == 1);
		c.scalar = 1;
		luma_scale(&v, src, stride);
		luma_scale(&c, src, stride);
		CHECK(v.out.width == c.out.width && v.out.height == c.out.height);
		CHECK(memcmp(v.out.data, c.out.data,
			     (size_t)v.out.width * (size_t)v.out.height) == 0);
		luma_scaler_free(&v);
		luma_scaler_free(&c);
	}
}

/* Downscaling band by band while a picture is decoded gives the bytes the
 * whole-frame path gives, for any band height (the H.264 decoder's 16
 * rows, and heights that split blocks); and bands are used only for the
 * picture they came from, whole and in order. */
static void test_scaler_bands(void)
{
	static uint8_t src[1283 * 731], pic[1283 * 731];
	static const int sizes[][3] = {
		{ 1280, 720, 320 }, { 1920, 480, 320 }, { 1283, 731, 320 },
		{ 1000, 700, 320 }, { 346, 200, 320 }, { 1283, 731, 160 },
	};
	static const int bands[] = { 16, 1, 7, 37, 2000 };
	uint32_t seed = 777;

	for (size_t i = 0; i < sizeof(src); i++) {
		seed = seed * 1103515245u + 12345u;
		src[i] = (uint8_t)(seed >> 24);
	}
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (size_t b = 0; b < sizeof(bands) / sizeof(bands[0]); b++) {
			struct luma_scaler whole = { 0 }, band = { 0 };
			int w = sizes[k][0], h = sizes[k][1];

			CHECK(luma_scaler_setup(&whole, w, h, sizes[k][2]) == 1);
			CHECK(luma_scaler_setup(&band, w, h, sizes[k][2]) == 1);
			luma_scale(&whole, src, w);
			/* "Decode" into a picture band by band: a row read
			 * before its band came would still be blank. */
			memset(pic, 0, sizeof(pic));
			for (int y = 0; y < h; y += bands[b]) {
				int n = y + bands[b] <= h ? bands[b] : h - y;

				memcpy(pic + (size_t)y * (size_t)w, src + (size_t)y * (size_t)w,
				       (size_t)n * (size_t)w);
				luma_scale_band(&band, pic, w, y, n);
			}
			CHECK(luma_band_take(&band, pic, w) == 1);
			CHECK(memcmp(whole.out.data, band.out.data,
				     (size_t)whole.out.width * (size_t)whole.out.height) == 0);
			/* Taken once: the next frame needs bands of its own. */
			CHECK(luma_band_take(&band, pic, w) == 0);
			luma_scaler_free(&whole);
			luma_scaler_free(&band);
		}
	}

	struct luma_scaler s = { 0 };
	CHECK(luma_scaler_setup(&s, 1280, 720, 320) == 1);
	/* Not all rows yet. */
	luma_scale_band(&s, src, 1280, 0, 16);
	CHECK(luma_band_take(&s, src, 1280) == 0);
	/* Another picture's plane, or another stride. */
	for (int y = 0; y < 720; y += 16)
		luma_scale_band(&s, src, 1280, y, 16);
	CHECK(luma_band_take(&s, src + 1, 1280) == 0);
	for (int y = 0; y < 720; y += 16)
		luma_scale_band(&s, src, 1280, y, 16);
	CHECK(luma_band_take(&s, src, 1344) == 0);
	/* A band missing in the middle. */
	for (int y = 0; y < 720; y += 16)
		if (y != 320)
			luma_scale_band(&s, src, 1280, y, 16);
	CHECK(luma_band_take(&s, src, 1280) == 0);
	/* A band from another picture in between. */
	for (int y = 0; y < 720; y += 16)
		luma_scale_band(&s, y == 160 ? src + 64 : src, 1280, y, 16);
	CHECK(luma_band_take(&s, src, 1280) == 0);
	/* A new geometry forgets the bands of the old one. */
	for (int y = 0; y < 720; y += 16)
		luma_scale_band(&s, src, 1280, y, 16);
	CHECK(luma_scaler_setup(&s, 640, 360, 320) == 1);
	CHECK(luma_band_take(&s, src, 1280) == 0);
	luma_scaler_free(&s);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_noise_only),
		TEST(test_brightness_step),
		TEST(test_moving_block),
		TEST(test_headlights),
		TEST(test_stopped_object),
		TEST(test_small_object_ignored),
		TEST(test_zone_decides),
		TEST(test_mask_hides),
		TEST(test_unknown_plugin),
		TEST(test_scaler),
		TEST(test_scaler_paths_agree),
		TEST(test_scaler_bands),
		{ NULL, NULL }
	};
	return test_run("plugin", cases);
}
