/* Stop order when the supervisor is gone; see stoporder.h. */
#include "stoporder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int stoporder_open(const char *data_dir)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof(path), "%s/workers.lock", data_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
}

int stoporder_worker_hold(const char *data_dir)
{
	int fd = stoporder_open(data_dir);

	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}

int stoporder_workers_gone(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	return errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
}
