/* Byte ranges; see httprange.h. */
#include "httprange.h"

#include <string.h>
#include <strings.h>

/* Digits at *p as a non-negative number; -1 when there are none or it
 * does not fit in 62 bits (no file is that large: such a range is bogus). */
static int64_t httprange_number(const char **p)
{
	int64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX / 4 - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*p = s;
	return v;
}

static void httprange_spaces(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

enum httprange_result httprange_parse(const char *header, int64_t size, int64_t *start,
				      int64_t *len)
{
	const char *p = header;
	int64_t first = -1, last = -1;

	if (!p)
		return HTTPRANGE_NONE;
	httprange_spaces(&p);
	if (strncasecmp(p, "bytes", 5) != 0)
		return HTTPRANGE_NONE;
	p += 5;
	httprange_spaces(&p);
	if (*p++ != '=')
		return HTTPRANGE_NONE;
	httprange_spaces(&p);
	if (*p != '-' && (first = httprange_number(&p)) < 0)
		return HTTPRANGE_NONE;
	if (*p++ != '-')
		return HTTPRANGE_NONE;
	if (*p >= '0' && *p <= '9' && (last = httprange_number(&p)) < 0)
		return HTTPRANGE_NONE;
	httprange_spaces(&p);
	/* A list of ranges, or trailing junk: served whole. */
	if (*p)
		return HTTPRANGE_NONE;
	if (first < 0) {
		/* bytes=-N: the last N bytes. */
		if (last < 0)
			return HTTPRANGE_NONE;
		if (last == 0 || size == 0)
			return HTTPRANGE_UNSATISFIABLE;
		*start = last < size ? size - last : 0;
		*len = size - *start;
		return HTTPRANGE_PARTIAL;
	}
	if (last >= 0 && last < first)
		return HTTPRANGE_NONE;
	if (first >= size)
		return HTTPRANGE_UNSATISFIABLE;
	if (last < 0 || last >= size)
		last = size - 1;
	*start = first;
	*len = last - first + 1;
	return HTTPRANGE_PARTIAL;
}
