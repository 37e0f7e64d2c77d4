/* A tiny test harness for the *_test.c files beside each module.
 *
 * A test is a function; CHECK records a failure with file and line and
 * goes on. test_run() runs a table of tests and prints one line per test
 * and a closing "N passed, N failed" line; it returns the exit status. */
#ifndef VIGIL_TESTING_H
#define VIGIL_TESTING_H

#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

static int test_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		test_failed = 1; \
	} \
} while (0)

#define CHECK_STR_CONTAINS(hay, needle) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (!h_ || !strstr(h_, n_)) { \
		fprintf(stderr, "%s:%d: expected '%s' in:\n%s\n", __FILE__, __LINE__, \
			n_, h_ ? h_ : "(null)"); \
		test_failed = 1; \
	} \
} while (0)

#define TEST(fn) { #fn, fn }

static inline int test_run(const char *suite, const struct test_case *cases)
{
	int passed = 0, failed = 0;

	for (const struct test_case *t = cases; t->name; t++) {
		test_failed = 0;
		t->fn();
		printf("%s %s.%s\n", test_failed ? "FAIL" : "ok  ", suite, t->name);
		if (test_failed)
			failed++;
		else
			passed++;
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed ? 1 : 0;
}

#endif
