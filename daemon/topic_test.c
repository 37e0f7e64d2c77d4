/* Tests of the topic module: every token rule at its boundaries, types
 * with levels, topics built and checked. */
#include "topic.h"

#include <errno.h>
#include <string.h>

#include "testing.h"

static void fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void test_token_lengths(void)
{
	char s[TOPIC_TOKEN_MAX + 2];

	CHECK(!topic_token_ok(""));
	CHECK(!topic_token_chars(""));
	fill(s, 'a', 1);
	CHECK(topic_token_ok(s));
	fill(s, 'a', TOPIC_TOKEN_MAX);
	CHECK(TOPIC_TOKEN_MAX == 32 && topic_token_ok(s));
	fill(s, 'a', TOPIC_TOKEN_MAX + 1);
	CHECK(!topic_token_ok(s));
	/* Too long is not a character problem. */
	CHECK(topic_token_chars(s));
}

/* Letters, digits, '_' and '-' only: every other byte is refused, alone
 * and inside a token. */
static void test_token_characters(void)
{
	for (int c = 1; c < 256; c++) {
		char one[2] = { (char)c, 0 }, mid[4] = { 'a', (char)c, 'b', 0 };
		int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (topic_token_ok(one) != want || topic_token_chars(one) != want ||
		    topic_token_ok(mid) != want || topic_type_ok(mid) != (want || c == '.')) {
			fprintf(stderr, "byte 0x%02x: expected %s\n", c, want ? "ok" : "refused");
			test_failed = 1;
		}
	}
	CHECK(topic_token_ok("Cam-01_x"));
	CHECK(!topic_token_ok("a.b"));
	CHECK(!topic_token_ok("a b"));
	CHECK(!topic_token_ok("caf\xc3\xa9"));
}

static void test_types(void)
{
	char s[TOPIC_TYPE_MAX + 2];

	CHECK(topic_type_ok("motion"));
	CHECK(topic_type_ok("tamper.covered"));
	CHECK(topic_type_ok("a.b.c"));
	CHECK(!topic_type_ok(""));
	CHECK(!topic_type_ok("."));
	CHECK(!topic_type_ok(".motion"));
	CHECK(!topic_type_ok("motion."));
	CHECK(!topic_type_ok("tamper..covered"));
	CHECK(!topic_type_ok("tamper.cov ered"));
	/* Each level is a token: 32 bytes, not 33. */
	memcpy(s, "t.", 2);
	fill(s + 2, 'x', TOPIC_TOKEN_MAX + 1);
	CHECK(!topic_type_ok(s));
	s[2 + TOPIC_TOKEN_MAX] = '\0';
	CHECK(topic_type_ok(s));
	/* The whole type: 64 bytes, not 65. */
	fill(s, 'x', TOPIC_TYPE_MAX);
	s[20] = s[41] = '.';
	CHECK(topic_type_ok(s));
	fill(s, 'x', TOPIC_TYPE_MAX + 1);
	s[20] = s[41] = '.';
	CHECK(!topic_type_ok(s));
}

static void test_format(void)
{
	char buf[TOPIC_MAX], t[TOPIC_TOKEN_MAX + 1], type[TOPIC_TYPE_MAX + 1];

	CHECK(topic_format(buf, sizeof(buf), "critical", "xiangcheng", "g01", "cam01",
			   "tamper.covered") == 0);
	CHECK(strcmp(buf, "alert.critical.xiangcheng.g01.cam01.tamper.covered") == 0);
	CHECK(topic_check(buf, strlen(buf)));
	CHECK(topic_format(buf, sizeof(buf), "high", "a.b", "g", "c", "motion") == -EINVAL);
	CHECK(topic_format(buf, sizeof(buf), "high", "d", "", "c", "motion") == -EINVAL);
	CHECK(topic_format(buf, sizeof(buf), "high", "d", "g", NULL, "motion") == -EINVAL);
	CHECK(topic_format(buf, sizeof(buf), "high", "d", "g", "c", "motion.") == -EINVAL);
	CHECK(topic_format(buf, 10, "high", "d", "g", "c", "motion") == -ENAMETOOLONG);
	/* The longest topic fits TOPIC_MAX. */
	fill(t, 'z', TOPIC_TOKEN_MAX);
	fill(type, 'y', TOPIC_TYPE_MAX);
	type[TOPIC_TOKEN_MAX] = '.';
	CHECK(topic_format(buf, sizeof(buf), t, t, t, t, type) == 0);
	CHECK(strlen(buf) == TOPIC_MAX - 1 && topic_check(buf, strlen(buf)));
}

static void test_check(void)
{
	static const char *const bad[] = {
		"", "alert", "alert.", "hb", "alerts.high.d.g.c.motion", "alert.high.d.g.c",
		"alert.high.d.g.c.", "alert.high.d.g.c.motion.", "alert..d.g.c.motion",
		"alert.high.d.g..motion", "alert.high.d.g.c..motion", "alert.high.d g.g.c.motion",
		"alert.high.d.g.c.mo\ntion", "ALERT.high.d.g.c.motion", " alert.high.d.g.c.motion",
		"alert.high.d.g.c.motion ", "alert.high.d.g.c/motion",
		"alert.high.d.g.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.motion",
		NULL,
	};
	const char nul[] = "alert.high.d.g.c\0.motion";

	CHECK(topic_check("alert.high.d.g.c.motion", 23));
	CHECK(topic_check("alert.high.d.g.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.motion", 54));
	for (int i = 0; bad[i]; i++) {
		if (topic_check(bad[i], strlen(bad[i]))) {
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
			test_failed = 1;
		}
	}
	CHECK(!topic_check(nul, sizeof(nul) - 1));
	/* Only the n bytes given count. */
	CHECK(topic_check("alert.high.d.g.c.motionXYZ", 23));
	CHECK(!topic_check("alert.high.d.g.c.motion", 17));
}

/* Count topics: count.<district>.<grid>.<camera>.<line>, four tokens. */
static void test_count_topics(void)
{
	static const char *const bad[] = {
		"count.d.g.c", "count.d.g.c.", "count.d.g.c.gate.x", "count..g.c.gate",
		"count.d.g.c.ga te", "counts.d.g.c.gate", "count.d.g.c.gate.",
		"count.d.g.c.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char buf[TOPIC_MAX];

	CHECK(topic_format_count(buf, sizeof(buf), "d", "g", "c", "gate") == 0);
	CHECK(strcmp(buf, "count.d.g.c.gate") == 0);
	CHECK(topic_check(buf, strlen(buf)));
	CHECK(topic_format_count(buf, sizeof(buf), "d", "g", "c", "a.b") == -EINVAL);
	CHECK(topic_format_count(buf, sizeof(buf), "d", NULL, "c", "gate") == -EINVAL);
	CHECK(topic_format_count(buf, 8, "d", "g", "c", "gate") == -ENAMETOOLONG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (topic_check(bad[i], strlen(bad[i]))) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_token_lengths),
		TEST(test_token_characters),
		TEST(test_types),
		TEST(test_format),
		TEST(test_check),
		TEST(test_count_topics),
		{ NULL, NULL },
	};
	return test_run("topic", cases);
}
