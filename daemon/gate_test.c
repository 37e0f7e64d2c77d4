/* Tests of the gate's statistics: the packet-size floor follows each
 * camera's own noise (a noisy night picture does not open the gate, the
 * same jump on a clean one does); keyframes that show an object open it,
 * noise and a global light change do not, a parked object stops opening
 * it, a frozen picture is reported; the hold and the figures. */
#include "gate.h"

#include <stdlib.h>

#include "testing.h"

#define W 320
#define H 180

/* A deterministic noise source (the tests must not depend on a draw). */
static unsigned rng = 12345;

static int noise(int amp)
{
	rng = rng * 1103515245u + 12345u;
	return (int)((rng >> 16) % (unsigned)(2 * amp + 1)) - amp;
}

/* A textured street with sensor noise, brightness offset light, and a
 * bright w x h box at (x, y) when w > 0. */
static void picture(uint8_t *p, int amp, int light, int x, int y, int w, int h)
{
	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++) {
			int v = 60 + (r * 7 + c * 3) % 90 + light + noise(amp);
			if (w > 0 && c >= x && c < x + w && r >= y && r < y + h)
				v = 230 + noise(amp);
			p[r * W + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
}

static void test_sizes_follow_the_camera_noise(void)
{
	struct gate_sizes day, night;

	gate_sizes_init(&day);
	gate_sizes_init(&night);
	/* Not judged before enough is known. */
	CHECK(!gate_sizes_test(&day, 1000000));
	for (int i = 0; i < 200; i++) {
		gate_sizes_learn(&day, 4000 + noise(200));
		gate_sizes_learn(&night, 12000 + noise(4000));
	}
	CHECK(!gate_sizes_test(&day, 4300));
	CHECK(gate_sizes_test(&day, 9000));
	/* The night camera's floor is high: the same size is its noise. */
	CHECK(!gate_sizes_test(&night, 9000));
	CHECK(!gate_sizes_test(&night, 15000));
	CHECK(gate_sizes_test(&night, 40000));
	CHECK(gate_sizes_threshold(&night) > 2 * gate_sizes_threshold(&day));
}

static void test_sizes_adapt_slowly(void)
{
	struct gate_sizes g;

	gate_sizes_init(&g);
	for (int i = 0; i < GATE_SIZES; i++)
		gate_sizes_learn(&g, 4000 + noise(200));
	/* A few large sizes (learnt by mistake) do not move the floor. */
	for (int i = 0; i < 10; i++)
		gate_sizes_learn(&g, 20000);
	CHECK(gate_sizes_test(&g, 9000));
	/* A lasting change of the floor (dusk) is followed. */
	for (int i = 0; i < GATE_SIZES; i++)
		gate_sizes_learn(&g, 9000 + noise(400));
	CHECK(!gate_sizes_test(&g, 9500));
}

static enum gate_key_verdict key(struct gate_keys *g, uint8_t *p, int amp, int light, int x,
				 int w)
{
	picture(p, amp, light, x, 100, w, w * 2);
	return gate_keys_test(g, p, W, W, H, 1);
}

static void test_keys_object_light_noise(void)
{
	uint8_t *p = malloc(W * H);
	struct gate_keys g;

	rng = 1;
	gate_keys_init(&g);
	for (int i = 0; i < 6; i++) {
		enum gate_key_verdict v = key(&g, p, 12, 0, 0, 0);
		if (v != GATE_KEY_QUIET)
			fprintf(stderr, "keyframe %d: verdict %d, dev %.1f, change %.2f\n", i, v,
				g.last_dev, g.change);
		CHECK(v == GATE_KEY_QUIET);
	}
	/* A global light change is not an object. */
	CHECK(key(&g, p, 12, 20, 0, 0) == GATE_KEY_QUIET);
	CHECK(key(&g, p, 12, 20, 0, 0) == GATE_KEY_QUIET);
	/* A small object far away (8 x 16 px of 320 x 180) is. */
	CHECK(key(&g, p, 12, 20, 40, 8) == GATE_KEY_CHANGED);
	/* Moving on, still. */
	CHECK(key(&g, p, 12, 20, 60, 8) == GATE_KEY_CHANGED);
	/* Once it stays where it is, it stops opening the gate. */
	CHECK(key(&g, p, 12, 20, 60, 8) == GATE_KEY_QUIET);
	CHECK(key(&g, p, 12, 20, 60, 8) == GATE_KEY_QUIET);
	free(p);
}

static void test_keys_frozen(void)
{
	uint8_t *p = malloc(W * H);
	struct gate_keys g;

	gate_keys_init(&g);
	for (int i = 0; i < 5; i++)
		CHECK(key(&g, p, 10, 0, 0, 0) == GATE_KEY_QUIET);
	/* The same picture again, noise and all. */
	CHECK(gate_keys_test(&g, p, W, W, H, 1) == GATE_KEY_FROZEN);
	CHECK(key(&g, p, 10, 0, 0, 0) == GATE_KEY_QUIET);
	free(p);
}

static void test_hold_and_figures(void)
{
	struct gate g = { 0 };
	int64_t t = 1000000000;

	gate_start(&g, 5000000, t);
	CHECK(g.open);
	/* Open while learning, closed after the hold. */
	for (int i = 1; i <= 100; i++) {
		gate_tick(&g, t + i * 100000);
		gate_settle(&g, t + i * 100000);
	}
	CHECK(!g.open);
	t += 10000000;
	CHECK(g.gated_us == 5000000 && g.total_us == 10000000);
	CHECK(gate_activity(&g, t) == 1);
	CHECK(gate_activity(&g, t + 1000000) == 0);
	CHECK(g.openings == 1);
	/* Activity extends the hold. */
	CHECK(!gate_settle(&g, t + 5500000));
	CHECK(gate_settle(&g, t + 6000000));
	/* A gap counts as at most a second. */
	gate_tick(&g, t + 60000000);
	CHECK(g.total_us == 11000000);
	CHECK(gate_catchup_median(&g) == 0);
	gate_caught_up(&g, 300);
	gate_caught_up(&g, 100);
	gate_caught_up(&g, 200);
	CHECK(gate_catchup_median(&g) == 200);
	for (int i = 0; i < 2 * GATE_CATCHUPS; i++)
		gate_caught_up(&g, 50);
	CHECK(gate_catchup_median(&g) == 50);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_sizes_follow_the_camera_noise),
		TEST(test_sizes_adapt_slowly),
		TEST(test_keys_object_light_noise),
		TEST(test_keys_frozen),
		TEST(test_hold_and_figures),
		{ NULL, NULL }
	};
	return test_run("gate", cases);
}
