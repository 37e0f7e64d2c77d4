/* Tests of the owned-cameras file (cluster mode) and of rendezvous
 * hashing over named members: a file round-trips, a missing one lists
 * nothing, bad lines are skipped; a member leaving moves only its own
 * cameras, spread over the others. */
#include "owned.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shard.h"
#include "testing.h"

static void test_round_trip(void)
{
	char path[] = "/tmp/vigil-owned-test-XXXXXX";
	struct owned_camera cams[] = { { "cam01", 17 }, { "cam-02", 1LL << 40 } };
	struct owned_set in = { cams, 2 }, out = { 0 };
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK(owned_write(path, &in) == 0);
	CHECK(owned_read(path, &out) == 0);
	CHECK(out.n == 2);
	CHECK(owned_epoch(&out, "cam01") == 17);
	CHECK(owned_epoch(&out, "cam-02") == 1LL << 40);
	CHECK(owned_epoch(&out, "cam03") == 0);
	/* Junk lines are skipped, good ones kept. */
	FILE *f = fopen(path, "w");
	fputs("cam01 5\nnot a line\ncam02 -3\ncam03\ncam04 9\n", f);
	fclose(f);
	CHECK(owned_read(path, &out) == 0);
	CHECK(out.n == 2 && owned_epoch(&out, "cam01") == 5 && owned_epoch(&out, "cam04") == 9);
	unlink(path);
	CHECK(owned_read(path, &out) == 0 && out.n == 0);
	owned_free(&out);
	owned_free(NULL);
}

/* The owner of id among names[0..n-1] (as cluster.c picks it). */
static int owner_of(const char *id, const char *const *names, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (shard_score_name(id, names[i]) > shard_score_name(id, names[best]))
			best = i;
	return best;
}

static void test_member_leaves(void)
{
	const char *const names[] = { "srv-a", "srv-b", "srv-c", "srv-d" };
	int count[4] = { 0 }, moved = 0;
	char id[32];

	for (int i = 0; i < 1800; i++) {
		snprintf(id, sizeof(id), "cam%04d", i);
		int with = owner_of(id, names, 4), without = owner_of(id, names, 3);
		count[with]++;
		if (with != 3) {
			CHECK(with == without);   /* only srv-d's cameras move */
		} else {
			moved++;
		}
	}
	for (int k = 0; k < 4; k++)
		CHECK(count[k] > 1800 / 4 * 8 / 10 && count[k] < 1800 / 4 * 12 / 10);
	CHECK(moved == count[3]);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_round_trip),
		TEST(test_member_leaves),
		{ NULL, NULL }
	};
	return test_run("owned", cases);
}
