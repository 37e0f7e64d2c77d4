/* libFuzzer target: replay requests as a subscriber sends them. Any bytes
 * must be refused with a reason, or parse into numbers and printable
 * prefixes that lie inside the request. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *prefixes[REPLAY_MAX_PREFIXES], *err = NULL;
	char *buf;
	int64_t epoch = -1;
	uint64_t seq = 0;
	int n = -1, r;

	if (size > REPLAY_MAX_REQUEST)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	r = replay_parse(buf, &epoch, &seq, prefixes, &n, &err);
	if (r == 0) {
		if (epoch < 0 || n < 0 || n > REPLAY_MAX_PREFIXES)
			abort();
		for (int i = 0; i < n; i++) {
			const char *p = prefixes[i];
			if (p < buf || p >= buf + size || !*p)
				abort();
			for (; *p; p++)
				if (*p <= ' ' || *p > '~')
					abort();
		}
	} else if (r != -EINVAL || !err || !*err) {
		abort();
	}
	free(buf);
	return 0;
}
