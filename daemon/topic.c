/* Alert topics and their tokens; see topic.h. */
#include "topic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int topic_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Length of the token at s (at most n bytes): the run of token characters. */
static size_t topic_span(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && topic_char_ok(s[i]))
		i++;
	return i;
}

int topic_token_chars(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && topic_span(s, n) == n;
}

int topic_token_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= TOPIC_TOKEN_MAX && topic_span(s, n) == n;
}

/* Whether the n bytes at s are a type: tokens joined by single dots. */
static int topic_type_span_ok(const char *s, size_t n)
{
	if (n == 0 || n > TOPIC_TYPE_MAX)
		return 0;
	for (;;) {
		size_t t = topic_span(s, n);
		if (t == 0 || t > TOPIC_TOKEN_MAX)
			return 0;
		if (t == n)
			return 1;
		if (s[t] != '.')
			return 0;
		s += t + 1;
		n -= t + 1;
	}
}

int topic_type_ok(const char *s)
{
	return topic_type_span_ok(s, strlen(s));
}

int topic_format(char *buf, size_t len, const char *severity, const char *district,
		 const char *grid, const char *camera, const char *type)
{
	const char *parts[] = { severity, district, grid, camera };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!parts[i] || !topic_token_ok(parts[i]))
			return -EINVAL;
	if (!type || !topic_type_ok(type))
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "alert.%s.%s.%s.%s.%s", severity, district, grid, camera,
			     type) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int topic_format_count(char *buf, size_t len, const char *district, const char *grid,
		       const char *camera, const char *line)
{
	const char *parts[] = { district, grid, camera, line };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!parts[i] || !topic_token_ok(parts[i]))
			return -EINVAL;
	if ((size_t)snprintf(buf, len, "count.%s.%s.%s.%s", district, grid, camera, line) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* count.<district>.<grid>.<camera>.<line>: four tokens. */
static int topic_check_count(const char *s, size_t n)
{
	s += 6;
	n -= 6;
	for (int i = 0; i < 4; i++) {
		size_t t = topic_span(s, n);
		if (t == 0 || t > TOPIC_TOKEN_MAX)
			return 0;
		if (i == 3)
			return t == n;
		if (t == n || s[t] != '.')
			return 0;
		s += t + 1;
		n -= t + 1;
	}
	return 0;
}

int topic_check(const char *s, size_t n)
{
	if (n >= 6 && memcmp(s, "count.", 6) == 0)
		return topic_check_count(s, n);
	if (n < 6 || memcmp(s, "alert.", 6) != 0)
		return 0;
	s += 6;
	n -= 6;
	for (int i = 0; i < 4; i++) {
		size_t t = topic_span(s, n);
		if (t == 0 || t > TOPIC_TOKEN_MAX || t == n || s[t] != '.')
			return 0;
		s += t + 1;
		n -= t + 1;
	}
	return topic_type_span_ok(s, n);
}
