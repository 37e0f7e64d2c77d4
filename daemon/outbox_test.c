/* Tests of the worker's outbox: keys, acknowledgements in any order,
 * resends after the timeout, and a full outbox. */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "outbox_test.h"
#include "testing.h"

struct sent {
	char keys[16][96];
	int n, refuse;
};

static int record(void *arg, const char *key, const struct alert_msg *m)
{
	struct sent *s = arg;

	(void)m;
	if (s->refuse)
		return -1;
	snprintf(s->keys[s->n++ % 16], 96, "%s", key);
	return 0;
}

static void test_ack_and_resend(void)
{
	struct outbox o;
	struct sent s = { 0 };
	char prefix[64];

	outbox_make_prefix(3, prefix, sizeof(prefix));
	CHECK(strncmp(prefix, "w3-", 3) == 0);
	CHECK(outbox_init(&o, 4, prefix) == 0);
	CHECK(outbox_add(&o, strdup("a")) == 0);
	CHECK(outbox_add(&o, strdup("b")) == 0);
	CHECK(outbox_add(&o, strdup("c")) == 0);
	outbox_send_due(&o, 1000, 500, record, &s);
	CHECK(s.n == 3 && outbox_waiting(&o) == 3);
	CHECK_STR_CONTAINS(s.keys[0], prefix);
	/* Out of order; twice; foreign keys are ignored. */
	CHECK(outbox_ack(&o, s.keys[1]) == 1);
	CHECK(outbox_ack(&o, s.keys[1]) == 0);
	CHECK(outbox_ack(&o, "w9-0000000000000000-1") == 0);
	CHECK(outbox_ack(&o, "garbage") == 0);
	CHECK(outbox_waiting(&o) == 2);
	/* Not yet due, then due: only the unacknowledged go again. */
	outbox_send_due(&o, 1400, 500, record, &s);
	CHECK(s.n == 3);
	outbox_send_due(&o, 1500, 500, record, &s);
	CHECK(s.n == 5 && o.resent == 2);
	CHECK(strcmp(s.keys[3], s.keys[0]) == 0 && strcmp(s.keys[4], s.keys[2]) == 0);
	CHECK(outbox_ack(&o, s.keys[0]) == 1 && outbox_ack(&o, s.keys[2]) == 1);
	CHECK(outbox_waiting(&o) == 0 && o.count == 0);
	outbox_destroy(&o);
	outbox_destroy(NULL);
}

static int keep_not_b(const struct alert_msg *m, void *arg)
{
	(void)arg;
	return strcmp(m->payload, "b") != 0;
}

/* Dropped alerts (a lost cluster claim) are never sent, nor sent again. */
static void test_drop_if(void)
{
	struct outbox o;
	struct sent s = { 0 };

	CHECK(outbox_init(&o, 4, "w0-x-") == 0);
	CHECK(outbox_add(&o, strdup("a")) == 0);
	CHECK(outbox_add(&o, strdup("b")) == 0);
	outbox_send_due(&o, 1000, 500, record, &s);
	CHECK(s.n == 2);
	CHECK(outbox_add(&o, strdup("b")) == 0);
	CHECK(outbox_add(&o, strdup("c")) == 0);
	CHECK(outbox_drop_if(&o, keep_not_b, NULL) == 2);
	CHECK(outbox_waiting(&o) == 2);
	/* c is sent, the new b is not; after the timeout only a again. */
	outbox_send_due(&o, 1100, 500, record, &s);
	CHECK(s.n == 3 && strstr(s.keys[2], "-4"));
	outbox_send_due(&o, 1550, 500, record, &s);
	CHECK(s.n == 4 && strcmp(s.keys[3], s.keys[0]) == 0);
	outbox_destroy(&o);
}

static void test_full_and_refused_send(void)
{
	struct outbox o;
	struct sent s = { .refuse = 1 };

	CHECK(outbox_init(&o, 2, "w0-x-") == 0);
	CHECK(outbox_add(&o, strdup("a")) == 0);
	CHECK(outbox_add(&o, strdup("b")) == 0);
	char *c = strdup("c");
	CHECK(outbox_full(&o) && outbox_add(&o, c) == -ENOBUFS);
	free(c);
	/* A refused send leaves the items for the next round. */
	outbox_send_due(&o, 10, 500, record, &s);
	CHECK(s.n == 0 && o.unsent == 0);
	s.refuse = 0;
	outbox_send_due(&o, 20, -1, record, &s);
	CHECK(s.n == 2 && o.unsent == 2);
	CHECK(outbox_ack(&o, "w0-x-1") == 1 && !outbox_full(&o));
	outbox_destroy(&o);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_ack_and_resend),
		TEST(test_full_and_refused_send),
		TEST(test_drop_if),
		{ NULL, NULL }
	};
	return test_run("outbox", cases);
}
