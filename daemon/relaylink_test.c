/* Tests of the workers' link to the relay: what the relay accepts from a
 * worker, and the numbers it splices into a payload. */
#include "relaylink.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "testing.h"
#include "zmsg.h"

#define GOOD "{\"id\":\"c-1\",\"type\":\"motion\",\"boxes\":[[0.1,0.2,0.3,0.4]],\"zone\":null}"

static int ok(const char *p)
{
	return relaylink_payload_ok(p, strlen(p));
}

static void test_payload_accepted(void)
{
	CHECK(ok(GOOD));
	CHECK(ok("{\"a\":1}"));
	CHECK(ok("{ \"a\" : [ true , false , null , -0.5e+3 , {} , [] ] }"));
	CHECK(ok("{\"name\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb7\","
		 "\"e\":\"\\u00e9\\n\\\"\\\\\\/\"}"));
	/* Keys that only look like the relay's. */
	CHECK(ok("{\"sequence\":1,\"x\":{\"seq\":2,\"epoch\":3,\"instance\":\"i\"}}"));
}

/* {"a":[[...]]}: an object around that many nested arrays. */
static const char *nested(char *buf, int arrays)
{
	int n = sprintf(buf, "{\"a\":");

	for (int i = 0; i < arrays; i++)
		buf[n++] = '[';
	for (int i = 0; i < arrays; i++)
		buf[n++] = ']';
	strcpy(buf + n, "}");
	return buf;
}

static void test_payload_refused(void)
{
	static const char *const bad[] = {
		"", "{", "}", "{}", "[1,2]", "\"s\"", "null", "not json",
		" {\"a\":1}", "{\"a\":1} ", "{\"a\":1}\n", "{\"a\":1}{\"b\":2}",
		"{\"a\":1,}", "{\"a\"1}", "{a:1}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}",
		"{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":NaN}",
		"{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}",
		"{\"a\":\"tab\there\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\xaf\"}",
		"{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}",
		"{\"seq\":1}", "{\"a\":1,\"epoch\":2}", "{\"instance\":\"x\",\"a\":1}",
		NULL,
	};
	char deep[200];

	for (int i = 0; bad[i]; i++) {
		if (ok(bad[i])) {
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
			test_failed = 1;
		}
	}
	/* A NUL inside is refused, whatever follows. */
	CHECK(!relaylink_payload_ok("{\"a\":\"x\0y\"}", 11));
	CHECK(!relaylink_payload_ok("{\"a\":1\0}", 8));
	/* Nesting: 32 levels, not 33. */
	CHECK(ok(nested(deep, 31)));
	CHECK(!ok(nested(deep, 32)));
}

/* The published payload: the worker's bytes, the numbers at the end. */
static void test_stamp(void)
{
	char *out = relaylink_stamp(GOOD, strlen(GOOD), "node-1", 1795899026451LL, 1234);
	json_object *o, *v;

	CHECK(out && strcmp(out, "{\"id\":\"c-1\",\"type\":\"motion\",\"boxes\":[[0.1,0.2,0.3,0.4]],"
			    "\"zone\":null,\"instance\":\"node-1\",\"epoch\":1795899026451,"
			    "\"seq\":1234}") == 0);
	o = out ? json_tokener_parse(out) : NULL;
	CHECK(o && json_object_object_get_ex(o, "seq", &v) && json_object_get_int64(v) == 1234);
	json_object_put(o);
	free(out);
	/* The largest numbers fit. */
	out = relaylink_stamp("{\"a\":1}", 7, "abcdefghijklmnopqrstuvwxyz012345", INT64_MIN,
			      UINT64_MAX);
	CHECK(out && strstr(out, ",\"seq\":18446744073709551615}"));
	free(out);
}

/* A message as the relay's ROUTER gives it: identity first. */
static void make_msg(struct zmsg *m, int n, ...)
{
	va_list ap;

	va_start(ap, n);
	m->n = m->total = n;
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);
		zmq_msg_init_size(&m->f[i], strlen(s));
		memcpy(zmq_msg_data(&m->f[i]), s, strlen(s));
	}
	va_end(ap);
}

static void test_check(void)
{
	struct relaylink_alert a;
	struct zmsg m;
	const char *why;

	make_msg(&m, 4, "id", "w0-1", "alert.high.d.g.c.motion", GOOD);
	CHECK(relaylink_check(&m, &a, &why) == 0 && !why && strcmp(a.key, "w0-1") == 0 &&
	      a.topic_len == 23 && a.payload_len == strlen(GOOD) && !a.thumb);
	zmsg_close(&m);
	make_msg(&m, 5, "id", "w0-1", "alert.high.d.g.c.motion", GOOD, "JPEG");
	CHECK(relaylink_check(&m, &a, &why) == 0 && a.thumb_size == 4);
	zmsg_close(&m);
	/* Refused with the key known: the worker is told to stop resending. */
	make_msg(&m, 4, "id", "w0-2", "alert.high.d.g.c.", GOOD);
	CHECK(relaylink_check(&m, &a, &why) == -EINVAL && strcmp(a.key, "w0-2") == 0);
	CHECK_STR_CONTAINS(why, "topic");
	zmsg_close(&m);
	make_msg(&m, 4, "id", "w0-3", "alert.high.d.g.c.motion", "{\"seq\":1}");
	CHECK(relaylink_check(&m, &a, &why) == -EINVAL && a.key[0]);
	CHECK_STR_CONTAINS(why, "payload");
	zmsg_close(&m);
	/* Refused with no key: nothing to acknowledge. */
	make_msg(&m, 3, "id", "w0-4", GOOD);
	CHECK(relaylink_check(&m, &a, &why) == -EINVAL && !a.key[0]);
	zmsg_close(&m);
	make_msg(&m, 4, "id", "w0 5", "alert.high.d.g.c.motion", GOOD);
	CHECK(relaylink_check(&m, &a, &why) == -EINVAL && !a.key[0]);
	CHECK_STR_CONTAINS(why, "key");
	zmsg_close(&m);
}

/* What relaylink_send() writes is what relaylink_check() accepts. */
static void test_send_then_check(void)
{
	void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER),
	     *dealer = zmq_socket(ctx, ZMQ_DEALER);
	struct alert_msg am = { .topic = "alert.critical.d.g.cam1.tamper.covered",
				.payload = GOOD, .thumb = (uint8_t *)"\xff\xd8", .thumb_size = 2 };
	struct relaylink_alert a;
	struct zmsg m;
	const char *why;

	CHECK(zmq_bind(router, "inproc://relaylink-test") == 0);
	CHECK(zmq_connect(dealer, "inproc://relaylink-test") == 0);
	CHECK(relaylink_send(dealer, "w1-abc-7", &am) == 0);
	CHECK(zmsg_recv(&m, router, 0) == 0);
	CHECK(m.total == 5 && relaylink_check(&m, &a, &why) == 0);
	CHECK(strcmp(a.key, "w1-abc-7") == 0 && a.thumb_size == 2 &&
	      a.payload_len == strlen(GOOD) && memcmp(a.payload, GOOD, a.payload_len) == 0);
	zmsg_close(&m);
	zmq_close(dealer);
	zmq_close(router);
	zmq_ctx_term(ctx);
}

/* A worker's alert, as alert_queue_push() serialises it, is what the
 * relay accepts; a type that cannot be in a topic is refused there. */
static void test_worker_alert_accepted(void)
{
	struct vigil_camera cam = { .id = "cam-7", .name = "Gate \"4\" caf\xc3\xa9",
				    .district = "gusu", .grid = "g11", .site = "public" };
	struct vigil_box box = { 0.1f, 0.2f, 0.3f, 0.4f };
	struct alert a = { .cam = &cam, .type = "tamper.covered", .phase = "end", .id = "cam-7-1",
			   .severity = "high", .ts_us = 1700000000000000LL,
			   .start_us = 1699999990000000LL, .boxes = &box, .nboxes = 1,
			   .zone = "yard", .detail = "line\nbreak", .clip_duration = -1 };
	struct alert_queue q;
	struct alert_msg m;

	CHECK(alert_queue_init(&q, 4) == 0);
	CHECK(alert_queue_push(&q, &a) == 0);
	CHECK(alert_queue_take(&q, &m) == 1);
	CHECK(m.topic && strcmp(m.topic, "alert.high.gusu.g11.cam-7.tamper.covered") == 0);
	CHECK(m.payload && relaylink_payload_ok(m.payload, strlen(m.payload)));
	alert_msg_free(&m);
	a.type = "tamper..covered";
	CHECK(alert_queue_push(&q, &a) == -EINVAL);
	a.type = "motion";
	a.severity = "very high";
	CHECK(alert_queue_push(&q, &a) == -EINVAL);
	CHECK(alert_queue_take(&q, &m) == 0);
	alert_queue_destroy(&q);
}

static void test_endpoint(void)
{
	char buf[64];

	relaylink_endpoint("/var/lib/vigil", buf, sizeof(buf));
	CHECK(strcmp(buf, "ipc:///var/lib/vigil/relay.ipc") == 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_payload_accepted),
		TEST(test_payload_refused),
		TEST(test_stamp),
		TEST(test_check),
		TEST(test_send_then_check),
		TEST(test_worker_alert_accepted),
		TEST(test_endpoint),
		{ NULL, NULL },
	};
	return test_run("relaylink", cases);
}
