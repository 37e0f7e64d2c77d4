/* Tests of the retention policy: age, quota, oldest first, never the clip
 * being written. */
#include "retention.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipdb.h"
#include "log.h"
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

/* One clip in the index and on disk (clip file plus its snapshot). */
static void add_clip(sqlite3 *db, const char *dir, const char *name, int64_t start,
		     int64_t size, const char *state)
{
	struct clipdb_row r = { .start_us = start };
	char file[256];
	FILE *f;

	snprintf(r.camera, sizeof(r.camera), "cam");
	snprintf(r.event_id, sizeof(r.event_id), "%s", name);
	snprintf(r.type, sizeof(r.type), "motion");
	snprintf(r.path, sizeof(r.path), "cam/d/%s.mp4", name);
	CHECK(clipdb_insert(db, &r) == 0);
	CHECK(clipdb_update(db, r.id, start + 1000, size, state) == 0);
	for (int i = 0; i < 2; i++) {
		snprintf(file, sizeof(file), "%s/cam/d/%s.%s", dir, name, i ? "jpg" : "mp4");
		f = fopen(file, "w");
		CHECK(f != NULL);
		if (f)
			fclose(f);
	}
}

static int clip_exists(const char *dir, const char *name)
{
	char file[256];

	snprintf(file, sizeof(file), "%s/cam/d/%s.mp4", dir, name);
	return access(file, F_OK) == 0;
}

/* The policy applied to a real index and real files: over quota, the
 * oldest finished clips and their snapshots go; the open one stays. */
static void test_run_on_index(void)
{
	char dir[] = "/tmp/vigil-retention-test-XXXXXX", path[256], cmd[300];
	struct vigil_recording conf = { .quota_bytes = 250 };
	sqlite3 *db;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/cam", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cam/d", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/clips.db", dir);
	CHECK(clipdb_open(&db, path, 0) == 0);
	add_clip(db, dir, "open", 100, 100, CLIPDB_RECORDING);   /* oldest, still open */
	add_clip(db, dir, "a", 200, 100, CLIPDB_COMPLETE);
	add_clip(db, dir, "b", 300, 100, CLIPDB_TRUNCATED);
	add_clip(db, dir, "c", 400, 100, CLIPDB_COMPLETE);
	/* 400 bytes, quota 250: two clips must go, a then b. */
	CHECK(retention_run(db, dir, &conf, 1000) == 2);
	CHECK(clip_exists(dir, "open"));
	CHECK(!clip_exists(dir, "a") && !clip_exists(dir, "b"));
	CHECK(clip_exists(dir, "c"));
	snprintf(path, sizeof(path), "%s/cam/d/a.jpg", dir);
	CHECK(access(path, F_OK) < 0);
	/* Under quota now: nothing more. */
	CHECK(retention_run(db, dir, &conf, 1000) == 0);
	/* By age: c is older than a day at now = 2 days; open is never. */
	conf.quota_bytes = 0;
	conf.retention_days = 1;
	CHECK(retention_run(db, dir, &conf, 2 * DAY_US) == 1);
	CHECK(clip_exists(dir, "open") && !clip_exists(dir, "c"));
	clipdb_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_quota_oldest_first),
		TEST(test_never_the_open_clip),
		TEST(test_age),
		TEST(test_excess),
		TEST(test_run_on_index),
		{ NULL, NULL }
	};
	log_init("test");
	return test_run("retention", cases);
}
