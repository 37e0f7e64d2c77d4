/* libFuzzer target: the control socket's request reading and parsing,
 * fed through a pipe the way a client's bytes arrive. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char req[2048];
	int fds[2], r;
	size_t n = 0;

	/* A pipe holds 64 KiB: more would block the writer. */
	if (size > 60000 || pipe(fds) < 0)
		return 0;
	if (write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);
	/* The pipe blocks: each call reads until complete or end of input. */
	while ((r = control_read_more(fds[0], req, sizeof(req), &n)) == 0)
		;
	close(fds[0]);
	if (r < 0) {
		if (size > 0)
			abort();        /* bytes were sent: something must be read */
		return 0;
	}
	if (n >= sizeof(req) || n > size || req[n] != '\0' || memcmp(req, data, n) != 0)
		abort();
	switch (control_parse(req, n)) {
	case CONTROL_STATUS:
		if (strncmp(req, "status", 6) != 0)
			abort();
		break;
	case CONTROL_UNKNOWN:
		break;
	default:
		abort();
	}
	return 0;
}
