/* Unit tests of the console's pieces that need no network: time
 * parsing, districts, the event hub's filtering and limits, and the
 * store's once-only alerts and first-wins acknowledgements. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../daemon/testing.h"
#include "http.h"
#include "tail.h"

static void test_parse_time(void)
{
	char buf[40];

	CHECK(parse_time("1970-01-01T00:00:00Z") == 0);
	CHECK(parse_time("2026-12-05T01:02:03.456Z") == 1796432523456000LL);
	CHECK(parse_time("2026-12-05T01:02:03Z") == 1796432523000000LL);
	CHECK(parse_time("2026-12-05") == 1796428800000000LL);
	CHECK(parse_time("1796432523456000") == 1796432523456000LL);
	CHECK(parse_time("yesterday") == -1);
	CHECK(parse_time("2026-13-01") == -1);
	CHECK(parse_time("2026-12-05T01:02:03Zjunk") == -1);
	CHECK(parse_time("-5") == -1);
	CHECK(parse_time("0226-12-05") == -1);          /* before 1970 (found by fuzzing) */
	CHECK(parse_time("") == -1);
	CHECK(parse_time(NULL) == -1);
	CHECK(strcmp(iso_time(1796432523456789LL, buf, sizeof(buf)), "2026-12-05T01:02:03.456Z") == 0);
	CHECK(parse_time(iso_time(1796432523456000LL, buf, sizeof(buf))) == 1796432523456000LL);
}

static void test_districts(void)
{
	struct user u = { .name = "op" };
	char err[128];

	CHECK(user_parse_districts(&u, "north,south-2,a_b", err, sizeof(err)) == 0);
	CHECK(u.ndistricts == 3 && strcmp(u.districts[1], "south-2") == 0);
	CHECK(user_may_see(&u, "north") && user_may_see(&u, "a_b"));
	CHECK(!user_may_see(&u, "east") && !user_may_see(&u, NULL) && !user_may_see(&u, ""));
	CHECK(!user_may_see(&u, "nort"));
	u.supervisor = 1;
	CHECK(user_may_see(&u, "east") && user_may_see(&u, NULL));
	CHECK(user_parse_districts(&u, "a,,b", err, sizeof(err)) == -EINVAL);
	CHECK(user_parse_districts(&u, "a,", err, sizeof(err)) == -EINVAL);
	CHECK(user_parse_districts(&u, "a b", err, sizeof(err)) == -EINVAL);
	CHECK(user_parse_districts(&u, "", err, sizeof(err)) == 0 && u.ndistricts == 0);
	CHECK(name_ok("srv-a") && !name_ok("") && !name_ok("../x") && !name_ok("a.b"));
}

static void test_hub_filters_and_limits(void)
{
	struct hub *h = hub_new(4);
	struct user north = { .name = "n", .ndistricts = 1 }, sup = { .name = "s", .supervisor = 1 };
	uint64_t pn = 0, ps = 0;
	char buf[4096];
	long n;

	snprintf(north.districts[0], sizeof(north.districts[0]), "north");
	hub_push(h, "alert", "south", "{\"d\":\"south\"}");
	hub_push(h, "alert", "north", "{\"d\":\"north\"}");
	n = hub_read(h, &north, &pn, buf, sizeof(buf), 0);
	CHECK(n > 0 && pn == 2);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STR_CONTAINS(buf, "event: alert\ndata: {\"d\":\"north\"}\n\n");
	CHECK(!strstr(buf, "south"));
	n = hub_read(h, &sup, &ps, buf, sizeof(buf), 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "south") && strstr(buf, "north"));
	/* Nothing new: a timeout. */
	CHECK(hub_read(h, &north, &pn, buf, sizeof(buf), 10) == 0);
	/* Only other districts' events: still nothing, position advances. */
	hub_push(h, "ack", "south", "{}");
	CHECK(hub_read(h, &north, &pn, buf, sizeof(buf), 10) == 0 && pn == 3);
	/* A reader a whole ring behind is told so. */
	for (int i = 0; i < 6; i++)
		hub_push(h, "alert", "north", "{}");
	CHECK(hub_read(h, &north, &pn, buf, sizeof(buf), 0) == -1);
	/* A small buffer takes what fits and leaves the rest. */
	ps = hub_head(h) - 3;
	n = hub_read(h, &sup, &ps, buf, 150, 0);
	CHECK(n > 0 && ps < hub_head(h));
	hub_stop(h);
	CHECK(hub_read(h, &sup, &ps, buf, sizeof(buf), 1000) == -1);
	hub_free(h);
}

static json_object *alert(int seq, const char *id, const char *district, const char *phase)
{
	char text[512];

	snprintf(text, sizeof(text), "{\"id\":\"%s\",\"phase\":\"%s\",\"type\":\"motion\","
		 "\"severity\":\"critical\",\"camera\":\"c1\",\"district\":\"%s\",\"grid\":\"g\","
		 "\"site\":\"key\",\"ts\":\"2026-12-05T01:00:0%d.000Z\",\"clip\":\"c1/%s.mp4\","
		 "\"instance\":\"i\",\"epoch\":7,\"seq\":%d}", id, phase, district, seq, id, seq);
	return json_tokener_parse(text);
}

/* Remove a test store (c.db and its WAL files) and its directory. */
static void remove_store(const char *dir)
{
	static const char *const files[] = { "c.db", "c.db-wal", "c.db-shm" };
	char path[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void test_store_once_and_ack(void)
{
	char dir[] = "/tmp/console-test-XXXXXX", path[128], district[40], *view = NULL;
	struct console_config cfg = { .targets = { 60, 180, 600 } };
	struct user north = { .name = "n", .ndistricts = 1 }, sup = { .name = "s", .supervisor = 1 };
	struct alert_query q = { .from = -1, .to = -1, .limit = 10 };
	struct tail_cursor *cur = NULL;
	json_object *a, *ack = NULL, *list;
	struct store st;
	int ncur = 0;

	snprintf(north.districts[0], sizeof(north.districts[0]), "north");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/c.db", dir);
	CHECK(store_open(&st, path, &cfg) == 0);
	for (int seq = 1; seq <= 3; seq++) {
		a = alert(seq, seq < 3 ? "e1" : "e2", seq < 3 ? "north" : "south",
			  seq == 1 ? "start" : "end");
		CHECK(store_alert(&st, "srv", a, json_object_to_json_string(a), &view, district,
				  sizeof(district)) == 1);
		CHECK(view && strstr(view, "\"key\":\"i\\/e") && strstr(view, "\"node\":\"srv\""));
		free(view);
		/* The same (instance, epoch, seq) again: stored once. */
		CHECK(store_alert(&st, "srv", a, json_object_to_json_string(a), &view, district,
				  sizeof(district)) == 0 && view == NULL);
		json_object_put(a);
	}
	list = store_alerts(&st, &north, &q);
	CHECK(list && json_object_array_length(json_object_object_get(list, "alerts")) == 2);
	a = json_object_array_get_idx(json_object_object_get(list, "alerts"), 0);
	CHECK(jint(a, "seq", 0) == 2);          /* newest first */
	CHECK(strcmp(jstr(a, "due"), "2026-12-05T01:01:01.000Z") == 0);   /* start + 60 s */
	json_object_put(list);
	CHECK(store_media_visible(&st, &north, "srv", "c1/e1.mp4"));
	CHECK(!store_media_visible(&st, &north, "srv", "c1/e2.mp4"));
	CHECK(!store_media_visible(&st, &north, "other", "c1/e1.mp4"));
	CHECK(store_ack(&st, &north, "i/e2", NULL, &ack, district, sizeof(district)) == -ENOENT);
	CHECK(store_ack(&st, &north, "i/e1", "ok", &ack, district, sizeof(district)) == 0);
	CHECK(ack && strcmp(jstr(ack, "user"), "n") == 0 && strcmp(district, "north") == 0);
	json_object_put(ack);
	CHECK(store_ack(&st, &sup, "i/e1", "again", &ack, district, sizeof(district)) == -EEXIST);
	CHECK(ack && strcmp(jstr(ack, "user"), "n") == 0 && strcmp(jstr(ack, "note"), "ok") == 0);
	json_object_put(ack);
	q.unacked = 1;
	list = store_alerts(&st, &sup, &q);
	CHECK(json_object_array_length(json_object_object_get(list, "alerts")) == 1);
	json_object_put(list);
	CHECK(store_positions(&st, &cur, &ncur) == 0 && ncur == 1 && cur[0].seq == 3 &&
	      cur[0].epoch == 7);
	free(cur);
	store_close(&st);
	remove_store(dir);
}

/* Ten key-site events that started 5, 15, ... 95 s ago, acknowledged
 * now: median 45 s, p90 85 s, 6 of 10 within the 60 s target. */
static void test_response_stats(void)
{
	char dir[] = "/tmp/console-test-XXXXXX", path[128], district[40], ts[40], text[512];
	struct console_config cfg = { .targets = { 60, 180, 600 } };
	struct user sup = { .name = "s", .supervisor = 1 };
	json_object *a, *ack, *stats, *key;
	char *view;
	struct store st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/c.db", dir);
	CHECK(store_open(&st, path, &cfg) == 0);
	for (int i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "{\"id\":\"e%d\",\"phase\":\"start\",\"district\":\"d\","
			 "\"site\":\"key\",\"ts\":\"%s\",\"instance\":\"i\",\"epoch\":1,\"seq\":%d}",
			 i, iso_time(now_us() - (int64_t)i * 10000000 + 5000000, ts, sizeof(ts)), i);
		a = json_tokener_parse(text);
		CHECK(store_alert(&st, "srv", a, text, &view, district, sizeof(district)) == 1);
		free(view);
		json_object_put(a);
		snprintf(text, sizeof(text), "i/e%d", i);
		CHECK(store_ack(&st, &sup, text, NULL, &ack, district, sizeof(district)) == 0);
		json_object_put(ack);
	}
	stats = store_stats(&st, &sup);
	key = json_object_object_get(json_object_object_get(stats, "week"), "key");
	CHECK(jint(key, "n", 0) == 10);
	CHECK(fabs(json_object_get_double(json_object_object_get(key, "median_s")) - 45) < 1);
	CHECK(fabs(json_object_get_double(json_object_object_get(key, "p90_s")) - 85) < 1);
	CHECK(fabs(json_object_get_double(json_object_object_get(key, "within_target")) - 0.6) < 1e-9);
	CHECK(json_object_object_get(json_object_object_get(json_object_object_get(stats, "week"),
							    "public"), "median_s") == NULL);
	json_object_put(stats);
	store_close(&st);
	remove_store(dir);
}

static void test_throttle(void)
{
	struct throttle *t = throttle_new();
	double d = 0;

	CHECK(throttle_wait(t, "ann", "10.0.0.1") == 0);
	/* A name: free tries, then a growing wait. */
	for (int i = 0; i < 2; i++)
		d = throttle_note(t, "ann", "10.0.0.1", 0);
	CHECK(d > 0.3 && d < 0.5);
	CHECK(throttle_wait(t, "ann", "10.0.0.2") == 0);
	throttle_note(t, "ann", "10.0.0.1", 0);
	CHECK(throttle_wait(t, "ann", "10.0.0.2") > 0.9);       /* the name waits 1 s */
	CHECK(throttle_wait(t, "bob", "10.0.0.1") == 0);        /* the address not yet */
	throttle_note(t, "ann", "10.0.0.1", 0);
	CHECK(throttle_wait(t, "ann", "10.0.0.3") > 1.9);       /* then 2 s */
	/* An address: ten names wrong in a row. */
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "u%d", i);
		throttle_note(t, name, "10.0.0.1", 0);
	}
	CHECK(throttle_wait(t, "carl", "10.0.0.1") > 0.9);
	CHECK(throttle_wait(t, "carl", "10.0.0.9") == 0);
	/* A good login clears both. */
	throttle_note(t, "ann", "10.0.0.1", 1);
	CHECK(throttle_wait(t, "ann", "10.0.0.1") == 0);
	throttle_free(t);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_parse_time),
		TEST(test_districts),
		TEST(test_hub_filters_and_limits),
		TEST(test_store_once_and_ack),
		TEST(test_response_stats),
		TEST(test_throttle),
		{ NULL, NULL }
	};
	return test_run("console", cases);
}
