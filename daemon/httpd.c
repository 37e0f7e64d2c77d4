/* The daemon's HTTP listeners; see httpd.h. */
#define _GNU_SOURCE
#include "httpd.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "status.h"

/* A connection's age: libmicrohttpd only knows idle time. */
struct httpd_conn {
	int fd;                    /* -1: free */
	int cut;                   /* shut down for its deadline */
	int answering;             /* deadline_until_answer: a request is being answered */
	long long started_ms;
	void *req;                 /* the handler's state for the current request */
};

struct httpd {
	struct MHD_Daemon *mhd;
	struct httpd_spec spec;
	char name[64];
	struct httpd_conn conns[HTTPD_MAX_CLIENTS];
	unsigned long cut;         /* connections cut at their deadline */
};

/* Track each connection from accept to close, for its deadline. */
static void httpd_notify(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_ConnectionNotificationCode what)
{
	struct httpd *h = cls;
	struct httpd_conn *slot = *ctx;

	if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (slot)
			slot->fd = -1;
		*ctx = NULL;
		return;
	}
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (int k = 0; i && k < HTTPD_MAX_CLIENTS; k++) {
		if (h->conns[k].fd >= 0)
			continue;
		h->conns[k] = (struct httpd_conn){ .fd = i->connect_fd,
						   .started_ms = status_now_ms() };
		*ctx = &h->conns[k];
		return;
	}
}

/* A request ended (answered, or its connection went away): free the
 * handler's state; the next request on the connection gets a deadline
 * of its own. */
static void httpd_completed(void *cls, struct MHD_Connection *c, void **state,
			    enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct httpd_conn *slot = *state;

	(void)c;
	(void)toe;
	if (!slot)
		return;
	if (h->spec.done && slot->req)
		h->spec.done(h->spec.arg, slot->req);
	slot->req = NULL;
	if (h->spec.deadline_until_answer && slot->answering) {
		slot->answering = 0;
		slot->started_ms = status_now_ms();
	}
	*state = NULL;
}

static void httpd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warn(NULL, "http: %s", line);
}

static enum MHD_Result httpd_request(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version,
				     const char *upload, size_t *upload_size, void **state)
{
	struct httpd *h = cls;
	struct httpd_conn *slot = *state;

	(void)version;
	(void)upload;
	/* The first call only announces the headers. */
	if (!slot) {
		const union MHD_ConnectionInfo *i =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		slot = i ? i->socket_context : NULL;
		if (!slot)
			return MHD_NO;   /* untracked: cannot happen with the limit */
		*state = slot;
		return MHD_YES;
	}
	if (*upload_size) {
		/* Requests take no body: drop it and answer at its end. */
		*upload_size = 0;
		return MHD_YES;
	}
	slot->answering = 1;
	return h->spec.handler(h->spec.arg, c, url, method, &slot->req);
}

struct httpd *httpd_open(const struct httpd_spec *spec)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct httpd *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (!h) {
		log_err(NULL, "cannot serve %s: out of memory", spec->name);
		return NULL;
	}
	h->spec = *spec;
	snprintf(h->name, sizeof(h->name), "%s", spec->name);
	h->spec.name = h->name;
	h->spec.bind = NULL;
	if (inet_pton(AF_INET, spec->bind, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)spec->port);
	} else if (inet_pton(AF_INET6, spec->bind, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)spec->port);
		flags |= MHD_USE_IPv6;
	} else {
		log_err(NULL, "cannot serve %s: '%s' is not an IP address", spec->name, spec->bind);
		free(h);
		return NULL;
	}
	if (spec->suspend)
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	for (int k = 0; k < HTTPD_MAX_CLIENTS; k++)
		h->conns[k].fd = -1;
	/* No thread of its own: run from the caller's loop, on epoll. The
	 * unescape callback is passed only when set (the option takes no
	 * NULL). */
	h->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL,
		httpd_request, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_MAX_CLIENTS,
		MHD_OPTION_CONNECTION_TIMEOUT, spec->idle_seconds,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_MEMORY_LIMIT,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_EXTERNAL_LOGGER, httpd_log, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, httpd_notify, h,
		MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, h,
		spec->unescape ? MHD_OPTION_UNESCAPE_CALLBACK : MHD_OPTION_END,
		spec->unescape, spec->arg,
		MHD_OPTION_END);
	if (!h->mhd) {
		log_err(NULL, "cannot listen on %s port %d for %s (port taken?)", spec->bind,
			spec->port, spec->name);
		free(h);
		return NULL;
	}
	return h;
}

/* /metrics: GET or HEAD of that one path. */
struct httpd_metrics {
	httpd_metrics_fn fn;
	void *arg;
};

static enum MHD_Result httpd_metrics_reply(struct MHD_Connection *c, unsigned code,
					   char *body, int owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				code == MHD_HTTP_OK ? "text/plain; version=0.0.4" : "text/plain");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result httpd_metrics_request(void *arg, struct MHD_Connection *c,
					     const char *url, const char *method, void **req)
{
	struct httpd_metrics *m = arg;
	char *body;

	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return httpd_metrics_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", 0);
	if (strcmp(url, "/metrics") != 0)
		return httpd_metrics_reply(c, MHD_HTTP_NOT_FOUND, "not found\n", 0);
	body = m->fn(m->arg);
	if (!body)
		return httpd_metrics_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					   "cannot build the metrics\n", 0);
	return httpd_metrics_reply(c, MHD_HTTP_OK, body, 1);
}

struct httpd *httpd_open_metrics(int port, httpd_metrics_fn metrics, void *arg)
{
	struct httpd_metrics *m = malloc(sizeof(*m));
	struct httpd_spec spec = {
		.name = "/metrics", .bind = "127.0.0.1", .port = port,
		.idle_seconds = HTTPD_IDLE_SECONDS, .deadline_ms = HTTPD_DEADLINE_MS,
		.handler = httpd_metrics_request, .arg = m,
	};
	struct httpd *h;

	if (!m) {
		log_err(NULL, "cannot serve /metrics: out of memory");
		return NULL;
	}
	*m = (struct httpd_metrics){ .fn = metrics, .arg = arg };
	h = httpd_open(&spec);
	if (!h) {
		free(m);
		return NULL;
	}
	log_info(NULL, "metrics on http://127.0.0.1:%d/metrics", port);
	return h;
}

int httpd_pollfd(const struct httpd *h)
{
	const union MHD_DaemonInfo *i;

	if (!h)
		return -1;
	i = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return i ? i->epoll_fd : -1;
}

int httpd_timeout_ms(const struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (!h || MHD_get_timeout(h->mhd, &t) != MHD_YES)
		return -1;
	return t > INT_MAX ? INT_MAX : (int)t;
}

void httpd_run(struct httpd *h)
{
	long long now;

	if (!h)
		return;
	for (int i = 0; i < HTTPD_RUN_ROUNDS; i++) {
		MHD_run(h->mhd);
		if (httpd_timeout_ms(h) != 0)
			break;
	}
	/* A connection past its deadline is shut down (not closed: the
	 * descriptor stays libmicrohttpd's), which it sees as the client's
	 * end and cleans up on its next turn. */
	now = status_now_ms();
	for (int k = 0; k < HTTPD_MAX_CLIENTS; k++) {
		struct httpd_conn *c = &h->conns[k];
		if (c->fd < 0 || c->cut || now - c->started_ms < h->spec.deadline_ms)
			continue;
		if (h->spec.deadline_until_answer && c->answering)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		c->cut = 1;
		if (!h->cut++)
			log_warn(NULL, "http: a client of %s took over %lld s, cut off (logged once)",
				 h->name, h->spec.deadline_ms / 1000);
	}
}

void httpd_close(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	/* The metrics listener's own argument. */
	if (h->spec.handler == httpd_metrics_request)
		free(h->spec.arg);
	free(h);
}
