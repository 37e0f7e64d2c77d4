/* Control socket; see control.h. */
#define _GNU_SOURCE
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "status.h"

/* A client has this long to send its request, then this long to take
 * the reply; past either it is dropped. */
#define CONTROL_READ_MS  2000
#define CONTROL_WRITE_MS 10000

/* A client being served: reading its request, then writing the reply. */
struct control_conn {
	int fd;                     /* -1: free slot */
	long long accepted_ms, deadline_ms;
	size_t n;                   /* request bytes read */
	char req[2048];
	char *out;                  /* the reply, once the request is complete */
	size_t out_len, out_off;
};

struct control {
	int ctl_fd;                 /* listener, -1 when off */
	char path[4096];            /* of the socket */
	control_status_fn status;   /* builds the reply to "status" */
	void *status_arg;
	unsigned long evicted;      /* clients closed for want of a slot */
	struct control_conn conns[CONTROL_MAX_CLIENTS];
};

void control_socket_path(const char *data_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/control.sock", data_dir);
}

static int control_listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	mode_t old;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* Created with mode 0600 from the start: no window for others. */
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		umask(old);
		close(fd);
		return -e;
	}
	umask(old);
	chmod(path, 0600);
	return fd;
}

struct control *control_open(const char *data_dir, control_status_fn status, void *arg)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int fd;

	if (!ctl) {
		log_err(NULL, "cannot set up the status endpoints: out of memory");
		return NULL;
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl->conns[i].fd = -1;
	ctl->status = status;
	ctl->status_arg = arg;
	control_socket_path(data_dir, ctl->path, sizeof(ctl->path));
	fd = control_listen_unix(ctl->path);
	if (fd < 0)
		log_err(NULL, "cannot open control socket %s: %s, status unavailable", ctl->path,
			strerror(-fd));
	else
		log_info(NULL, "status on %s", ctl->path);
	ctl->ctl_fd = fd < 0 ? -1 : fd;
	return ctl;
}

int control_read_more(int fd, char *buf, size_t size, size_t *n)
{
	if (size == 0)
		return -1;
	while (*n + 1 < size && !memchr(buf, '\n', *n)) {
		ssize_t r = read(fd, buf + *n, size - 1 - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0) {
			/* The client stopped sending: take what came. */
			buf[*n] = '\0';
			return *n ? 1 : -1;
		}
		*n += (size_t)r;
		buf[*n] = '\0';
	}
	buf[*n] = '\0';
	return 1;
}

enum control_request control_parse(const char *req, size_t len)
{
	/* A NUL inside the request would hide what follows it. */
	if (memchr(req, '\0', len))
		return CONTROL_UNKNOWN;
	if ((len == 7 && memcmp(req, "status\n", 7) == 0) ||
	    (len == 6 && memcmp(req, "status", 6) == 0))
		return CONTROL_STATUS;
	return CONTROL_UNKNOWN;
}

/* The reply to a request: the JSON report and a newline, or an error. */
static char *control_reply(struct control *ctl, enum control_request req, size_t *len)
{
	char *body = req == CONTROL_STATUS ? ctl->status(ctl->status_arg) : NULL, *out = NULL;
	int n = body ? asprintf(&out, "%s\n", body)
		     : asprintf(&out, "{\"error\":\"unknown request\"}\n");

	free(body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

static void control_drop(struct control_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Write what the client takes now; drop it when all is sent or it
 * failed (never SIGPIPE: MSG_NOSIGNAL). */
static void control_write_more(struct control_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0)
			break;
		c->out_off += (size_t)w;
	}
	control_drop(c);
}

/* Read more of a client's request; once complete, build the reply and
 * start writing it (with a new deadline). */
static void control_read_client(struct control *ctl, struct control_conn *c)
{
	int r = control_read_more(c->fd, c->req, sizeof(c->req), &c->n);

	if (r < 0) {
		control_drop(c);
		return;
	}
	if (r == 0)
		return;
	c->out = control_reply(ctl, control_parse(c->req, c->n), &c->out_len);
	if (!c->out) {
		control_drop(c);
		return;
	}
	c->deadline_ms = status_now_ms() + CONTROL_WRITE_MS;
	control_write_more(c);
}

/* A free slot; when every slot is taken, the oldest client loses its. */
static struct control_conn *control_slot(struct control *ctl)
{
	struct control_conn *oldest = &ctl->conns[0];

	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (ctl->conns[i].fd < 0)
			return &ctl->conns[i];
		if (ctl->conns[i].accepted_ms < oldest->accepted_ms)
			oldest = &ctl->conns[i];
	}
	if (!ctl->evicted++)
		log_warn(NULL, "status clients: all %d slots taken, closing the oldest",
			 CONTROL_MAX_CLIENTS);
	control_drop(oldest);
	return oldest;
}

/* Take every waiting connection (bounded per call). */
static void control_accept(struct control *ctl, int lfd)
{
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct control_conn *c;

		if (fd < 0)
			return;
		c = control_slot(ctl);
		c->fd = fd;
		c->accepted_ms = status_now_ms();
		c->deadline_ms = c->accepted_ms + CONTROL_READ_MS;
	}
}

int control_pollfds(const struct control *ctl, struct pollfd *fds, int max)
{
	int n = 0;

	if (!ctl)
		return 0;
	if (n < max)
		fds[n++] = (struct pollfd){ .fd = ctl->ctl_fd, .events = POLLIN };
	for (int i = 0; i < CONTROL_MAX_CLIENTS && n < max; i++)
		fds[n++] = (struct pollfd){ .fd = ctl->conns[i].fd,
					    .events = ctl->conns[i].out ? POLLOUT : POLLIN };
	return n;
}

void control_dispatch(struct control *ctl, const struct pollfd *fds, int n)
{
	long long now = status_now_ms();

	if (!ctl || n < 1)
		return;
	/* Clients first: a listener may give a slot away. */
	for (int i = 0; i < CONTROL_MAX_CLIENTS && i + 1 < n; i++) {
		struct control_conn *c = &ctl->conns[i];
		if (c->fd < 0 || c->fd != fds[i + 1].fd || !fds[i + 1].revents)
			continue;
		if (c->out)
			control_write_more(c);
		else
			control_read_client(ctl, c);
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->conns[i].fd >= 0 && now >= ctl->conns[i].deadline_ms)
			control_drop(&ctl->conns[i]);
	if (fds[0].revents & POLLIN)
		control_accept(ctl, ctl->ctl_fd);
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	if (ctl->ctl_fd >= 0) {
		close(ctl->ctl_fd);
		unlink(ctl->path);
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		control_drop(&ctl->conns[i]);
	free(ctl);
}
