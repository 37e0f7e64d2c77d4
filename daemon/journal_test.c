/* Tests of the alert journal: numbering, batches, keys, reading back,
 * and what survives closing and reopening. */
#include "journal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal_test.h"
#include "testing.h"

struct collected {
	uint64_t seqs[16];
	int n;
};

static int collect(void *arg, uint64_t seq, const char *topic, const char *payload)
{
	struct collected *c = arg;

	(void)payload;
	CHECK(topic[0] == 't');
	c->seqs[c->n++] = seq;
	return c->n == 16;
}

static void temp_path(char *buf, size_t len)
{
	char dir[] = "/tmp/vigil-journal-test-XXXXXX";

	if (!mkdtemp(dir))
		abort();
	snprintf(buf, len, "%s/journal.db", dir);
}

/* Remove the journal, its WAL files and its directory. */
static void temp_remove(const char *path)
{
	char buf[160];

	unlink(path);
	snprintf(buf, sizeof(buf), "%s-wal", path);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s-shm", path);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s", path);
	*strrchr(buf, '/') = '\0';
	rmdir(buf);
}

static void test_batches_and_keys(void)
{
	char path[128], err[256];
	struct journal *j;
	struct collected c = { 0 };
	uint64_t seq = 0, last;
	int64_t epoch;

	temp_path(path, sizeof(path));
	CHECK(journal_open(&j, path, err, sizeof(err)) == 0);
	epoch = journal_epoch(j);
	CHECK(epoch > 0 && journal_newest(j) == 0);
	CHECK(journal_append(j, "k1", "t1", "{}") == 0);
	CHECK(journal_append(j, "k2", "t2", "{}") == 0);
	CHECK(journal_pending(j) == 2 && journal_committed(j) == 0);
	/* Uncommitted alerts are found by key but not read back. */
	CHECK(journal_find_key(j, "k2", &seq) == 1 && seq == 2);
	CHECK(journal_read(j, 0, 10, collect, &c, &last) == 0);
	CHECK(journal_append(j, "k1", "t1", "{}") == -EEXIST);
	CHECK(journal_commit(j) == 0);
	CHECK(journal_committed(j) == 2 && journal_next_seq(j) == 3);
	CHECK(journal_read(j, 0, 10, collect, &c, &last) == 2 && last == 2);
	CHECK(c.n == 2 && c.seqs[0] == 1 && c.seqs[1] == 2);
	CHECK(journal_find_key(j, "nope", &seq) == 0);
	journal_close(j);

	/* Reopened: same epoch, numbering goes on. */
	CHECK(journal_open(&j, path, err, sizeof(err)) == 0);
	CHECK(journal_epoch(j) == epoch && journal_newest(j) == 2);
	CHECK(journal_find_key(j, "k1", &seq) == 1 && seq == 1);
	CHECK(journal_append(j, "k3", "t3", "{}") == 0 && journal_newest(j) == 3);
	journal_close(j);   /* without commit: k3 is gone, seq 3 free again */
	CHECK(journal_open(&j, path, err, sizeof(err)) == 0);
	CHECK(journal_newest(j) == 2 && journal_find_key(j, "k3", &seq) == 0);
	journal_close(j);

	/* Lost journal: a new epoch. */
	unlink(path);
	CHECK(journal_open(&j, path, err, sizeof(err)) == 0);
	CHECK(journal_epoch(j) != epoch && journal_newest(j) == 0);
	journal_close(j);
	temp_remove(path);
}

static void test_read_limit(void)
{
	char path[128], err[256], key[16];
	struct journal *j;
	struct collected c = { 0 };
	uint64_t last;

	temp_path(path, sizeof(path));
	CHECK(journal_open(&j, path, err, sizeof(err)) == 0);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK(journal_append(j, key, "t", "{}") == 0);
	}
	CHECK(journal_commit(j) == 0);
	CHECK(journal_read(j, 10, 5, collect, &c, &last) == 5 && last == 15);
	c.n = 0;
	/* The callback stops the read at 16 rows. */
	CHECK(journal_read(j, 0, 100, collect, &c, &last) == 16 && last == 16);
	journal_close(j);
	temp_remove(path);
}

static void test_prune_keeps_the_newest(void)
{
	char path[128], err[256];
	struct journal *j;
	uint64_t seq;

	temp_path(path, sizeof(path));
	CHECK(journal_open(&j, path, err, sizeof(err)) == 0);
	CHECK(journal_append(j, "a", "t", "{}") == 0);
	CHECK(journal_prune(j, INT64_MAX) == -EBUSY);
	CHECK(journal_append(j, "b", "t", "{}") == 0);
	CHECK(journal_append(j, "c", "t", "{}") == 0);
	CHECK(journal_commit(j) == 0);
	CHECK(journal_oldest(j) == 1);
	CHECK(journal_prune(j, 0) == 0);
	/* Everything is older than "the far future", but the newest stays
	 * so that numbering goes on after a restart. */
	CHECK(journal_prune(j, INT64_MAX) == 2);
	CHECK(journal_oldest(j) == 3 && journal_find_key(j, "a", &seq) == 0);
	journal_close(j);
	CHECK(journal_open(&j, path, err, sizeof(err)) == 0);
	CHECK(journal_next_seq(j) == 4);
	journal_close(j);
	temp_remove(path);
}

static void test_unusable_path(void)
{
	struct journal *j = (struct journal *)1;
	char err[256] = "";

	CHECK(journal_open(&j, "/nonexistent/dir/journal.db", err, sizeof(err)) < 0);
	CHECK(j == NULL);
	CHECK_STR_CONTAINS(err, "/nonexistent/dir/journal.db");
	journal_close(NULL);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_batches_and_keys),
		TEST(test_read_limit),
		TEST(test_prune_keeps_the_newest),
		TEST(test_unusable_path),
		{ NULL, NULL }
	};
	return test_run("journal", cases);
}
