/* Tests of the tamper plugin (loaded from the build's plugin directory
 * through the host) on synthetic frames: a live normal picture gives
 * nothing; a covered lens, a defocused lens, a camera turned to another
 * view and a frozen picture each give their own type, only after the
 * condition held for the configured time, and stop when the picture is
 * normal again. A picture that changes only a few times a second (the
 * frames between repeating it) is not frozen, and a frozen picture stays
 * frozen through the keyframes that re-code it. */
#include "plugin.h"

#include <limits.h>
#include <stdlib.h>

#include "log.h"
#include "testing.h"

#define W 320
#define H 180
#define FPS 25

enum scene { NORMAL, COVERED, DEFOCUS, MOVED, FROZEN };

static unsigned seed = 4242;
static int64_t frame_no;
static int repeat = 1;       /* a new picture every repeat-th frame */
static int step = 1;         /* frames of the stream per frame analysed */
static int key_every;        /* a keyframe every key_every-th frame (0: none) */

/* The camera's normal view: large shapes with fine texture on them
 * (sensor noise is added per frame). */
static int view(int x, int y)
{
	return 60 + ((x / 40 + y / 30) % 2) * 70 + (x * 7 + y * 3) % 23;
}

/* Another view, as after the camera was turned. */
static int other_view(int x, int y)
{
	return 70 + ((x / 13 + y / 5) % 2) * 50 + (x * 5 + y * 11) % 19;
}

/* The normal view through a defocused lens: a 9x9 box blur. */
static int blurred(int x, int y)
{
	int sum = 0, n = 0;

	for (int dy = -4; dy <= 4; dy++)
		for (int dx = -4; dx <= 4; dx++)
			if (x + dx >= 0 && x + dx < W && y + dy >= 0 && y + dy < H) {
				sum += view(x + dx, y + dy);
				n++;
			}
	return sum / n;
}

static void make_frame(uint8_t *f, enum scene s)
{
	static uint8_t blur[W * H];
	static int have_blur;

	if (s == DEFOCUS && !have_blur) {
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				blur[y * W + x] = (uint8_t)blurred(x, y);
		have_blur = 1;
	}
	if (s == FROZEN)
		return;          /* the same bytes as the frame before */
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			int v = s == COVERED ? 18 : s == MOVED ? other_view(x, y)
				: s == DEFOCUS ? blur[y * W + x] : view(x, y);
			v += (int)(rand_r(&seed) % 9u) - 4;
			f[y * W + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
}

static int start(struct plugin_instance *pi)
{
	static const struct vigil_detector d = { .name = "tamper" };
	static const struct vigil_setup setup = { .camera = "test", .width = W, .height = H,
						  .fps = FPS };
	char dir[PATH_MAX], err[512];
	int r = plugin_instance_init(pi, plugin_default_dir(dir, sizeof(dir)), &d, &setup,
				     err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "%s\n", err);
	frame_no = 0;
	return r;
}

/* What n frames of a scene gave: the frame (counted from the first of
 * them) on which type was first reported, or -1; *other: frames with any
 * other type; *last: type still reported on the last frame. */
struct run {
	int first, other, last;
};

static struct run run(struct plugin_instance *pi, enum scene s, int n, const char *type)
{
	static uint8_t buf[W * H];
	struct run r = { .first = -1 };
	struct vigil_frame f = { .data = buf, .width = W, .height = H, .stride = W };
	struct vigil_observations o;

	for (int i = 0; i < n; i++) {
		int seen = 0, other = 0;

		if (frame_no % repeat == 0 || step > 1)
			make_frame(buf, s);
		f.key = key_every && frame_no % key_every == 0;
		f.pts_us = f.wall_us = 1000000 * frame_no / FPS;
		frame_no += step;
		CHECK(plugin_instance_process(pi, &f, &o) == 0);
		for (int k = 0; k < o.count; k++) {
			CHECK(o.obs[k].zone == -1 && o.obs[k].nboxes == 0);
			CHECK(o.obs[k].score >= 0 && o.obs[k].score <= 1);
			if (type && strcmp(o.obs[k].type, type) == 0)
				seen = 1;
			else
				other = 1;
		}
		if (seen && r.first < 0)
			r.first = i;
		r.other += other;
		r.last = seen;
	}
	return r;
}

static void test_normal_picture_quiet(void)
{
	struct plugin_instance pi;
	struct run r;

	CHECK(start(&pi) == 0);
	r = run(&pi, NORMAL, 20 * FPS, NULL);
	CHECK(r.other == 0);
	plugin_instance_free(&pi);
}

/* The condition is reported once it held for hold (1.5 s; frozen: 2 s
 * since the last frame that differed, the one before the first repeat),
 * measured on every second frame, and no sooner; it ends within the
 * clear time (0.5 s) of the picture coming back. */
static void check_condition(enum scene s, const char *type, double hold_s)
{
	struct plugin_instance pi;
	struct run r;
	int early = s == FROZEN ? 2 : 0;

	CHECK(start(&pi) == 0);
	r = run(&pi, NORMAL, 3 * FPS, NULL);        /* learn (2 s) and settle */
	CHECK(r.other == 0);
	r = run(&pi, s, 5 * FPS, type);
	CHECK(r.first >= (int)(hold_s * FPS) - early && r.first <= (int)(hold_s * FPS) + 3);
	CHECK(r.last == 1);
	CHECK(r.other == 0);
	r = run(&pi, NORMAL, FPS, type);
	CHECK(r.last == 0);
	plugin_instance_free(&pi);
}

static void test_covered(void)
{
	check_condition(COVERED, "tamper.covered", 1.5);
}

static void test_defocus(void)
{
	check_condition(DEFOCUS, "tamper.defocus", 1.5);
}

static void test_moved(void)
{
	check_condition(MOVED, "tamper.moved", 1.5);
}

static void test_frozen(void)
{
	check_condition(FROZEN, "frozen", 2.0);
}

/* 25 frames a second of which only 2.5 differ (a slow shutter, a
 * re-streamer), from the start (learning) or from later: never frozen,
 * for longer than the frozen time many times over. A keyframe every 2 s
 * of such a stream changes nothing either. */
static void test_low_frame_rate_not_frozen(void)
{
	struct plugin_instance pi;
	struct run r;

	for (int from_start = 0; from_start < 2; from_start++) {
		CHECK(start(&pi) == 0);
		if (!from_start) {
			r = run(&pi, NORMAL, 3 * FPS, NULL);
			CHECK(r.other == 0);
		}
		repeat = 10;
		key_every = 2 * FPS;
		r = run(&pi, NORMAL, 20 * FPS, "frozen");
		CHECK(r.first == -1 && r.other == 0);
		/* ... while the same stream frozen is frozen. */
		r = run(&pi, FROZEN, 5 * FPS, "frozen");
		CHECK(r.first >= 0 && r.first <= 2 * FPS + 3 && r.last == 1);
		repeat = 1;
		key_every = 0;
		plugin_instance_free(&pi);
	}
}

/* A frozen picture whose encoder still sends a keyframe every second or
 * two (each differs from the frame before by its coding) is frozen; an
 * intra-only stream (every frame a keyframe) that changes is not. */
static void test_keyframes(void)
{
	struct plugin_instance pi;
	struct run r;

	CHECK(start(&pi) == 0);
	run(&pi, NORMAL, 3 * FPS, NULL);
	r = run(&pi, FROZEN, 2 * FPS + 4, "frozen");
	CHECK(r.last == 1);
	for (int i = 0; i < 3; i++) {
		key_every = 1;
		run(&pi, NORMAL, 1, NULL);            /* a keyframe's coding noise */
		key_every = 0;
		r = run(&pi, FROZEN, FPS, "frozen");
		CHECK(r.first == 0 && r.last == 1);
	}
	key_every = 1;
	r = run(&pi, NORMAL, 5 * FPS, "frozen");
	CHECK(r.last == 0);
	key_every = 0;
	plugin_instance_free(&pi);
}

/* Keyframes only analysed (keyframes mode, or gated while quiet): one
 * frame every 2 s, each a keyframe. Two keyframes of a live picture
 * differ by its noise, which is life: not frozen; two of a frozen
 * picture are alike: frozen. */
static void test_keyframes_only(void)
{
	struct plugin_instance pi;
	struct run r;

	CHECK(start(&pi) == 0);
	step = 2 * FPS;
	key_every = 1;
	r = run(&pi, NORMAL, 60, "frozen");
	CHECK(r.first < 0 && r.other == 0);
	r = run(&pi, FROZEN, 6, "frozen");
	CHECK(r.first >= 1 && r.last == 1);
	r = run(&pi, NORMAL, 4, "frozen");
	CHECK(r.last == 0);
	step = 1;
	key_every = 0;
	plugin_instance_free(&pi);
}

/* Gated mode switches between every frame and keyframes only: a live
 * picture stays live across the switches, whichever frames are seen. */
static void test_gated_switches(void)
{
	struct plugin_instance pi;
	struct run r;

	CHECK(start(&pi) == 0);
	for (int i = 0; i < 4; i++) {
		step = 1;
		key_every = 2 * FPS;
		r = run(&pi, NORMAL, 3 * FPS + i, "frozen");
		CHECK(r.first < 0);
		step = 2 * FPS;
		key_every = 1;
		r = run(&pi, NORMAL, 5, "frozen");
		CHECK(r.first < 0);
	}
	step = 1;
	key_every = 0;
	plugin_instance_free(&pi);
}

/* Options reach the plugin: a shorter hold reports sooner. */
static void test_hold_option(void)
{
	struct vigil_detector_option opt = { .key = "hold", .kind = DETECT_NUMBER, .value = 0.5 };
	struct vigil_detector d = { .name = "tamper", .opts = &opt, .nopts = 1 };
	struct vigil_setup setup = { .camera = "test", .width = W, .height = H, .fps = FPS };
	struct plugin_instance pi;
	char dir[PATH_MAX], err[512];
	struct run r;

	CHECK(plugin_instance_init(&pi, plugin_default_dir(dir, sizeof(dir)), &d, &setup, err,
				   sizeof(err)) == 0);
	frame_no = 0;
	run(&pi, NORMAL, 3 * FPS, NULL);
	r = run(&pi, COVERED, 2 * FPS, "tamper.covered");
	CHECK(r.first >= FPS / 2 && r.first <= FPS / 2 + 3);
	plugin_instance_free(&pi);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_normal_picture_quiet),
		TEST(test_covered),
		TEST(test_defocus),
		TEST(test_moved),
		TEST(test_frozen),
		TEST(test_low_frame_rate_not_frozen),
		TEST(test_keyframes),
		TEST(test_keyframes_only),
		TEST(test_gated_switches),
		TEST(test_hold_option),
		{ NULL, NULL }
	};
	int r;

	log_set_level(LOG_WARNING);
	r = test_run("tamper", cases);
	plugin_registry_close();
	return r;
}
