/* Tests of the retention policy: age, quota, oldest first, never the clip
 * being written. */
#include "retention.h"

#include "testing.h"

#define DAY_US (86400LL * 1000000LL)

static void test_quota_oldest_first(void)
{
	struct retention_clip c[] = {
		{ 100, 10, 0 }, { 200, 10, 0 }, { 300, 10, 0 }, { 400, 10, 0 },
	};
	unsigned char del[4];

	CHECK(retention_pick(c, 4, 500, 0, 15, del) == 2);
	CHECK(del[0] && del[1] && !del[2] && !del[3]);
	CHECK(retention_pick(c, 4, 500, 0, 0, del) == 0);
	CHECK(retention_pick(c, 4, 500, 0, -5, del) == 0);
	CHECK(retention_pick(c, 4, 500, 0, 1000, del) == 4);
}

static void test_never_the_open_clip(void)
{
	struct retention_clip c[] = {
		{ 100, 50, 1 }, { 200, 10, 0 }, { 300, 10, 1 },
	};
	unsigned char del[3];

	/* Far over quota: everything that can go goes, the open ones stay. */
	CHECK(retention_pick(c, 3, 400, 0, 1000, del) == 1);
	CHECK(!del[0] && del[1] && !del[2]);
	/* Too old, but still being written. */
	CHECK(retention_pick(c, 3, 100 + 40 * DAY_US, 30 * DAY_US, 0, del) == 1);
	CHECK(!del[0] && del[1] && !del[2]);
}

static void test_age(void)
{
	int64_t now = 100 * DAY_US;
	struct retention_clip c[] = {
		{ now - 40 * DAY_US, 10, 0 }, { now - 31 * DAY_US, 10, 0 },
		{ now - 29 * DAY_US, 10, 0 }, { now - 1, 10, 0 },
	};
	unsigned char del[4];

	CHECK(retention_pick(c, 4, now, 30 * DAY_US, 0, del) == 2);
	CHECK(del[0] && del[1] && !del[2] && !del[3]);
	/* Age frees 20 bytes of an excess of 25: one more, the oldest left. */
	CHECK(retention_pick(c, 4, now, 30 * DAY_US, 25, del) == 3);
	CHECK(del[0] && del[1] && del[2] && !del[3]);
	/* No age limit. */
	CHECK(retention_pick(c, 4, now, 0, 0, del) == 0);
}

static void test_excess(void)
{
	struct vigil_recording r = { .quota_bytes = 1000 };

	CHECK(retention_excess(&r, "/", 1500) == 500);
	CHECK(retention_excess(&r, "/", 500) == -500);
	r.quota_bytes = 0;
	CHECK(retention_excess(&r, "/", 1500) == 0);
	r.quota_percent = 100;
	CHECK(retention_excess(&r, "/", 0) <= 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_quota_oldest_first),
		TEST(test_never_the_open_clip),
		TEST(test_age),
		TEST(test_excess),
		{ NULL, NULL }
	};
	return test_run("retention", cases);
}
