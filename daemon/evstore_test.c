/* Tests of the open-event store: what is saved and not removed comes
 * back once, whole; a removed event, a half-written file and a file that
 * is not an event do not. */
#include "evstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "testing.h"

struct seen {
	int n;
	struct evstore_event ev[4];
};

static void collect(void *arg, const struct evstore_event *ev)
{
	struct seen *s = arg;

	if (s->n < 4)
		s->ev[s->n] = *ev;
	s->n++;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_round_trip(void)
{
	char dir[] = "/tmp/evstore_test.XXXXXX", path[256], cmd[300];
	struct evstore st;
	struct seen seen = { 0 };
	struct evstore_event a = {
		.id = "c1-motion-door/1-1700000000000", .type = "motion", .zone = "door/1",
		.severity = "high", .clip = "c1/2023-11-14/a.mp4", .start_us = 1700000000000000,
	}, b = { .id = "c1-tamper.covered-1", .type = "tamper.covered", .severity = "low",
		 .start_us = 5 };

	CHECK(mkdtemp(dir) != NULL);
	evstore_init(&st, dir, "c1");
	evstore_save(&st, &a);
	evstore_save(&st, &b);
	evstore_remove(&st, b.id);
	/* A save cut short, and a file that is not an event. */
	snprintf(path, sizeof(path), "%s/events/c1/.x.tmp", dir);
	write_file(path, "id half\n");
	snprintf(path, sizeof(path), "%s/events/c1/junk", dir);
	write_file(path, "id junk\ntype motion\n");

	CHECK(evstore_drain(&st, collect, &seen) == 1);
	CHECK(seen.n == 1);
	CHECK(strcmp(seen.ev[0].id, a.id) == 0 && strcmp(seen.ev[0].type, "motion") == 0);
	CHECK(strcmp(seen.ev[0].zone, "door/1") == 0 && strcmp(seen.ev[0].severity, "high") == 0);
	CHECK(strcmp(seen.ev[0].clip, a.clip) == 0 && seen.ev[0].start_us == a.start_us);
	/* Drained: nothing comes back a second time. */
	seen.n = 0;
	CHECK(evstore_drain(&st, collect, &seen) == 0 && seen.n == 0);
	snprintf(path, sizeof(path), "%s/events/c1", dir);
	CHECK(rmdir(path) == 0);   /* empty */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

static void test_disabled(void)
{
	struct evstore st;
	struct seen seen = { 0 };
	struct evstore_event a = { .id = "x", .type = "motion", .severity = "low", .start_us = 1 };

	evstore_init(&st, NULL, "c1");
	evstore_save(&st, &a);
	evstore_remove(&st, a.id);
	CHECK(evstore_drain(&st, collect, &seen) == 0 && seen.n == 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_round_trip),
		TEST(test_disabled),
		{ NULL, NULL }
	};
	log_init("test");
	return test_run("evstore", cases);
}
