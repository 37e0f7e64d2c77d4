/* The daemon's HTTP endpoint; see httpd.h. */
#define _GNU_SOURCE
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "status.h"

/* Headers and request line; /metrics requests carry no body. */
#define HTTPD_MEMORY_LIMIT (32 * 1024)

/* A connection's age: libmicrohttpd only knows idle time. */
struct httpd_conn {
	int fd;                    /* -1: free */
	int cut;                   /* shut down for its deadline */
	long long started_ms;
};

struct httpd {
	struct MHD_Daemon *mhd;
	httpd_metrics_fn metrics;
	void *arg;
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

static enum MHD_Result httpd_reply(struct MHD_Connection *c, unsigned code, char *body,
				   int owned)
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

static enum MHD_Result httpd_request(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version,
				     const char *upload, size_t *upload_size, void **state)
{
	static int seen;
	struct httpd *h = cls;
	char *body;

	(void)version;
	(void)upload;
	/* The first call only announces the headers. */
	if (!*state) {
		*state = &seen;
		return MHD_YES;
	}
	if (*upload_size) {
		/* /metrics takes no body: drop it and answer at its end. */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return httpd_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", 0);
	if (strcmp(url, "/metrics") != 0)
		return httpd_reply(c, MHD_HTTP_NOT_FOUND, "not found\n", 0);
	body = h->metrics(h->arg);
	if (!body)
		return httpd_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot build the metrics\n",
				   0);
	return httpd_reply(c, MHD_HTTP_OK, body, 1);
}

struct httpd *httpd_open(int port, httpd_metrics_fn metrics, void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct httpd *h = calloc(1, sizeof(*h));

	if (!h) {
		log_err(NULL, "cannot serve /metrics: out of memory");
		return NULL;
	}
	h->metrics = metrics;
	h->arg = arg;
	for (int k = 0; k < HTTPD_MAX_CLIENTS; k++)
		h->conns[k].fd = -1;
	/* No thread of its own: run from the caller's loop, on epoll. */
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		httpd_request, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_MAX_CLIENTS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_IDLE_SECONDS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_MEMORY_LIMIT,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_EXTERNAL_LOGGER, httpd_log, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, httpd_notify, h,
		MHD_OPTION_END);
	if (!h->mhd) {
		log_err(NULL, "cannot listen on 127.0.0.1:%d for /metrics (port taken?)", port);
		free(h);
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

void httpd_run(struct httpd *h)
{
	long long now;

	if (!h)
		return;
	MHD_run(h->mhd);
	/* A connection past its deadline is shut down (not closed: the
	 * descriptor stays libmicrohttpd's), which it sees as the client's
	 * end and cleans up on its next turn. */
	now = status_now_ms();
	for (int k = 0; k < HTTPD_MAX_CLIENTS; k++) {
		struct httpd_conn *c = &h->conns[k];
		if (c->fd < 0 || c->cut || now - c->started_ms < HTTPD_DEADLINE_MS)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		c->cut = 1;
		if (!h->cut++)
			log_warn(NULL, "http: a client took over %d s, cut off (logged once)",
				 HTTPD_DEADLINE_MS / 1000);
	}
}

void httpd_close(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
