/* Tests of the event engine's hysteresis and phases. */
#include "event.h"

#include "testing.h"

#define FRAME_US 40000

static void test_start_needs_consecutive_frames(void)
{
	struct event_state e;
	int64_t t = 1000000;

	event_init(&e, 3);
	CHECK(event_step(&e, 1, t += FRAME_US, "c") == EVENT_NONE);
	CHECK(event_step(&e, 1, t += FRAME_US, "c") == EVENT_NONE);
	CHECK(event_step(&e, 0, t += FRAME_US, "c") == EVENT_NONE);
	CHECK(event_step(&e, 1, t += FRAME_US, "c") == EVENT_NONE);
	CHECK(event_step(&e, 1, t += FRAME_US, "c") == EVENT_NONE);
	CHECK(event_step(&e, 1, t += FRAME_US, "c") == EVENT_START);
	CHECK(e.first_us == t - 2 * FRAME_US);
	CHECK(strcmp(e.id, "c-1160") == 0);
}

static void test_update_and_end(void)
{
	struct event_state e;
	int64_t t = 0;
	int updates = 0, ends = 0;

	event_init(&e, 1);
	CHECK(event_step(&e, 1, t, "c") == EVENT_START);
	/* 12 s of motion: updates every 5 s at most. */
	for (int i = 0; i < 300; i++) {
		enum event_phase p = event_step(&e, 1, t += FRAME_US, "c");
		updates += p == EVENT_UPDATE;
		CHECK(p != EVENT_START && p != EVENT_END);
	}
	CHECK(updates == 2);
	/* Short gaps do not end the event; 2 s of quiet does. */
	for (int i = 0; i < 40; i++)
		ends += event_step(&e, 0, t += FRAME_US, "c") == EVENT_END;
	CHECK(ends == 0);
	CHECK(event_step(&e, 1, t += FRAME_US, "c") == EVENT_NONE);
	for (int i = 0; i < 60; i++)
		ends += event_step(&e, 0, t += FRAME_US, "c") == EVENT_END;
	CHECK(ends == 1);
	CHECK(!e.active);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_start_needs_consecutive_frames),
		TEST(test_update_and_end),
		{ NULL, NULL }
	};
	return test_run("event", cases);
}
