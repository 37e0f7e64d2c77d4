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
#include "outbox.h"
#include "zmsg.h"
#include "recorder.h"
#include "recreader.h"

#define WORKER_QUEUE_CAP     4096
#define WORKER_OUTBOX_CAP    8192
#define WORKER_RESEND_MS     1000   /* unacked alerts go again after this */
#define WORKER_DRAIN_MS      3000   /* at stop, wait this long for acks */

/* The worker's side of the link to the relay. */
struct worker_link {
	void *dealer;
	struct outbox out;
	long long next_resend_ms;
};

static long long worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int worker_send(void *arg, const char *key, const char *payload)
{
	struct worker_link *l = arg;

	if (zmsg_send_str(l->dealer, key, ZMQ_SNDMORE) < 0)
		return -1;
	/* The first frame is queued: the second cannot fail on HWM. */
	return zmsg_send_str(l->dealer, payload, 0);
}

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

/* Move queued alerts into the outbox (which keeps them until the relay
 * acknowledges them) and send what is due: new alerts at once, unacked
 * ones again every WORKER_RESEND_MS. */
static void worker_flush(struct worker_link *l, struct alert_queue *q, int resend)
{
	long long now = worker_now_ms();
	char *payload;

	while (!outbox_full(&l->out) && (payload = alert_queue_pop(q)))
		if (outbox_add(&l->out, payload) < 0)
			free(payload);
	if (resend && now < l->next_resend_ms)
		resend = 0;
	if (resend)
		l->next_resend_ms = now + WORKER_RESEND_MS / 4;
	outbox_send_due(&l->out, now, resend ? WORKER_RESEND_MS : -1, worker_send, l);
}

/* Take the relay's acknowledgements: one frame, the alert's key. */
static void worker_acks(struct worker_link *l)
{
	struct zmsg m;
	char key[128];

	while (zmsg_recv(&m, l->dealer, ZMQ_DONTWAIT) == 0) {
		if (m.total == 1 && zmsg_str(&m, 0, key, sizeof(key)) == 0)
			outbox_ack(&l->out, key);
		zmsg_close(&m);
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

/* Connect the DEALER that carries alerts to the relay and brings back
 * acknowledgements. */
static int worker_link_open(struct worker_link *l, void *ctx,
			    const struct vigil_config *cfg, int index)
{
	int linger = 0, hwm = WORKER_OUTBOX_CAP * 2;
	char endpoint[512], prefix[64];

	outbox_make_prefix(index, prefix, sizeof(prefix));
	if (outbox_init(&l->out, WORKER_OUTBOX_CAP, prefix) < 0)
		return -ENOMEM;
	l->dealer = zmq_socket(ctx, ZMQ_DEALER);
	if (!l->dealer)
		return -errno;
	/* Unacked alerts live in the outbox, not in the socket: nothing to
	 * linger for. */
	zmq_setsockopt(l->dealer, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(l->dealer, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	worker_relay_endpoint(cfg, endpoint, sizeof(endpoint));
	if (zmq_connect(l->dealer, endpoint) < 0) {
		log_err(NULL, "cannot connect to relay at %s: %s", endpoint,
			zmq_strerror(errno));
		return -errno;
	}
	return 0;
}

/* After the cameras stopped: give the relay a moment to acknowledge
 * what is still waiting (motion end alerts made while stopping). */
static void worker_drain(struct worker_link *l, struct alert_queue *q)
{
	long long deadline = worker_now_ms() + WORKER_DRAIN_MS;

	worker_flush(l, q, 0);
	while (outbox_waiting(&l->out) && worker_now_ms() < deadline) {
		zmq_pollitem_t item = { .socket = l->dealer, .events = ZMQ_POLLIN };
		zmq_poll(&item, 1, 100);
		worker_acks(l);
		worker_flush(l, q, 1);
	}
	if (outbox_waiting(&l->out))
		log_warn(NULL, "stopping with %zu alert(s) not acknowledged by the relay",
			 outbox_waiting(&l->out));
}

int worker_run(const struct vigil_config *cfg, int index, int count)
{
	struct camera *cams = calloc(cfg->ncameras ? cfg->ncameras : 1, sizeof(*cams));
	struct worker_link link = { 0 };
	struct recorder **recs = calloc(cfg->ncameras ? cfg->ncameras : 1, sizeof(*recs));
	struct recreader **readers = calloc(cfg->ncameras ? cfg->ncameras : 1, sizeof(*readers));
	struct alert_queue q;
	void *ctx = NULL;
	size_t ncams = 0;
	int sfd, status = 1;
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
	if (worker_link_open(&link, ctx, cfg, index) < 0)
		goto out_zmq;
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
			{ .socket = link.dealer, .events = ZMQ_POLLIN },
			{ .fd = sfd, .events = ZMQ_POLLIN },
			{ .fd = q.wake_fd, .events = ZMQ_POLLIN },
		};
		struct signalfd_siginfo si;
		/* While the outbox is full the queue stays readable: leave it
		 * out of the poll until acknowledgements make room. */
		int nitems = outbox_full(&link.out) ? 2 : 3;

		if (zmq_poll(items, nitems, outbox_waiting(&link.out) ? 100 : 1000) < 0 &&
		    errno != EINTR) {
			log_err(NULL, "poll: %s", zmq_strerror(errno));
			break;
		}
		worker_acks(&link);
		worker_flush(&link, &q, 1);
		if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
			log_info(NULL, "signal %d, stopping", (int)si.ssi_signo);
			status = 0;
			break;
		}
		time_t now = time(NULL);
		if (now - last_stats >= cfg->stats_interval) {
			worker_log_stats(cams, ncams, (double)(now - started));
			log_info(NULL, "alerts: %zu waiting for the relay, %lu resent, %lu dropped (queue full)",
				 outbox_waiting(&link.out), link.out.resent, q.dropped);
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
	worker_drain(&link, &q);
out_zmq:
	zmq_close(link.dealer);
	zmq_ctx_term(ctx);
	outbox_destroy(&link.out);
	alert_queue_destroy(&q);
out_cams:
	if (sfd >= 0)
		close(sfd);
	free(cams);
	free(recs);
	free(readers);
	return status;
}
