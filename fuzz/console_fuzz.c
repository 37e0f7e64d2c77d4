/* libFuzzer target: what the console parses from a URL before looking
 * anything up: times (from/to of /api/alerts) and relative paths
 * (/static/ and /media/). A time is refused (-1) or a non-negative
 * number; a path taken never climbs, never starts at the root and holds
 * only plain characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../console/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[40];
	int64_t t;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	t = parse_time(s);
	if (t < -1)
		abort();
	if (t >= 0 && t < 253402300800LL * 1000000 && strchr(s, '-') &&
	    parse_time(iso_time(t, buf, sizeof(buf))) != t - t % 1000)
		abort();
	if (path_ok(s, 1024)) {
		if (s[0] == '/' || s[0] == '.' || strstr(s, "/.") || strstr(s, "//") ||
		    strlen(s) > 1024)
			abort();
		for (const char *p = s; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_-./", *p))
				abort();
	}
	free(s);
	return 0;
}
