/* Tests of the event engine: observations become start/update/end alerts
 * per type and zone, with ids, severity from site and zone, zone names,
 * the event's extent on end, and schedules that drop unarmed zones. The
 * alerts are read back from a real alert queue as JSON. */
#include "engine.h"

#include <json-c/json.h>
#include <stdlib.h>

#include "alert_test.h"
#include "testing.h"

#define FRAME_US 40000

static struct vigil_zone_conf zones[2];
static struct vigil_camera cam = {
	.id = "cam1", .name = "cam1", .district = "d", .grid = "g", .site = "public",
	.zones = zones, .nzones = 2,
};

static void setup_zones(void)
{
	char err[64];

	memset(zones, 0, sizeof(zones));
	zones[0].name = "yard";
	zones[0].severity = "critical";
	zones[1].name = "shop";
	/* Armed on no day at all is not expressible; armed 00:00-00:01 only. */
	schedule_parse("daily 00:00-00:01", &zones[1].schedule, err, sizeof(err));
}

/* Pop every queued alert as parsed JSON objects (caller puts them). */
static int drain(struct alert_queue *q, json_object **out, int max)
{
	char *s;
	int n = 0;

	while ((s = alert_queue_pop(q))) {
		if (n < max)
			out[n++] = json_tokener_parse(s);
		free(s);
	}
	return n;
}

static const char *field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static void test_zone_event_phases(void)
{
	static const struct vigil_event_kind kind = { .type = "motion", .start_s = 0.12, .end_s = 2.0 };
	struct vigil_observation o = { .type = "motion", .score = 0.2f, .zone = 0,
				       .nboxes = 1, .boxes = { { 0.1f, 0.2f, 0.1f, 0.3f } } };
	struct alert_queue q;
	struct engine e;
	json_object *a[8];
	/* 12:00 local on some day: the shop zone is not armed then. */
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 2, .tm_hour = 12,
			 .tm_isdst = -1 };
	int64_t t = (int64_t)mktime(&tm) * 1000000;
	int n;

	setup_zones();
	CHECK(alert_queue_init(&q, 16) == 0);
	engine_init(&e, &cam, &q);
	engine_set_fps(&e, 25);
	for (int i = 0; i < 10; i++) {
		o.boxes[0].x = 0.1f + 0.02f * (float)i;
		engine_observe(&e, &o, &kind, t);
		o.zone = 1;     /* the same in the unarmed zone: dropped */
		engine_observe(&e, &o, &kind, t);
		o.zone = 0;
		engine_step(&e, t);
		t += FRAME_US;
	}
	for (int i = 0; i < 60; i++, t += FRAME_US)
		engine_step(&e, t);
	n = drain(&q, a, 8);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(strcmp(field(a[0], "phase"), "start") == 0);
		CHECK(strcmp(field(a[0], "zone"), "yard") == 0);
		CHECK(strcmp(field(a[0], "severity"), "critical") == 0);
		CHECK_STR_CONTAINS(field(a[0], "id"), "cam1-motion-yard-");
		CHECK(strcmp(field(a[1], "phase"), "end") == 0);
		CHECK(strcmp(field(a[1], "id"), field(a[0], "id")) == 0);
		/* The end box spans every box of the event: x 0.1 .. 0.28 + 0.1. */
		json_object *boxes, *b;
		CHECK(json_object_object_get_ex(a[1], "boxes", &boxes));
		b = json_object_array_get_idx(boxes, 0);
		CHECK(b && json_object_get_double(json_object_array_get_idx(b, 0)) < 0.1001);
		CHECK(b && json_object_get_double(json_object_array_get_idx(b, 2)) > 0.279);
	}
	for (int i = 0; i < n; i++)
		json_object_put(a[i]);
	alert_queue_destroy(&q);
}

static void test_site_severity_and_reset(void)
{
	struct vigil_observation o = { .type = "tamper.covered", .zone = -1 };
	struct alert_queue q;
	struct engine e;
	json_object *a[4];
	int64_t t = 1000000;
	int n;

	setup_zones();
	CHECK(alert_queue_init(&q, 16) == 0);
	engine_init(&e, &cam, &q);
	engine_observe(&e, &o, NULL, t);
	engine_step(&e, t);
	engine_reset(&e, t + FRAME_US, "stream lost");
	n = drain(&q, a, 4);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(strcmp(field(a[0], "type"), "tamper.covered") == 0);
		CHECK(strcmp(field(a[0], "severity"), "high") == 0);   /* public site */
		CHECK(field(a[0], "zone") == NULL);
		CHECK(strcmp(field(a[1], "phase"), "end") == 0);
		CHECK(field(a[1], "detail") && strcmp(field(a[1], "detail"), "stream lost") == 0);
	}
	for (int i = 0; i < n; i++)
		json_object_put(a[i]);
	alert_queue_destroy(&q);
}

/* A track made at 25 fps needs 3 frames (0.12 s) to start; the rate
 * then drops to 10 (a stream that repeats its pictures): it starts after
 * 2 frames, and its end gap follows the slower rate too. */
static void test_rate_change_reaches_tracks(void)
{
	static const struct vigil_event_kind kind = { .type = "motion", .start_s = 0.12, .end_s = 0.1 };
	struct vigil_observation o = { .type = "motion", .score = 0.2f, .zone = -1, .nboxes = 1,
				       .boxes = { { 0.1f, 0.2f, 0.1f, 0.3f } } };
	struct alert_queue q;
	struct engine e;
	json_object *a[4];
	int64_t t = 1000000;
	int n;

	setup_zones();
	CHECK(alert_queue_init(&q, 16) == 0);
	engine_init(&e, &cam, &q);
	engine_set_fps(&e, 25);
	engine_observe(&e, &o, &kind, t);   /* the track exists, one frame seen */
	engine_step(&e, t);
	engine_step(&e, t += 40000);        /* and the run is broken */
	CHECK(e.ntracks == 1 && e.tracks[0].ev.start_frames == 3);
	engine_set_fps(&e, 10);
	CHECK(e.tracks[0].ev.start_frames == 2);
	CHECK(e.tracks[0].ev.end_gap_us == 250000);
	for (int i = 0; i < 2; i++) {
		engine_observe(&e, &o, &kind, t += 100000);
		engine_step(&e, t);
	}
	n = drain(&q, a, 4);
	CHECK(n == 1 && strcmp(field(a[0], "phase"), "start") == 0);
	for (int i = 0; i < n; i++)
		json_object_put(a[i]);
	alert_queue_destroy(&q);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_zone_event_phases),
		TEST(test_site_severity_and_reset),
		TEST(test_rate_change_reaches_tracks),
		{ NULL, NULL }
	};
	return test_run("engine", cases);
}
