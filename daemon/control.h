/* The supervisor's status endpoints.
 *
 * A unix stream socket, DATA_DIR/control.sock (mode 0600: only the
 * daemon's user), answers one request per connection: the client sends
 * "status\n" and reads the JSON report until the server closes. When
 * status.metrics_port is set, an HTTP listener on 127.0.0.1 serves the
 * Prometheus text on GET /metrics. Both are served from the supervisor's
 * loop with short I/O timeouts, so a stuck client cannot hold it. */
#ifndef VIGIL_CONTROL_H
#define VIGIL_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "supervisor.h"

/* Path of the control socket for a data directory. */
void control_socket_path(const char *data_dir, char *buf, size_t len);

/* Open the endpoints into s->ctl_fd and s->metrics_fd (-1 when off or on
 * failure; failures are logged, the daemon runs on). */
void control_open(struct supervisor *s);
/* Accept and answer one client of listening socket fd. */
void control_serve(struct supervisor *s, int fd, int http);
void control_close(struct supervisor *s);

enum control_request { CONTROL_UNKNOWN, CONTROL_STATUS, CONTROL_METRICS };

/* Read one request from fd into buf (NUL-terminated, at most size - 1
 * bytes): up to the end of its first line, or of its headers for HTTP,
 * or until the client stops sending. Returns the bytes read, or -1 when
 * nothing came. */
ssize_t control_read_request(int fd, char *buf, size_t size, int http);
/* What a request read by control_read_request asks for. */
enum control_request control_parse(const char *req, size_t len, int http);

#endif
