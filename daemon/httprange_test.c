/* Tests of the Range parser: the three forms, clamping, what is
 * unsatisfiable (416) and what is ignored (200 with the whole file). */
#include "httprange.h"

#include "testing.h"

static int range(const char *h, int64_t size, int64_t *start, int64_t *len)
{
	*start = *len = -7;
	return httprange_parse(h, size, start, len);
}

static void test_forms(void)
{
	int64_t s, n;

	CHECK(range("bytes=0-99", 1000, &s, &n) == HTTPRANGE_PARTIAL && s == 0 && n == 100);
	CHECK(range("bytes=100-", 1000, &s, &n) == HTTPRANGE_PARTIAL && s == 100 && n == 900);
	CHECK(range("bytes=-10", 1000, &s, &n) == HTTPRANGE_PARTIAL && s == 990 && n == 10);
	CHECK(range("bytes=999-999", 1000, &s, &n) == HTTPRANGE_PARTIAL && s == 999 && n == 1);
	CHECK(range(" Bytes=5-6 ", 1000, &s, &n) == HTTPRANGE_PARTIAL && s == 5 && n == 2);
}

static void test_clamped(void)
{
	int64_t s, n;

	/* Past the end: up to the end. */
	CHECK(range("bytes=500-5000", 1000, &s, &n) == HTTPRANGE_PARTIAL && s == 500 && n == 500);
	/* A suffix longer than the file: all of it. */
	CHECK(range("bytes=-5000", 1000, &s, &n) == HTTPRANGE_PARTIAL && s == 0 && n == 1000);
}

static void test_unsatisfiable(void)
{
	int64_t s, n;

	CHECK(range("bytes=1000-", 1000, &s, &n) == HTTPRANGE_UNSATISFIABLE);
	CHECK(range("bytes=1000-2000", 1000, &s, &n) == HTTPRANGE_UNSATISFIABLE);
	CHECK(range("bytes=-0", 1000, &s, &n) == HTTPRANGE_UNSATISFIABLE);
	CHECK(range("bytes=0-", 0, &s, &n) == HTTPRANGE_UNSATISFIABLE);
	CHECK(range("bytes=-5", 0, &s, &n) == HTTPRANGE_UNSATISFIABLE);
	/* Nothing written out when refused. */
	CHECK(s == -7 && n == -7);
}

static void test_ignored(void)
{
	static const char *const bad[] = {
		"", "bytes", "bytes=", "bytes=-", "bytes=5", "bytes=a-b", "bytes=9-5",
		"items=0-5", "bytes=0-5,10-20", "bytes=0-5 x", "bytes=--5", "bytes=+1-2",
		"bytes=99999999999999999999999-", "bytes=-99999999999999999999999",
		"bytes=1-99999999999999999999999", NULL
	};
	int64_t s, n;

	CHECK(range(NULL, 1000, &s, &n) == HTTPRANGE_NONE);
	for (int i = 0; bad[i]; i++) {
		int r = range(bad[i], 1000, &s, &n);
		if (r != HTTPRANGE_NONE)
			fprintf(stderr, "'%s' gave %d\n", bad[i], r);
		CHECK(r == HTTPRANGE_NONE);
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_forms),
		TEST(test_clamped),
		TEST(test_unsatisfiable),
		TEST(test_ignored),
		{ NULL, NULL }
	};
	return test_run("httprange", cases);
}
