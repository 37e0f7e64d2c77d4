/* Complete fragments of a growing MP4; see mp4frag.h. */
#include "mp4frag.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static uint64_t mp4frag_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int64_t mp4frag_complete_end(int fd, int64_t size)
{
	int64_t pos = 0, good = 0;
	int moov = 0, waiting = 0;   /* a moof without its mdat yet */

	for (int n = 0; n < MP4FRAG_MAX_BOXES && size - pos >= 8; n++) {
		unsigned char h[16];
		ssize_t got = pread(fd, h, sizeof(h), pos);
		uint64_t len;
		int head = 8;

		if (got < 0)
			return -errno;
		if (got < 8)
			break;
		len = mp4frag_be(h, 4);
		if (len == 1) {
			/* A 64-bit size follows the type. */
			if (got < 16)
				break;
			len = mp4frag_be(h + 8, 8);
			head = 16;
		}
		/* 0 ("to the end of the file") is a box still being written
		 * here; a size below its own header is garbage. */
		if (len < (uint64_t)head || len > (uint64_t)(size - pos))
			break;
		pos += (int64_t)len;
		if (memcmp(h + 4, "moov", 4) == 0)
			moov = 1;
		if (memcmp(h + 4, "moof", 4) == 0) {
			waiting = 1;
			continue;
		}
		if (memcmp(h + 4, "mdat", 4) == 0)
			waiting = 0;
		if (!waiting && moov)
			good = pos;
	}
	return good;
}
