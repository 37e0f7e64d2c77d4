/* Open events mirrored the moment they change (see cluster_int.h).
 *
 * The engine writes each open event of a camera as a file under
 * DATA_DIR/events/CAMERA (evstore.h): renamed into place when it starts,
 * removed when it ends. One inotify watch per configured camera reports
 * both, and the supervisor's loop mirrors that camera's open events to
 * ZooKeeper in the same turn, rather than at the next scan a second
 * later: an event that opens just before its node dies is then known to
 * the camera's next owner, which ends it. The scan still mirrors every
 * owned camera each second, so a missed notification (a queue overflow)
 * costs only that second. */
#include "cluster_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "evstore.h"
#include "log.h"

#define CL_WATCH_MASK (IN_MOVED_TO | IN_DELETE | IN_ONLYDIR)

/* Make DATA_DIR/events/CAMERA (evstore's directory) and watch it. */
static int cl_watch_camera(struct cluster *c, const char *id)
{
	struct evstore s;
	int wd = -1;

	evstore_init(&s, c->cfg->data_dir, id);
	if (evstore_mkdir(&s) == 0)
		wd = inotify_add_watch(c->ifd, s.dir, CL_WATCH_MASK);
	if (wd < 0 && !c->watch_warned) {
		log_warn(CL_WHO, "cannot watch %s (%s): open events are mirrored once a second",
			 s.dir, strerror(errno));
		c->watch_warned = 1;
	}
	return wd;
}

int cl_watch_open(struct cluster *c)
{
	struct epoll_event ev = { .events = EPOLLIN };

	c->ifd = -1;
	c->pollfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->pollfd < 0)
		return -1;
	ev.data.fd = c->evfd;
	if (epoll_ctl(c->pollfd, EPOLL_CTL_ADD, c->evfd, &ev) < 0)
		return -1;
	cl_watch_rebuild(c);
	return 0;
}

void cl_watch_rebuild(struct cluster *c)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (c->ifd >= 0) {
		epoll_ctl(c->pollfd, EPOLL_CTL_DEL, c->ifd, NULL);
		close(c->ifd);
	}
	c->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->ifd < 0) {
		log_warn(CL_WHO, "inotify: %s: open events are mirrored once a second",
			 strerror(errno));
		return;
	}
	ev.data.fd = c->ifd;
	if (epoll_ctl(c->pollfd, EPOLL_CTL_ADD, c->ifd, &ev) < 0) {
		close(c->ifd);
		c->ifd = -1;
		return;
	}
	for (size_t i = 0; i < c->cfg->ncameras; i++)
		c->cams[i].wd = cl_watch_camera(c, c->cfg->cameras[i].id);
}

void cl_watch_close(struct cluster *c)
{
	if (c->ifd >= 0)
		close(c->ifd);
	if (c->pollfd >= 0)
		close(c->pollfd);
	c->ifd = c->pollfd = -1;
}

void cl_watch_take(struct cluster *c)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (c->ifd < 0)
		return;
	while ((n = read(c->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			for (size_t i = 0; i < c->cfg->ncameras; i++)
				if (c->cams[i].wd == e->wd && e->wd >= 0)
					c->cams[i].changed = 1;
			p += sizeof(*e) + e->len;
		}
	}
}
