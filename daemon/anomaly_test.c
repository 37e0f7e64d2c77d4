/* Tests of the tracker, the tripwire geometry and what anomaly.c builds
 * on them: ids that stay with their objects through crossing paths and
 * a short occlusion, crossings counted once by direction, none for an
 * object walking along a line or passing beside its end, loitering
 * after dwell seconds and its end, count messages on their own topic.
 * The alerts are read back from a real alert queue as JSON. */
#include "anomaly.h"

#include <json-c/json.h>
#include <math.h>
#include <unistd.h>
#include <stdlib.h>

#include "alert_test.h"
#include "testing.h"

#define FRAME_US 40000

/* A box of size w x h centred on (cx, cy). */
static struct vigil_box box_at(float cx, float cy, float w, float h)
{
	return (struct vigil_box){ cx - w / 2, cy - h / 2, w, h };
}

static const struct vigil_track *find(const struct tracker *tk, uint32_t id)
{
	for (int i = 0; i < tk->n; i++)
		if (tk->t[i].id == id)
			return &tk->t[i];
	return NULL;
}

/* The track whose box centre is nearest (x, y). */
static uint32_t nearest(const struct tracker *tk, float x, float y)
{
	uint32_t best = 0;
	float d = 1e9f;

	for (int i = 0; i < tk->n; i++) {
		float dx = tk->t[i].box.x + tk->t[i].box.w / 2 - x;
		float dy = tk->t[i].box.y + tk->t[i].box.h / 2 - y;
		if (dx * dx + dy * dy < d) {
			d = dx * dx + dy * dy;
			best = tk->t[i].id;
		}
	}
	return best;
}

/* Two objects walking towards each other along nearly the same row
 * merge into one box while they pass, then part: each keeps its id. */
static void test_tracker_crossing_paths(void)
{
	struct tracker tk;
	uint32_t left = 0, right = 0;
	int64_t t = 1000000;

	tracker_init(&tk, 1.0);
	for (int i = 0; i <= 100; i++, t += FRAME_US) {
		float a = 0.1f + 0.008f * i, b = 0.9f - 0.008f * i;   /* 0.2 a second */
		struct vigil_box boxes[2] = { box_at(a, 0.6f, 0.08f, 0.3f),
					      box_at(b, 0.62f, 0.07f, 0.26f) };
		int n = 2;

		if (a + 0.1f > b && b + 0.1f > a) {
			/* Together: one box covering both. */
			float x0 = a < b ? a - 0.04f : b - 0.04f, x1 = a < b ? b + 0.04f : a + 0.04f;
			boxes[0] = (struct vigil_box){ x0, 0.45f, x1 - x0, 0.31f };
			n = 1;
		}
		tracker_update(&tk, boxes, n, t);
		if (i == 10) {
			left = nearest(&tk, a, 0.6f);
			right = nearest(&tk, b, 0.62f);
			CHECK(tk.n == 2 && left != right);
		}
	}
	/* Parted again: the one now on the right came from the left. */
	CHECK(tk.n == 2);
	CHECK(nearest(&tk, 0.9f, 0.6f) == left);
	CHECK(nearest(&tk, 0.1f, 0.62f) == right);
}

/* An object hidden for 0.8 s comes back with its id, its box predicted
 * along its way meanwhile; one gone for good ends after about 1 s. */
static void test_tracker_occlusion(void)
{
	struct tracker tk;
	int64_t t = 1000000;
	uint32_t id = 0;

	tracker_init(&tk, 1.0);
	for (int i = 0; i < 80; i++, t += FRAME_US) {
		float x = 0.1f + 0.01f * i;
		struct vigil_box b = box_at(x, 0.5f, 0.06f, 0.2f);
		int hidden = i >= 30 && i < 50;

		tracker_update(&tk, &b, hidden ? 0 : 1, t);
		if (i == 29)
			id = tk.t[0].id;
		if (i == 45) {
			/* Predicted at constant velocity: near where it is. */
			CHECK(tk.n == 1 && tk.t[0].hidden == 16);
			CHECK(tk.t[0].box.x + tk.t[0].box.w / 2 > x - 0.03f &&
			      tk.t[0].box.x + tk.t[0].box.w / 2 < x + 0.03f);
		}
	}
	CHECK(tk.n == 1 && tk.t[0].id == id && tk.t[0].hidden == 0);
	for (int i = 0; i < 24; i++, t += FRAME_US)
		tracker_update(&tk, NULL, 0, t);
	CHECK(tk.n == 1);                    /* 0.96 s unseen: coasting */
	for (int i = 0; i < 3; i++, t += FRAME_US)
		tracker_update(&tk, NULL, 0, t);
	CHECK(tk.n == 0);
	CHECK(!find(&tk, id));
}

/* A track does not jump to a small patch that does not overlap it. */
static void test_tracker_size_gate(void)
{
	struct tracker tk;
	struct vigil_box person = box_at(0.5f, 0.5f, 0.1f, 0.35f);
	struct vigil_box patch = box_at(0.58f, 0.72f, 0.05f, 0.05f);

	tracker_init(&tk, 1.0);
	tracker_update(&tk, &person, 1, 1000000);
	tracker_update(&tk, &patch, 1, 1040000);
	CHECK(tk.n == 2 && tk.t[0].id == 1 && tk.t[0].hidden == 1 && tk.t[1].id == 2);
}

static void test_tripwire_geometry(void)
{
	const float down[4] = { 0.5f, 0.2f, 0.5f, 1.0f };    /* a: the right half */
	const float across[4] = { 0.1f, 0.5f, 0.9f, 0.5f };  /* a: above */

	CHECK(tripwire_side(down, 0.7f, 0.5f, 0.03f) == -1);
	CHECK(tripwire_side(down, 0.3f, 0.5f, 0.03f) == 1);
	CHECK(tripwire_side(down, 0.51f, 0.5f, 0.03f) == 0);
	CHECK(tripwire_side(across, 0.5f, 0.3f, 0.03f) == -1);
	CHECK(tripwire_side(across, 0.5f, 0.7f, 0.03f) == 1);
	/* Through the segment, not beside its end. */
	CHECK(tripwire_through(down, 0.3f, 0.5f, 0.7f, 0.5f, 0.01f));
	CHECK(!tripwire_through(down, 0.3f, 0.1f, 0.7f, 0.1f, 0.01f));
	CHECK(tripwire_through(across, 0.88f, 0.3f, 0.9f, 0.7f, 0.03f));
	CHECK(!tripwire_through(across, 0.97f, 0.3f, 0.97f, 0.7f, 0.03f));
	CHECK(!tripwire_through(across, 0.2f, 0.3f, 0.8f, 0.3f, 0.03f));   /* parallel */
}

/* Walk a track's centre from (x0, y) to (x1, y) over frames; returns
 * the crossings as a-b and b-a counts of the line. */
static void walk(struct tripwire *tw, float x0, float x1, float y0, float y1, int frames,
		 float jitter)
{
	struct vigil_track t = { .id = 7, .box = { 0, 0, 0.06f, 0.2f } };
	struct tripwire_crossing c[TRACK_MAX];

	for (int i = 0; i <= frames; i++) {
		float x = x0 + (x1 - x0) * (float)i / (float)frames;
		float y = y0 + (y1 - y0) * (float)i / (float)frames + (i % 2 ? jitter : -jitter);
		t.box.x = x - t.box.w / 2;
		t.box.y = y - t.box.h / 2;
		tripwire_step(tw, &t, 1, 1000000 + (int64_t)i * FRAME_US, c);
	}
}

static void test_tripwire_counts(void)
{
	struct vigil_line_conf gate = { .name = "gate", .points = { 0.5f, 0.2f, 0.5f, 1.0f },
					.direction = LINE_BOTH };
	struct vigil_line_conf kerb = { .name = "kerb", .points = { 0.1f, 0.6f, 0.9f, 0.6f },
					.direction = LINE_BOTH };
	struct tripwire tw;

	tripwire_init(&tw, &gate);
	walk(&tw, 0.1f, 0.9f, 0.6f, 0.6f, 100, 0);        /* left to right: b-a */
	CHECK(tw.total[0] == 0 && tw.total[1] == 1);
	walk(&tw, 0.9f, 0.1f, 0.6f, 0.6f, 100, 0);        /* back: a-b */
	CHECK(tw.total[0] == 1 && tw.total[1] == 1);
	walk(&tw, 0.1f, 0.9f, 0.1f, 0.1f, 100, 0);        /* above its top end */
	CHECK(tw.total[0] == 1 && tw.total[1] == 1);
	/* Along a line, its centre jittering across it: nothing. */
	tripwire_init(&tw, &kerb);
	walk(&tw, 0.05f, 0.95f, 0.6f, 0.6f, 200, 0.02f);
	CHECK(tw.total[0] == 0 && tw.total[1] == 0);
	/* Standing on the line, swaying: nothing; then stepping off: still
	 * nothing (it came from the band, not from the other side). */
	walk(&tw, 0.5f, 0.5f, 0.6f, 0.62f, 100, 0.015f);
	walk(&tw, 0.5f, 0.5f, 0.62f, 0.8f, 20, 0);
	CHECK(tw.total[0] == 0 && tw.total[1] == 0);
	CHECK(tw.count[0] == 0 && tw.count[1] == 0);
}

static struct vigil_zone_conf zones[1];
static struct vigil_line_conf lines[1];
static struct vigil_camera cam = {
	.id = "cam1", .name = "cam1", .district = "d", .grid = "g", .site = "public",
	.zones = zones, .nzones = 1, .lines = lines, .nlines = 1, .count_interval = 10,
};

/* The camera of the tests below: a square with dwell 4 s from x 0.3 to
 * 0.7, a line at x 0.8. */
static void setup_camera(void)
{
	memset(zones, 0, sizeof(zones));
	zones[0].name = "square";
	zones[0].dwell = 4;
	zones[0].z.npoints = 4;
	memcpy(zones[0].z.points, (float[]){ 0.3f, 0, 0.7f, 0, 0.7f, 1, 0.3f, 1 },
	       sizeof(float) * 8);
	lines[0] = (struct vigil_line_conf){ .name = "gate", .points = { 0.8f, 0, 0.8f, 1 },
					     .direction = LINE_BOTH };
}

/* Alerts queued so far: [topic, payload] pairs parsed. */
static int drain(struct alert_queue *q, char **topics, json_object **out, int max)
{
	struct alert_msg m;
	int n = 0;

	while (alert_queue_take(q, &m)) {
		if (n < max) {
			topics[n] = strdup(m.topic);
			out[n++] = json_tokener_parse(m.payload);
		}
		alert_msg_free(&m);
	}
	return n;
}

static const char *field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

/* One object walks slowly into a dwell zone, stays 6 s (dwell 4 s),
 * leaves across a line: loitering start at dwell, end when it leaves,
 * one line.crossed (start and end), one count message after the
 * interval with the crossing in its direction. */
static void test_anomaly_alerts(void)
{
	struct alert_queue q;
	struct engine e;
	struct anomaly an;
	char *topics[32];
	json_object *a[32];
	int64_t t = 1800000000000000LL, t0 = t;
	int n, loiter_start = -1, loiter_end = -1, crossed = -1, count = -1;

	setup_camera();
	CHECK(alert_queue_init(&q, 64) == 0);
	engine_init(&e, &cam, &q);
	anomaly_init(&an, &cam);
	/* 0.2 to 0.9 in 10 s: inside 0.3..0.7 from 1.43 s to 7.14 s. */
	for (int i = 0; i <= 250; i++, t += FRAME_US) {
		struct vigil_box b = box_at(0.2f + 0.7f * (float)i / 250.0f, 0.5f, 0.06f, 0.2f);
		anomaly_frame(&an, &e, &b, 1, t);
	}
	n = drain(&q, topics, a, 32);
	for (int i = 0; i < n; i++) {
		const char *type = field(a[i], "type"), *phase = field(a[i], "phase");
		if (!strcmp(type, "loitering") && !strcmp(phase, "start"))
			loiter_start = i;
		else if (!strcmp(type, "loitering") && !strcmp(phase, "end"))
			loiter_end = i;
		else if (!strcmp(type, "line.crossed") && !strcmp(phase, "start"))
			crossed = i;
		else if (!strcmp(type, "count"))
			count = i;
	}
	CHECK(n == 5);   /* loitering start, end; crossed start, end; a count */
	CHECK(loiter_start >= 0 && loiter_end > loiter_start && crossed > loiter_end);
	CHECK(count >= 0);
	if (loiter_start >= 0 && loiter_end >= 0 && crossed >= 0 && count >= 0) {
		double dwell = atof(field(a[loiter_end], "dwell"));
		CHECK(strcmp(field(a[loiter_start], "zone"), "square") == 0);
		CHECK(strcmp(field(a[loiter_start], "track"), "1") == 0);
		CHECK(dwell > 5.5 && dwell < 6.0);
		CHECK(strcmp(topics[loiter_start], "alert.high.d.g.cam1.loitering") == 0);
		CHECK(strcmp(field(a[crossed], "direction"), "b-a") == 0);
		CHECK(strcmp(field(a[crossed], "line"), "gate") == 0);
		CHECK(strcmp(topics[count], "count.d.g.cam1.gate") == 0);
		CHECK(strcmp(field(a[count], "b_a"), "1") == 0);
		CHECK(strcmp(field(a[count], "a_b"), "0") == 0);
		CHECK(atof(field(a[count], "interval")) == 10);
	}
	CHECK(an.crossed == 1);
	CHECK(t - t0 > 10000000);
	for (int i = 0; i < n; i++) {
		json_object_put(a[i]);
		free(topics[i]);
	}
	alert_queue_destroy(&q);
}

/* Passing through the zone quicker than dwell raises nothing. */
static void test_passing_is_not_loitering(void)
{
	struct alert_queue q;
	struct engine e;
	struct anomaly an;
	char *topics[8];
	json_object *a[8];
	int64_t t = 1800000000000000LL;
	int n;

	setup_camera();
	lines[0].direction = LINE_A_B;        /* counted, not alerted */
	CHECK(alert_queue_init(&q, 16) == 0);
	engine_init(&e, &cam, &q);
	anomaly_init(&an, &cam);
	for (int i = 0; i <= 75; i++, t += FRAME_US) {
		struct vigil_box b = box_at(0.2f + 0.7f * (float)i / 75.0f, 0.5f, 0.06f, 0.2f);
		anomaly_frame(&an, &e, &b, 1, t);
	}
	n = drain(&q, topics, a, 8);
	CHECK(n == 0);
	CHECK(an.lines[0].total[1] == 1);
	for (int i = 0; i < n; i++) {
		json_object_put(a[i]);
		free(topics[i]);
	}
	alert_queue_destroy(&q);
}

/* A piece of an object reported apart (its legs, inside its box) does
 * not loiter on its own: one object, one loitering. */
static void test_piece_does_not_loiter(void)
{
	struct alert_queue q;
	struct engine e;
	struct anomaly an;
	char *topics[16];
	json_object *a[16];
	int64_t t = 1800000000000000LL;
	int n, starts = 0;

	setup_camera();
	CHECK(alert_queue_init(&q, 32) == 0);
	engine_init(&e, &cam, &q);
	anomaly_init(&an, &cam);
	for (int i = 0; i <= 200; i++, t += FRAME_US) {
		float x = 0.35f + 0.2f * (float)i / 200.0f;
		struct vigil_box b[2] = { box_at(x, 0.5f, 0.08f, 0.3f),
					  box_at(x, 0.6f, 0.05f, 0.06f) };
		anomaly_frame(&an, &e, b, i >= 20 ? 2 : 1, t);
	}
	CHECK(an.tracker.n == 2);
	n = drain(&q, topics, a, 16);
	for (int i = 0; i < n; i++) {
		starts += !strcmp(field(a[i], "type"), "loitering") &&
			  !strcmp(field(a[i], "phase"), "start");
		json_object_put(a[i]);
		free(topics[i]);
	}
	CHECK(starts == 1);
	alert_queue_destroy(&q);
}

static void test_poisson_tails(void)
{
	CHECK(activity_tail_high(2, 0) == 1);
	CHECK(fabs(activity_tail_high(2, 1) - (1 - exp(-2))) < 1e-12);
	CHECK(fabs(activity_tail_low(2, 0) - exp(-2)) < 1e-12);
	CHECK(fabs(activity_tail_low(2, 1) - 3 * exp(-2)) < 1e-12);
	/* P(X >= 10 | 2) = 4.6498e-5; P(X <= 0 | 12) = 6.144e-6. */
	CHECK(fabs(activity_tail_high(2, 10) - 4.6498e-5) < 1e-8);
	CHECK(fabs(activity_tail_low(12, 0) - 6.1442e-6) < 1e-9);
	CHECK(fabs(activity_tail_high(12, 5) + activity_tail_low(12, 4) - 1) < 1e-12);
	CHECK(activity_tail_high(0, 1) == 0 && activity_tail_low(0, 0) == 1);
}

/* One 15-minute interval at [start, start + 15 min) with k objects
 * entering (new track ids), in stream time. */
static void interval(struct activity *ac, struct engine *e, int64_t start, int k,
		     uint32_t *next_id)
{
	struct tracker tk;

	tracker_init(&tk, 1.0);
	for (int i = 0; i < k && i < TRACK_MAX; i++) {
		tk.t[i].id = (*next_id)++;
		tk.t[i].box = box_at(0.5f, 0.5f, 0.1f, 0.2f);
	}
	tk.n = k < TRACK_MAX ? k : TRACK_MAX;
	activity_frame(ac, e, &tk, 0, start + 60000000);
	tk.n = 0;
	activity_frame(ac, e, &tk, 0, start + 120000000);
}

/* A fortnight of 11 to 13 objects a quarter of an hour learns every hour
 * of the week; nothing is raised while learning, however unusual; then
 * two quarters of 30 raise activity.high (one alone does not), two
 * empty ones activity.low, each ending with the next ordinary quarter.
 * The learned slots come back from the file. */
static void test_activity_baseline(void)
{
	static struct vigil_camera acam = {
		.id = "cam2", .name = "cam2", .district = "d", .grid = "g", .site = "normal",
		.activity = { .enabled = 1, .learn_days = 14, .tail = 4, .consecutive = 2,
			      .stream_clock = 1 },
	};
	char dir[] = "/tmp/vigil-activity-test-XXXXXX";
	struct alert_queue q;
	struct engine e;
	struct activity *ac = calloc(2, sizeof(*ac));
	char *topics[16];
	json_object *a[16];
	/* Monday 2026-01-05 00:00 UTC. */
	const int64_t day = 86400LL * 1000000, t0 = 1767571200LL * 1000000;
	int64_t t = t0;
	uint32_t id = 1;
	int n;

	CHECK(ac && mkdtemp(dir) != NULL);
	CHECK(activity_slot(t0, 1) == 0 && activity_slot(t0 + day + 3 * 3600000000LL, 1) == 27);
	CHECK(alert_queue_init(&q, 16) == 0);
	engine_init(&e, &acam, &q);
	activity_init(ac, &acam);
	activity_recover(ac, dir);
	for (int i = 0; t < t0 + 14 * day; i++, t += ACTIVITY_INTERVAL_US)
		interval(ac, &e, t, i == 300 || i == 301 ? 40 : 11 + i % 3, &id);
	n = drain(&q, topics, a, 16);
	CHECK(n == 0);                 /* learning: nothing, even the 40s */
	CHECK(ac->z[0].n[0] == 8 && fabs(ac->z[0].sum[0] / 8 - 12) < 1);
	interval(ac, &e, t, 30, &id);
	t += ACTIVITY_INTERVAL_US;
	interval(ac, &e, t, 12, &id);  /* closes the 30: one alone, nothing */
	t += ACTIVITY_INTERVAL_US;
	CHECK(drain(&q, topics, a, 16) == 0);
	interval(ac, &e, t, 30, &id);
	t += ACTIVITY_INTERVAL_US;
	interval(ac, &e, t, 30, &id);
	t += ACTIVITY_INTERVAL_US;
	interval(ac, &e, t, 0, &id);   /* closes the second 30: high */
	t += ACTIVITY_INTERVAL_US;
	interval(ac, &e, t, 0, &id);   /* the first 0 ends it */
	t += ACTIVITY_INTERVAL_US;
	interval(ac, &e, t, 12, &id);  /* the second 0: low */
	t += ACTIVITY_INTERVAL_US;
	interval(ac, &e, t, 12, &id);  /* ordinary: ends it */
	n = drain(&q, topics, a, 16);
	CHECK(n == 4);
	if (n == 4) {
		CHECK(!strcmp(field(a[0], "type"), "activity.high") &&
		      !strcmp(field(a[0], "phase"), "start"));
		CHECK(strstr(field(a[0], "detail"), "30 object(s) in 15 min") != NULL);
		CHECK(!strcmp(field(a[1], "type"), "activity.high") &&
		      !strcmp(field(a[1], "phase"), "end"));
		CHECK(!strcmp(field(a[2], "type"), "activity.low") &&
		      !strcmp(field(a[2], "phase"), "start"));
		CHECK(!strcmp(field(a[3], "type"), "activity.low") &&
		      !strcmp(field(a[3], "phase"), "end"));
		CHECK(!strcmp(topics[0], "alert.medium.d.g.cam2.activity.high"));
	}
	for (int i = 0; i < n; i++) {
		json_object_put(a[i]);
		free(topics[i]);
	}
	/* Restarted: the same slots. */
	activity_init(&ac[1], &acam);
	activity_recover(&ac[1], dir);
	CHECK(!memcmp(ac[1].z[0].n, ac[0].z[0].n, sizeof(ac->z[0].n)));
	for (int s = 0; s < ACTIVITY_SLOTS; s++)
		CHECK(ac[1].z[0].sum[s] == ac[0].z[0].sum[s]);
	CHECK(unlink(ac[1].path) == 0);
	*strrchr(ac[1].path, '/') = '\0';
	CHECK(rmdir(ac[1].path) == 0 && rmdir(dir) == 0);
	free(ac);
	alert_queue_destroy(&q);
}

/* A loitering event open when the worker dies is ended, with reason
 * worker_restart, by the camera's next run; one that ended is not. */
static void test_loitering_open_across_restart(void)
{
	char dir[] = "/tmp/vigil-loiter-test-XXXXXX", cmd[128];
	struct alert_queue q;
	struct engine e;
	struct anomaly an;
	char *topics[16];
	json_object *a[16];
	int64_t t = 1800000000000000LL;
	int n;

	setup_camera();
	CHECK(mkdtemp(dir) != NULL);
	CHECK(alert_queue_init(&q, 32) == 0);
	engine_init(&e, &cam, &q);
	engine_recover(&e, dir);
	anomaly_init(&an, &cam);
	for (int i = 0; i <= 150; i++, t += FRAME_US) {      /* 6 s in the square */
		struct vigil_box b = box_at(0.5f, 0.5f, 0.06f, 0.2f);
		anomaly_frame(&an, &e, &b, 1, t);
	}
	n = drain(&q, topics, a, 16);
	CHECK(n == 1 && !strcmp(field(a[0], "phase"), "start"));
	for (int i = 0; i < n; i++) {
		json_object_put(a[i]);
		free(topics[i]);
	}
	/* The worker died here; the camera starts again. */
	engine_init(&e, &cam, &q);
	engine_recover(&e, dir);
	n = drain(&q, topics, a, 16);
	CHECK(n == 1);
	if (n == 1) {
		CHECK(!strcmp(field(a[0], "type"), "loitering") &&
		      !strcmp(field(a[0], "phase"), "end"));
		CHECK(!strcmp(field(a[0], "reason"), "worker_restart"));
		CHECK(!strcmp(field(a[0], "zone"), "square"));
	}
	for (int i = 0; i < n; i++) {
		json_object_put(a[i]);
		free(topics[i]);
	}
	engine_init(&e, &cam, &q);
	engine_recover(&e, dir);
	CHECK(drain(&q, topics, a, 16) == 0);
	snprintf(cmd, sizeof(cmd), "rm -r -- '%s'", dir);
	CHECK(system(cmd) == 0);
	alert_queue_destroy(&q);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_tracker_crossing_paths),
		TEST(test_tracker_occlusion),
		TEST(test_tracker_size_gate),
		TEST(test_tripwire_geometry),
		TEST(test_tripwire_counts),
		TEST(test_anomaly_alerts),
		TEST(test_passing_is_not_loitering),
		TEST(test_piece_does_not_loiter),
		TEST(test_loitering_open_across_restart),
		TEST(test_poisson_tails),
		TEST(test_activity_baseline),
		{ NULL, NULL }
	};

	return test_run("anomaly", cases);
}
