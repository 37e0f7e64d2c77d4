/* Whole multipart ZeroMQ messages, received and checked in one step.
 *
 * Every endpoint of the relay faces peers it does not control: a message
 * is always read to its last frame, so that a sender with the wrong
 * frame count cannot desynchronise the socket, and only the first
 * ZMSG_MAX_FRAMES frames are kept. */
#ifndef VIGIL_ZMSG_H
#define VIGIL_ZMSG_H

#include <stddef.h>
#include <zmq.h>

#define ZMSG_MAX_FRAMES 8

struct zmsg {
	zmq_msg_t f[ZMSG_MAX_FRAMES];
	int n;          /* frames kept */
	int total;      /* frames the message had */
};

/* Receive one message. Returns 0 or -errno (-EAGAIN with ZMQ_DONTWAIT
 * when nothing waits); on error nothing needs closing. */
int zmsg_recv(struct zmsg *m, void *sock, int flags);
void zmsg_close(struct zmsg *m);

/* Frame i as a NUL-terminated copy in buf; -EMSGSIZE when it does not
 * fit, -EINVAL when it holds a NUL byte. */
int zmsg_str(const struct zmsg *m, int i, char *buf, size_t len);
size_t zmsg_size(const struct zmsg *m, int i);
const void *zmsg_data(const struct zmsg *m, int i);

/* Send a frame; more: ZMQ_SNDMORE or 0. Returns 0 or -errno. */
int zmsg_send(void *sock, const void *data, size_t len, int more);
int zmsg_send_str(void *sock, const char *s, int more);

#endif
