/* The daemon's HTTP endpoint, on libmicrohttpd: GET /metrics (Prometheus
 * text) on 127.0.0.1:status.metrics_port.
 *
 * It runs inside the supervisor's poll loop, never in a thread of its
 * own and never blocking: libmicrohttpd's epoll descriptor sits in the
 * loop's poll set and httpd_run does the work that is ready. Clients
 * share HTTPD_MAX_CLIENTS connections, each closed after
 * HTTPD_IDLE_SECONDS without a byte or HTTPD_DEADLINE_MS after it was
 * accepted, whatever it sends, and bounded in memory; replies go out
 * with MSG_NOSIGNAL. A slow or vanishing client costs one of those
 * connections for a while, never the loop's time. */
#ifndef VIGIL_HTTPD_H
#define VIGIL_HTTPD_H

#define HTTPD_MAX_CLIENTS  32
#define HTTPD_IDLE_SECONDS 2
#define HTTPD_DEADLINE_MS  10000

struct httpd;

/* Builds the /metrics body (malloc'd, or NULL on failure). */
typedef char *(*httpd_metrics_fn)(void *arg);

/* Listen on 127.0.0.1:port. Returns NULL (logged) on failure. */
struct httpd *httpd_open(int port, httpd_metrics_fn metrics, void *arg);
/* The descriptor to poll for input, -1 when h is NULL. */
int httpd_pollfd(const struct httpd *h);
/* Accept, read, answer and expire what is ready; never blocks. Call it
 * on every turn of the loop (idle connections expire here too). */
void httpd_run(struct httpd *h);
/* Takes NULL. */
void httpd_close(struct httpd *h);

#endif
