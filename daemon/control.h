/* The supervisor's control socket.
 *
 * A unix stream socket, DATA_DIR/control.sock (mode 0600: only the
 * daemon's user), answers one request per connection: the client sends
 * "status\n" and reads the JSON report until the server closes. (The
 * /metrics HTTP endpoint is httpd.h's.)
 *
 * It is served from the supervisor's poll loop without ever blocking
 * it: sockets are non-blocking, clients share CONTROL_MAX_CLIENTS slots
 * (a new client takes the oldest one's slot when all are taken), each
 * has a deadline to send its request and another to read the reply.
 * Replies are sent with MSG_NOSIGNAL: a client that goes away costs
 * nothing. A slow or hostile client can therefore never delay restarts,
 * signals or the watchdog. */
#ifndef VIGIL_CONTROL_H
#define VIGIL_CONTROL_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

/* Path of the control socket for a data directory. */
void control_socket_path(const char *data_dir, char *buf, size_t len);

#define CONTROL_MAX_CLIENTS 32
/* pollfd entries control_pollfds may fill. */
#define CONTROL_NPOLL (1 + CONTROL_MAX_CLIENTS)

struct control;

/* Builds the reply to "status" (malloc'd JSON, or NULL on failure). */
typedef char *(*control_status_fn)(void *arg);

/* Open the socket of data_dir; status(arg) answers "status". A socket
 * that cannot be opened is logged and the daemon runs on without it;
 * NULL only when out of memory (every function below takes NULL). */
struct control *control_open(const char *data_dir, control_status_fn status, void *arg);
/* Fill fds (at most max) with the listener and the clients to wait for;
 * returns how many. */
int control_pollfds(const struct control *ctl, struct pollfd *fds, int max);
/* After poll(): accept, read, answer, write; drop clients past their
 * deadline. fds and n as filled by control_pollfds. */
void control_dispatch(struct control *ctl, const struct pollfd *fds, int n);
/* Close the listener (removing the socket) and every client. */
void control_close(struct control *ctl);

enum control_request { CONTROL_UNKNOWN, CONTROL_STATUS };

/* Append what fd has to the request in buf[0..*n) (kept NUL-terminated,
 * at most size - 1 bytes). Returns 1 once the request is complete (its
 * first line; the buffer full; or the client closed after sending
 * something), 0 when more is to come (a non-blocking fd would block),
 * -1 when the client closed or failed before sending anything. */
int control_read_more(int fd, char *buf, size_t size, size_t *n);
/* What a request read by control_read_more asks for. */
enum control_request control_parse(const char *req, size_t len);

#endif
