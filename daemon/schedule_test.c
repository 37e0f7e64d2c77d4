/* Tests of arming schedules: parsing, day ranges, windows across
 * midnight, and errors. Times are built in local time, as the daemon
 * reads schedules. */
#include "schedule.h"

#include <string.h>

#include "testing.h"

/* Local time of a weekday (0 = Sunday) of a fixed week, at h:m. */
static time_t at(int wday, int h, int m)
{
	/* 2026-11-01 was a Sunday. */
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 1 + wday,
			 .tm_hour = h, .tm_min = m, .tm_isdst = -1 };
	return mktime(&tm);
}

static void test_weekday_evening_across_midnight(void)
{
	struct schedule s;
	char err[128];

	CHECK(schedule_parse("mon-fri 20:00-04:00", &s, err, sizeof(err)) == 0);
	CHECK(schedule_armed(&s, at(1, 20, 0)));    /* Monday evening */
	CHECK(schedule_armed(&s, at(2, 3, 59)));    /* Tuesday early */
	CHECK(!schedule_armed(&s, at(2, 4, 0)));
	CHECK(!schedule_armed(&s, at(1, 19, 59)));
	CHECK(!schedule_armed(&s, at(1, 3, 0)));    /* Monday early: Sunday's night */
	CHECK(schedule_armed(&s, at(6, 2, 0)));     /* Saturday early: Friday's night */
	CHECK(!schedule_armed(&s, at(6, 21, 0)));   /* Saturday evening */
}

static void test_lists_and_defaults(void)
{
	struct schedule s;
	char err[128];

	CHECK(schedule_parse("sat,sun 00:00-24:00; 12:00-13:00", &s, err, sizeof(err)) == 0);
	CHECK(s.count == 2);
	CHECK(schedule_armed(&s, at(0, 23, 59)));
	CHECK(schedule_armed(&s, at(3, 12, 30)));   /* daily lunch window */
	CHECK(!schedule_armed(&s, at(3, 14, 0)));
	CHECK(schedule_parse("fri-mon 08:00-09:00", &s, err, sizeof(err)) == 0);
	CHECK(schedule_armed(&s, at(0, 8, 30)) && schedule_armed(&s, at(1, 8, 30)));
	CHECK(!schedule_armed(&s, at(2, 8, 30)));
	CHECK(schedule_armed(NULL, at(2, 8, 30)));
}

static void test_errors(void)
{
	static const char *const bad[] = {
		"", "mon-fry 20:00-04:00", "mon 25:00-04:00", "mon 20:00", "20:00-24:01",
		"mon 24:00-01:00", "mon,, 10:00-11:00", NULL
	};
	struct schedule s;
	char err[128];

	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		CHECK(schedule_parse(bad[i], &s, err, sizeof(err)) < 0);
		CHECK(err[0] != '\0');
	}
	schedule_parse("mon-fri 2000-0400", &s, err, sizeof(err));
	CHECK_STR_CONTAINS(err, "cannot read 'mon-fri 2000-0400'");
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_weekday_evening_across_midnight),
		TEST(test_lists_and_defaults),
		TEST(test_errors),
		{ NULL, NULL }
	};
	return test_run("schedule", cases);
}
