/* Tests of rendezvous hashing: owners are stable and balanced, and going
 * from N to N+1 candidates moves about 1/(N+1) of the ids, all of them to
 * the new candidate. */
#include "shard.h"

#include <stdio.h>

#include "testing.h"

#define IDS 1800

static void id_of(int i, char *buf, size_t len)
{
	snprintf(buf, len, "cam%04d", i);
}

static void test_stable_and_in_range(void)
{
	char id[32];

	CHECK(shard_owner("anything", 1) == 0);
	CHECK(shard_owner("anything", 0) == 0);
	for (int i = 0; i < IDS; i++) {
		id_of(i, id, sizeof(id));
		int o = shard_owner(id, 7);
		CHECK(o >= 0 && o < 7);
		CHECK(o == shard_owner(id, 7));
	}
}

static void test_balanced(void)
{
	int count[4] = { 0 };
	char id[32];

	for (int i = 0; i < IDS; i++) {
		id_of(i, id, sizeof(id));
		count[shard_owner(id, 4)]++;
	}
	/* 450 each on average; allow +-15%. */
	for (int n = 0; n < 4; n++)
		CHECK(count[n] > 382 && count[n] < 518);
}

static void test_growth_moves_one_share(void)
{
	char id[32];

	for (int n = 1; n <= 8; n++) {
		int moved = 0, wrong = 0;
		for (int i = 0; i < IDS; i++) {
			id_of(i, id, sizeof(id));
			int before = shard_owner(id, n), after = shard_owner(id, n + 1);
			if (before != after) {
				moved++;
				wrong += after != n;
			}
		}
		double share = (double)moved / IDS, ideal = 1.0 / (n + 1);
		printf("shard: %d -> %d candidates: %d of %d ids move (%.1f%%, ideal %.1f%%)\n",
		       n, n + 1, moved, IDS, 100 * share, 100 * ideal);
		CHECK(share > ideal * 0.8 && share < ideal * 1.2);
		CHECK(wrong == 0);
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_stable_and_in_range),
		TEST(test_balanced),
		TEST(test_growth_moves_one_share),
		{ NULL, NULL }
	};
	return test_run("shard", cases);
}
