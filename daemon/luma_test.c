/* Tests of the repeat test (luma_repeat): an exact or refined repeat is
 * one, a new noisy picture or an object that moved is not, and the SIMD
 * path counts as the plain one on widths that leave a tail. */
#include "luma.h"

#include <stdlib.h>

#include "testing.h"

#define W 330   /* not a multiple of 16: the tail goes through plain C */
#define H 180

static uint8_t pic[W * H], ref[W * H];

static struct luma_frame frame(void)
{
	struct luma_frame f = { .data = pic, .width = W, .height = H, .stride = W };
	return f;
}

/* A textured picture, and ref a copy of it. */
static void scene(void)
{
	for (int i = 0; i < W * H; i++)
		pic[i] = (uint8_t)(60 + (i * 7 + i / W * 13) % 120);
	memcpy(ref, pic, sizeof(pic));
}

static void test_exact_and_refined(void)
{
	struct luma_frame f = frame();

	scene();
	CHECK(luma_repeat(&f, ref));
	/* A few blocks refined by a few levels, a handful by more. */
	for (int i = 0; i < W * H; i += 97)
		pic[i] = (uint8_t)(pic[i] + 3);
	for (int i = 0; i < 20; i++)
		pic[i * 911] = (uint8_t)(pic[i * 911] + 12);
	CHECK(luma_repeat(&f, ref));
}

static void test_new_picture(void)
{
	struct luma_frame f = frame();
	unsigned seed = 1;

	/* Sensor noise of a level or two everywhere. */
	scene();
	for (int i = 0; i < W * H; i++)
		pic[i] = (uint8_t)(pic[i] + rand_r(&seed) % 5 - 2);
	CHECK(!luma_repeat(&f, ref));
}

static void test_object_moved(void)
{
	struct luma_frame f = frame();

	/* A person-sized dark figure (10 x 27 analysis pixels) two pixels
	 * further on, in a picture with no noise at all: the mean hardly
	 * moves, its outline does. */
	scene();
	for (int y = 100; y < 127; y++) {
		for (int x = 150; x < 160; x++)
			ref[y * W + x] = 20;
		for (int x = 152; x < 162; x++)
			pic[y * W + x] = 20;
	}
	CHECK(!luma_repeat(&f, ref));
}

static void test_tail_counted(void)
{
	struct luma_frame f = frame();

	/* Changes only in the last columns, which the SIMD loop leaves to C. */
	scene();
	for (int y = 0; y < H; y++)
		pic[y * W + W - 1] = (uint8_t)(pic[y * W + W - 1] + 40);
	CHECK(!luma_repeat(&f, ref));
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_exact_and_refined),
		TEST(test_new_picture),
		TEST(test_object_moved),
		TEST(test_tail_counted),
		{ NULL, NULL }
	};
	return test_run("luma", cases);
}
