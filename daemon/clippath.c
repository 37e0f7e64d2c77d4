/* Paths into the clip directory; see clippath.h. */
#include "clippath.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int clippath_open_inside(const char *clip_dir, const char *rel, const char **why)
{
	char buf[4096], *save = NULL, *c, *next;
	int dir, fd = -1;
	struct stat st;

	*why = NULL;
	if (!*rel || rel[0] == '/') {
		*why = *rel ? "is an absolute path" : "is empty";
		return -EPERM;
	}
	if (strlen(rel) >= sizeof(buf)) {
		*why = "is too long";
		return -EPERM;
	}
	memcpy(buf, rel, strlen(rel) + 1);
	dir = open(clip_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	for (c = strtok_r(buf, "/", &save); c; c = next) {
		next = strtok_r(NULL, "/", &save);
		if (strcmp(c, "..") == 0 || strcmp(c, ".") == 0) {
			*why = "has a '.' or '..' component";
			fd = -EPERM;
			break;
		}
		if (fstatat(dir, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			fd = -errno;
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			*why = "goes through a symbolic link";
			fd = -EPERM;
			break;
		}
		fd = openat(dir, c, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
			    (next ? O_DIRECTORY : 0));
		if (fd < 0) {
			fd = errno == ELOOP ? -EPERM : -errno;
			*why = fd == -EPERM ? "goes through a symbolic link" : NULL;
			break;
		}
		if (fstat(fd, &st) < 0 || (!next && !S_ISREG(st.st_mode))) {
			*why = "is not a regular file";
			close(fd);
			fd = -EPERM;
			break;
		}
		close(dir);
		dir = fd;
		fd = -1;
		if (!next) {
			fd = dir;
			dir = -1;
		}
	}
	if (dir >= 0)
		close(dir);
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	return fd;
}

