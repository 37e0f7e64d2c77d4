/* Control socket and /metrics listener; see control.h. */
#define _GNU_SOURCE
#include "control.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "report.h"

#define CONTROL_IO_TIMEOUT_MS 1000

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

static int control_listen_tcp(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

void control_open(struct supervisor *s)
{
	char path[4096];
	int fd;

	control_socket_path(s->cfg->data_dir, path, sizeof(path));
	fd = control_listen_unix(path);
	if (fd < 0)
		log_err(NULL, "cannot open control socket %s: %s, status unavailable", path,
			strerror(-fd));
	else
		log_info(NULL, "status on %s", path);
	s->ctl_fd = fd < 0 ? -1 : fd;
	s->metrics_fd = -1;
	if (s->cfg->metrics_port > 0) {
		fd = control_listen_tcp(s->cfg->metrics_port);
		if (fd < 0)
			log_err(NULL, "cannot listen on 127.0.0.1:%d for /metrics: %s",
				s->cfg->metrics_port, strerror(-fd));
		else
			log_info(NULL, "metrics on http://127.0.0.1:%d/metrics", s->cfg->metrics_port);
		s->metrics_fd = fd < 0 ? -1 : fd;
	}
}

static void control_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

/* Is the request in buf[0..n) complete: its first line (or, for HTTP,
 * its headers)? */
static int control_complete(const char *buf, size_t n, int http)
{
	if (http)
		return memmem(buf, n, "\r\n\r\n", 4) || memmem(buf, n, "\n\n", 2);
	return memchr(buf, '\n', n) != NULL;
}

ssize_t control_read_request(int fd, char *buf, size_t size, int http)
{
	size_t n = 0;

	if (size == 0)
		return -1;
	while (n + 1 < size && !control_complete(buf, n, http)) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n ? (ssize_t)n : -1;
}

enum control_request control_parse(const char *req, size_t len, int http)
{
	/* A NUL inside the request would hide what follows it. */
	if (memchr(req, '\0', len))
		return CONTROL_UNKNOWN;
	if (http) {
		if (len >= 13 && (strncmp(req, "GET /metrics ", 13) == 0 ||
				  strncmp(req, "GET /metrics?", 13) == 0))
			return CONTROL_METRICS;
		return CONTROL_UNKNOWN;
	}
	if ((len == 7 && memcmp(req, "status\n", 7) == 0) ||
	    (len == 6 && memcmp(req, "status", 6) == 0))
		return CONTROL_STATUS;
	return CONTROL_UNKNOWN;
}

static void control_answer_http(struct supervisor *s, int fd, enum control_request req)
{
	char head[256];
	char *body = NULL;
	const char *status = "404 Not Found";

	if (req == CONTROL_METRICS) {
		body = report_metrics(s);
		status = body ? "200 OK" : "500 Internal Server Error";
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, body ? strlen(body) : 0);
	control_write_all(fd, head, strlen(head));
	if (body)
		control_write_all(fd, body, strlen(body));
	free(body);
}

static void control_answer_status(struct supervisor *s, int fd, enum control_request req)
{
	char *body = NULL;

	if (req == CONTROL_STATUS)
		body = report_json(s);
	if (!body) {
		const char *e = "{\"error\":\"unknown request\"}\n";
		control_write_all(fd, e, strlen(e));
		return;
	}
	control_write_all(fd, body, strlen(body));
	control_write_all(fd, "\n", 1);
	free(body);
}

void control_serve(struct supervisor *s, int lfd, int http)
{
	struct timeval tv = { .tv_sec = CONTROL_IO_TIMEOUT_MS / 1000,
			      .tv_usec = (CONTROL_IO_TIMEOUT_MS % 1000) * 1000 };
	char req[2048];
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ssize_t n = control_read_request(fd, req, sizeof(req), http);

	if (n >= 0) {
		enum control_request what = control_parse(req, (size_t)n, http);
		if (http)
			control_answer_http(s, fd, what);
		else
			control_answer_status(s, fd, what);
	}
	close(fd);
}

void control_close(struct supervisor *s)
{
	char path[4096];

	if (s->ctl_fd >= 0) {
		close(s->ctl_fd);
		control_socket_path(s->cfg->data_dir, path, sizeof(path));
		unlink(path);
	}
	if (s->metrics_fd >= 0)
		close(s->metrics_fd);
	s->ctl_fd = s->metrics_fd = -1;
}
