/* Tests of ingest's stream clock and backoff. */
#include "ingest.h"

#include "testing.h"

#define FRAME_US 40000

/* A camera sends a frame every 40 ms; the reader falls behind and takes
 * ten frames in one burst, 400 ms late: each keeps the time it was sent
 * at, not the time it was read. */
static void test_clock_ignores_bursts(void)
{
	struct ingest_clock k = { 0 };
	int64_t sent0 = 1700000000000000, latency = 20000;

	for (int i = 0; i < 25; i++)
		CHECK(ingest_clock_wall(&k, i * FRAME_US, sent0 + i * FRAME_US + latency) ==
		      sent0 + i * FRAME_US + latency);
	int64_t burst_at = sent0 + 35 * FRAME_US + latency;
	for (int i = 25; i < 35; i++) {
		int64_t wall = ingest_clock_wall(&k, i * FRAME_US, burst_at + (i - 25) * 100);
		/* Aged by at most 1 ms a second. */
		CHECK(wall >= sent0 + i * FRAME_US + latency);
		CHECK(wall <= sent0 + i * FRAME_US + latency + 2000);
	}
}

/* A lower offset (a packet that came faster) is taken at once; stream
 * time jumping back (a restart) resets the clock to the new arrival. */
static void test_clock_follows_restarts(void)
{
	struct ingest_clock k = { 0 };
	int64_t t = 5000000000;

	CHECK(ingest_clock_wall(&k, 0, t + 300000) == t + 300000);
	CHECK(ingest_clock_wall(&k, FRAME_US, t + FRAME_US + 10000) == t + FRAME_US + 10000);
	/* 40 ms late: stamped when it was sent (aged by 80 us). */
	int64_t w = ingest_clock_wall(&k, 2 * FRAME_US, t + 2 * FRAME_US + 50000);
	CHECK(w >= t + 2 * FRAME_US + 10000 && w <= t + 2 * FRAME_US + 10100);
	CHECK(ingest_clock_wall(&k, 3000000, t + 3000000 + 10000) <= t + 3000000 + 14000);
	/* The stream starts again from 0, ten seconds on. */
	CHECK(ingest_clock_wall(&k, 0, t + 10000000) == t + 10000000);
	/* A jump of more than 5 s ahead also starts afresh. */
	CHECK(ingest_clock_wall(&k, 60000000, t + 10040000) == t + 10040000);
}

static void test_backoff_doubles_with_jitter(void)
{
	struct ingest_backoff b;
	int64_t want = 1000000;

	ingest_backoff_init(&b, 42);
	for (int i = 0; i < 8; i++) {
		int64_t w = ingest_backoff_next(&b, 0);

		CHECK(w >= want * 8 / 10 && w <= want * 12 / 10);
		want = want * 2 > 30000000 ? 30000000 : want * 2;
	}
	/* A minute of streaming starts again from 1 s, and so does the
	 * next failure; then it doubles again. */
	int64_t w = ingest_backoff_next(&b, 61000000);
	CHECK(w >= 800000 && w <= 1200000);
	w = ingest_backoff_next(&b, 1000);
	CHECK(w >= 800000 && w <= 1200000);
	w = ingest_backoff_next(&b, 1000);
	CHECK(w >= 1600000 && w <= 2400000);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_clock_ignores_bursts),
		TEST(test_clock_follows_restarts),
		TEST(test_backoff_doubles_with_jitter),
		{ NULL, NULL }
	};

	return test_run("ingest", cases);
}
