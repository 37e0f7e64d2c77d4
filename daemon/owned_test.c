/* Tests of the owned-cameras file (cluster mode) and of rendezvous
 * hashing over named members: a file round-trips, a missing one lists
 * nothing, bad lines are skipped; a member leaving moves only its own
 * cameras, spread over the others; capacities weight the shares. */
#include "owned.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_int.h"
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

/* Ready members named names[0..n-1] with the given capacities. */
static void members(struct cl_member *m, const char *const *names, const int *capacity, int n)
{
	memset(m, 0, sizeof(*m) * (size_t)n);
	for (int i = 0; i < n; i++) {
		snprintf(m[i].name, sizeof(m[i].name), "%s", names[i]);
		m[i].ready = 1;
		m[i].capacity = capacity ? capacity[i] : 0;
	}
}

/* The index of the member cluster.c picks for id. */
static int owner_of(const char *id, const struct cl_member *m, int n)
{
	const char *name = cl_owner(m, (size_t)n, id);

	for (int i = 0; i < n; i++)
		if (name == m[i].name)
			return i;
	return -1;
}

static void test_member_leaves(void)
{
	const char *const names[] = { "srv-a", "srv-b", "srv-c", "srv-d" };
	struct cl_member m[4];
	int count[4] = { 0 }, moved = 0;
	char id[32];

	members(m, names, NULL, 4);
	for (int i = 0; i < 1800; i++) {
		snprintf(id, sizeof(id), "cam%04d", i);
		int with = owner_of(id, m, 4), without = owner_of(id, m, 3);
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
	/* A member not ready gets nothing. */
	m[1].ready = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "cam%04d", i);
		CHECK(owner_of(id, m, 4) != 1);
	}
}

/* Capacities 100, 200, 300, 400: shares 1/10 to 4/10, and the member
 * with 400 leaving moves only its own cameras. A member that states no
 * capacity counts as the mean of the others: 100, unstated, 300 split
 * 1/6, 2/6, 3/6 (so in a mixed cluster, a stated member leaving moves
 * some of the others' cameras too: state all or none). */
static void test_capacity_weights(void)
{
	const char *const names[] = { "srv-a", "srv-b", "srv-c", "srv-d" };
	const int cap[] = { 100, 200, 300, 400 }, mixed[] = { 100, 0, 300 };
	struct cl_member m[4];
	int count[4] = { 0 }, moved = 0;
	char id[32];

	members(m, names, cap, 4);
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "cam%04d", i);
		int with = owner_of(id, m, 4), without = owner_of(id, m, 3);
		count[with]++;
		if (with != 3)
			CHECK(with == without);
		else
			moved++;
	}
	CHECK(moved == count[3]);
	for (int k = 0; k < 4; k++)
		CHECK(count[k] > 500 * (k + 1) * 88 / 100 && count[k] < 500 * (k + 1) * 112 / 100);
	members(m, names, mixed, 3);
	memset(count, 0, sizeof(count));
	for (int i = 0; i < 6000; i++) {
		snprintf(id, sizeof(id), "cam%04d", i);
		count[owner_of(id, m, 3)]++;
	}
	for (int k = 0; k < 3; k++)
		CHECK(count[k] > 1000 * (k + 1) * 88 / 100 && count[k] < 1000 * (k + 1) * 112 / 100);
	/* Equal capacities split as no capacities do. */
	const int same[] = { 50, 50, 50, 50 };
	struct cl_member e[4];
	members(e, names, same, 4);
	members(m, names, NULL, 4);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "cam%04d", i);
		CHECK(owner_of(id, e, 4) == owner_of(id, m, 4));
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_round_trip),
		TEST(test_member_leaves),
		TEST(test_capacity_weights),
		{ NULL, NULL }
	};
	return test_run("owned", cases);
}
