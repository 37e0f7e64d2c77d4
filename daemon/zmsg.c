/* Whole multipart messages; see zmsg.h. */
#include "zmsg.h"

#include <errno.h>
#include <string.h>

int zmsg_recv(struct zmsg *m, void *sock, int flags)
{
	zmq_msg_t extra;

	m->n = m->total = 0;
	for (;;) {
		zmq_msg_t *f = m->n < ZMSG_MAX_FRAMES ? &m->f[m->n] : &extra;
		zmq_msg_init(f);
		if (zmq_msg_recv(f, sock, m->total ? 0 : flags) < 0) {
			int e = errno;
			zmq_msg_close(f);
			zmsg_close(m);
			return -e;
		}
		m->total++;
		int more = zmq_msg_more(f);
		if (f == &extra)
			zmq_msg_close(&extra);
		else
			m->n++;
		if (!more)
			return 0;
	}
}

void zmsg_close(struct zmsg *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n; i++)
		zmq_msg_close(&m->f[i]);
	m->n = 0;
}

size_t zmsg_size(const struct zmsg *m, int i)
{
	return i < m->n ? zmq_msg_size((zmq_msg_t *)&m->f[i]) : 0;
}

const void *zmsg_data(const struct zmsg *m, int i)
{
	return i < m->n ? zmq_msg_data((zmq_msg_t *)&m->f[i]) : NULL;
}

int zmsg_str(const struct zmsg *m, int i, char *buf, size_t len)
{
	size_t n = zmsg_size(m, i);

	if (i >= m->n || n >= len)
		return -EMSGSIZE;
	memcpy(buf, zmsg_data(m, i), n);
	buf[n] = '\0';
	return memchr(buf, '\0', n) ? -EINVAL : 0;
}

int zmsg_send(void *sock, const void *data, size_t len, int more)
{
	return zmq_send(sock, data, len, more | ZMQ_DONTWAIT) < 0 ? -errno : 0;
}

int zmsg_send_str(void *sock, const char *s, int more)
{
	return zmsg_send(sock, s, strlen(s), more);
}
