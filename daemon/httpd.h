/* The daemon's HTTP listeners, on libmicrohttpd: GET /metrics
 * (Prometheus text) on 127.0.0.1:status.metrics_port, and the HTTP API
 * (httpapi.h) on http.bind:http.port. Each is one struct httpd.
 *
 * They run inside the supervisor's poll loop, never in a thread of their
 * own and never blocking: libmicrohttpd's epoll descriptor sits in the
 * loop's poll set and httpd_run does the work that is ready. Clients
 * share HTTPD_MAX_CLIENTS connections, each closed after idle_seconds
 * without a byte, and bounded in memory; replies go out with
 * MSG_NOSIGNAL. The deadline (deadline_ms) is counted from the accept,
 * or, with deadline_until_answer, from the accept or the end of the
 * previous reply until the next request is in and answered: a client
 * that trickles its headers is cut off whatever it sends, while one that
 * reads a large reply at its own pace keeps its connection as long as it
 * reads (the idle timeout still applies). A slow or vanishing client
 * costs one of those connections for a while, never the loop's time. */
#ifndef VIGIL_HTTPD_H
#define VIGIL_HTTPD_H

#include <microhttpd.h>

#define HTTPD_MAX_CLIENTS  32
#define HTTPD_IDLE_SECONDS 2
#define HTTPD_DEADLINE_MS  10000
/* Request line and headers; requests carry no body worth keeping. */
#define HTTPD_MEMORY_LIMIT (32 * 1024)
/* Rounds of libmicrohttpd's work per httpd_run while connections stay
 * ready: bounds the loop's time on fast readers of large files. */
#define HTTPD_RUN_ROUNDS 8

struct httpd;

/* Answer one request (its headers are in, any body was dropped): queue a
 * response, or suspend the connection (spec.suspend) and answer when
 * called again after httpd_resume. *req is the request's own state, NULL
 * on the first call; spec.done frees it when the request ends. */
typedef enum MHD_Result (*httpd_handler_fn)(void *arg, struct MHD_Connection *c,
					    const char *url, const char *method, void **req);

struct httpd_spec {
	const char *name;          /* for the log: "/metrics", "the HTTP API" */
	const char *bind;          /* numeric IPv4 or IPv6 address */
	int port;
	unsigned idle_seconds;
	long long deadline_ms;
	int deadline_until_answer; /* see above */
	int suspend;               /* the handler may suspend connections */
	/* Replaces libmicrohttpd's percent-decoding of the path and query
	 * (see MHD_OPTION_UNESCAPE_CALLBACK); NULL: the library's. */
	size_t (*unescape)(void *arg, struct MHD_Connection *c, char *s);
	httpd_handler_fn handler;
	void (*done)(void *arg, void *req);
	void *arg;
};

/* Listen as spec says. Returns NULL (logged) on failure. */
struct httpd *httpd_open(const struct httpd_spec *spec);
/* The /metrics listener on 127.0.0.1:port; metrics builds the body
 * (malloc'd, or NULL on failure). */
typedef char *(*httpd_metrics_fn)(void *arg);
struct httpd *httpd_open_metrics(int port, httpd_metrics_fn metrics, void *arg);
/* The descriptor to poll for input, -1 when h is NULL. */
int httpd_pollfd(const struct httpd *h);
/* Accept, read, answer and expire what is ready; never blocks. Call it
 * on every turn of the loop (idle connections expire here too). A
 * connection that can take more of a large reply is served a few rounds,
 * then left for the next turn (see httpd_timeout_ms). */
void httpd_run(struct httpd *h);
/* How soon httpd_run wants to run again, in ms: 0 while a connection can
 * be written to at once (the epoll descriptor is edge-triggered and will
 * not say so), the next idle timeout otherwise, -1 for none. */
int httpd_timeout_ms(const struct httpd *h);
/* Takes NULL. */
void httpd_close(struct httpd *h);

#endif
