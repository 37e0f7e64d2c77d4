/* Worker process; see worker.h.
 *
 * Camera threads never touch ZeroMQ: they put serialised alerts on a
 * queue, and this process's main thread, the only owner of the socket,
 * sends them to the relay. The main thread also handles signals (through
 * a signalfd in the poll set) and logs per-camera statistics. */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "alert.h"
#include "camera.h"
#include "log.h"
#include "recorder.h"
#include "recreader.h"

#define WORKER_QUEUE_CAP     4096

int worker_owns(const struct vigil_config *cfg, size_t camera, int index, int count)
{
	(void)cfg;
	return count <= 0 || (int)(camera % (size_t)count) == index;
}

void worker_relay_endpoint(const struct vigil_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "ipc://%s/relay.ipc", cfg->data_dir);
}

static void worker_log_stats(const struct camera *cams, size_t n, double secs)
{
	for (size_t i = 0; i < n; i++) {
		const struct camera *c = &cams[i];
		const struct camera_stats *s = &c->stats;
		unsigned long dec = atomic_load(&s->frames_decoded);
		log_info(c->conf->id,
			 "stats: %s, packets %lu, decoded %lu, analysed %lu, corrupt %lu, "
			 "%.2f ms/frame, %.0f kbit/s, reconnects %lu, clip packets dropped %lu%s%s",
			 camera_state_name(atomic_load(&s->state)),
			 atomic_load(&s->packets_in), dec,
			 atomic_load(&c->an.frames_analysed), atomic_load(&c->an.frames_corrupt),
			 dec ? (double)atomic_load(&s->decode_us) / 1000.0 / (double)dec : 0.0,
			 secs > 0 ? (double)atomic_load(&s->bytes_in) * 8 / 1000 / secs : 0.0,
			 atomic_load(&s->reconnects), recorder_dropped(c->rec), s->last_error[0] ? ", last error: " : "",
			 s->last_error);
	}
}

/* Send every queued alert to the relay. A send that would block leaves
 * the alert at the head of the queue for the next round. */
static void worker_flush(void *push, struct alert_queue *q, char **pending)
{
	for (;;) {
		if (!*pending)
			*pending = alert_queue_pop(q);
		if (!*pending)
			return;
		if (zmq_send(push, *pending, strlen(*pending), ZMQ_DONTWAIT) < 0) {
			if (errno != EAGAIN)
				log_err(NULL, "sending alert to relay: %s", zmq_strerror(errno));
			return;
		}
		free(*pending);
		*pending = NULL;
	}
}

static int worker_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int worker_run(const struct vigil_config *cfg, int index, int count)
{
	struct camera *cams = calloc(cfg->ncameras ? cfg->ncameras : 1, sizeof(*cams));
	struct recorder **recs = calloc(cfg->ncameras ? cfg->ncameras : 1, sizeof(*recs));
	struct recreader **readers = calloc(cfg->ncameras ? cfg->ncameras : 1, sizeof(*readers));
	struct alert_queue q;
	char endpoint[512], *pending = NULL;
	void *ctx = NULL, *push = NULL;
	size_t ncams = 0;
	int sfd, linger = 2000, status = 1;
	time_t started = time(NULL), last_stats = started;

	/* Signals are blocked before any thread exists, so that every
	 * thread inherits the mask and only the signalfd sees them. */
	sfd = worker_signalfd();
	/* A file-size limit (RLIMIT_FSIZE) must end a clip with EFBIG, not
	 * kill the worker: the clip writer logs it and alerts go on. */
	signal(SIGXFSZ, SIG_IGN);
	if (!cams || !recs || !readers || sfd < 0 || alert_queue_init(&q, WORKER_QUEUE_CAP) < 0) {
		log_err(NULL, "cannot set up worker: %s", strerror(errno));
		goto out_cams;
	}
	ctx = zmq_ctx_new();
	push = zmq_socket(ctx, ZMQ_PUSH);
	zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
	worker_relay_endpoint(cfg, endpoint, sizeof(endpoint));
	if (zmq_connect(push, endpoint) < 0) {
		log_err(NULL, "cannot connect to relay at %s: %s", endpoint,
			zmq_strerror(errno));
		goto out_zmq;
	}
	camera_global_init();
	for (size_t i = 0; i < cfg->ncameras; i++) {
		if (!worker_owns(cfg, i, index, count))
			continue;
		if (recorder_start(&recs[ncams], &cfg->cameras[i], cfg->data_dir) < 0)
			recs[ncams] = NULL;
		if (camera_start(&cams[ncams], &cfg->cameras[i], cfg->plugin_dir, &q,
				 recs[ncams]) < 0) {
			recorder_stop(recs[ncams]);
			continue;
		}
		/* A separate record stream gets its own reader. */
		if (recs[ncams] && strcmp(cfg->cameras[i].record_url, cfg->cameras[i].detect_url))
			recreader_start(&readers[ncams], &cfg->cameras[i], recs[ncams]);
		ncams++;
	}
	log_info(NULL, "running %zu camera(s)", ncams);

	for (;;) {
		zmq_pollitem_t items[] = {
			{ .fd = q.wake_fd, .events = ZMQ_POLLIN },
			{ .fd = sfd, .events = ZMQ_POLLIN },
		};
		struct signalfd_siginfo si;

		if (zmq_poll(items, 2, pending ? 100 : 1000) < 0 && errno != EINTR) {
			log_err(NULL, "poll: %s", zmq_strerror(errno));
			break;
		}
		worker_flush(push, &q, &pending);
		if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
			log_info(NULL, "signal %d, stopping", (int)si.ssi_signo);
			status = 0;
			break;
		}
		time_t now = time(NULL);
		if (now - last_stats >= cfg->stats_interval) {
			worker_log_stats(cams, ncams, (double)(now - started));
			last_stats = now;
		}
	}
	for (size_t i = 0; i < ncams; i++)
		camera_stop(&cams[i]);
	/* After the cameras and readers: they feed the recorders. */
	for (size_t i = 0; i < ncams; i++) {
		recreader_stop(readers[i]);
		recorder_stop(recs[i]);
	}
	/* Alerts the cameras made while stopping (motion end) go out too. */
	worker_flush(push, &q, &pending);
	free(pending);
out_zmq:
	zmq_close(push);
	zmq_ctx_term(ctx);
	alert_queue_destroy(&q);
out_cams:
	if (sfd >= 0)
		close(sfd);
	free(cams);
	free(recs);
	free(readers);
	return status;
}
