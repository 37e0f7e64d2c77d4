/* The request deadline: from the accept (or the end of the previous
 * request on a kept-alive connection) a client has request_timeout
 * seconds to send a whole request, however it trickles it. libmicrohttpd
 * only has an idle timeout, which a client sending a byte now and then
 * never meets; so connections are noted as they open and close
 * (MHD_OPTION_NOTIFY_CONNECTION), and a thread shuts down the socket of
 * any that is late. The deadline stops while a request is answered (a
 * stream or a clip may take long) and starts again after it. */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct watch_slot {
	int fd;                 /* -1: free */
	int busy;               /* a request is being answered */
	double since;           /* monotonic: when the deadline started */
};

struct watch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct watch_slot *slots;
	int n;
	double limit;
	int stop;
	pthread_t thread;
};

static void *watch_run(void *arg)
{
	struct watch *w = arg;
	struct timespec ts;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		double now = mono_s();

		for (int i = 0; i < w->n; i++) {
			struct watch_slot *s = &w->slots[i];
			if (s->fd < 0 || s->busy || now - s->since <= w->limit)
				continue;
			/* The slot is freed (under this lock) before the socket
			 * is closed, so fd is still this connection's. */
			fprintf(stderr, "vigil-console: http: a request not complete within %.0f s, "
				"connection closed\n", w->limit);
			shutdown(s->fd, SHUT_RDWR);
			s->busy = 1;    /* once */
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 250 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct watch *watch_start(int slots, double limit)
{
	struct watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w || !(w->slots = calloc((size_t)slots, sizeof(*w->slots)))) {
		free(w);
		return NULL;
	}
	for (int i = 0; i < slots; i++)
		w->slots[i].fd = -1;
	w->n = slots;
	w->limit = limit;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, watch_run, w) != 0) {
		free(w->slots);
		free(w);
		return NULL;
	}
	return w;
}

void watch_stop(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->slots);
	free(w);
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection opens or closes. */
void watch_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode code)
{
	struct watch *w = cls;
	struct watch_slot *s = *socket_context;

	pthread_mutex_lock(&w->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		for (int i = 0; ci && i < w->n; i++) {
			if (w->slots[i].fd < 0) {
				w->slots[i] = (struct watch_slot){ .fd = ci->connect_fd,
								   .since = mono_s() };
				*socket_context = &w->slots[i];
				break;
			}
		}
	} else if (s) {
		s->fd = -1;
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&w->lock);
}

/* A request of the connection is being answered (busy = 1) or was
 * (busy = 0: the deadline for the next one starts). */
void watch_busy(struct watch *w, struct MHD_Connection *c, int busy)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct watch_slot *s = ci ? ci->socket_context : NULL;

	if (!w || !s)
		return;
	pthread_mutex_lock(&w->lock);
	if (s->fd >= 0) {
		s->busy = busy;
		s->since = mono_s();
	}
	pthread_mutex_unlock(&w->lock);
}
