/* libFuzzer target: the fragment scan of a clip being written, on any
 * bytes (a file the writer left cut anywhere, or garbage). The end it
 * gives must lie inside the file and on a box boundary it walked. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mp4frag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("mp4frag_fuzz", MFD_CLOEXEC);
	int64_t end;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	end = mp4frag_complete_end(fd, (int64_t)size);
	if (end < 0 || end > (int64_t)size)
		abort();
	/* The file cut at that end scans to the same end. */
	if (end > 0 && mp4frag_complete_end(fd, end) != end)
		abort();
	close(fd);
	return 0;
}
