/* libFuzzer target: the control socket's request reading and parsing,
 * fed through a pipe the way a client's bytes arrive. The first input
 * byte chooses the protocol (status socket or HTTP /metrics). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char req[2048];
	int fds[2], http;
	ssize_t n;

	/* A pipe holds 64 KiB: more would block the writer. */
	if (size < 1 || size > 60000 || pipe(fds) < 0)
		return 0;
	http = data[0] & 1;
	if (write(fds[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(fds[1]);
	n = control_read_request(fds[0], req, sizeof(req), http);
	close(fds[0]);
	if (n < 0) {
		if (size > 1)
			abort();        /* bytes were sent: something must be read */
		return 0;
	}
	if ((size_t)n >= sizeof(req) || (size_t)n > size - 1 || req[n] != '\0' ||
	    memcmp(req, data + 1, (size_t)n) != 0)
		abort();
	switch (control_parse(req, (size_t)n, http)) {
	case CONTROL_STATUS:
		if (http || strncmp(req, "status", 6) != 0)
			abort();
		break;
	case CONTROL_METRICS:
		if (!http || strncmp(req, "GET /metrics", 12) != 0)
			abort();
		break;
	case CONTROL_UNKNOWN:
		break;
	default:
		abort();
	}
	return 0;
}
