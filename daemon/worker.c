/* Worker process; see worker.h.
 *
 * Camera threads never touch ZeroMQ: they put serialised alerts on a
 * queue, and this process's main thread, the only owner of the socket,
 * sends them to the relay and keeps each one until the relay acknowledges
 * it (see outbox.h). The main thread also handles signals (through
 * a signalfd in the poll set) and logs per-camera statistics. */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "alert.h"
#include "camset.h"
#include "log.h"
#include "outbox.h"
#include "owned.h"
#include "relaylink.h"
#include "stoporder.h"
#include "status.h"
#include "zmsg.h"

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

/* One alert to the relay, in the link's format (relaylink.h). */
static int worker_send(void *arg, const char *key, const struct alert_msg *m)
{
	struct worker_link *l = arg;

	return relaylink_send(l->dealer, key, m);
}

int worker_owns(const struct vigil_config *cfg, size_t camera, int index, int count)
{
	struct camset_filter f = { .index = index, .count = count };

	return camset_wants(&f, cfg, camera);
}

/* Move queued alerts into the outbox (which keeps them until the relay
 * acknowledges them) and send what is due: new alerts at once, unacked
 * ones again every WORKER_RESEND_MS. */
static void worker_flush(struct worker_link *l, struct alert_queue *q, int resend)
{
	long long now = worker_now_ms();
	struct alert_msg m;

	while (!outbox_full(&l->out) && alert_queue_take(q, &m))
		if (outbox_add_msg(&l->out, &m) < 0)
			alert_msg_free(&m);
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

/* Split "a,b,c" into the filter's excluded list (a copy owned by it). */
static int worker_parse_excluded(struct camset_filter *f, const char *list, char **buf)
{
	size_t n = 1;

	f->excluded = NULL;
	f->nexcluded = 0;
	if (!list || !*list)
		return 0;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	*buf = strdup(list);
	f->excluded = calloc(n, sizeof(*f->excluded));
	if (!*buf || !f->excluded)
		return -ENOMEM;
	for (char *save = NULL, *t = strtok_r(*buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		f->excluded[f->nexcluded++] = t;
	return 0;
}

/* An isolated worker announces itself with a worker_crashloop alert that
 * names its camera, once (not again when the isolated worker restarts). */
static void worker_announce_isolation(const struct vigil_config *cfg, const char *id,
				      struct alert_queue *q, const struct status_page *page)
{
	struct timespec ts;
	char evid[160], detail[200];

	if (page && atomic_load(&page->restarts) > 0)
		return;
	for (size_t i = 0; i < cfg->ncameras; i++) {
		const struct vigil_camera *cam = &cfg->cameras[i];
		if (strcmp(cam->id, id) != 0)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		snprintf(evid, sizeof(evid), "%s-crashloop-%lld", id, (long long)(now / 1000));
		snprintf(detail, sizeof(detail),
			 "worker crashed %d times within %d min while this camera was decoding; "
			 "camera isolated in a worker of its own", STATUS_CRASH_LIMIT,
			 STATUS_CRASH_WINDOW_MS / 60000);
		struct alert a = {
			.cam = cam, .type = "worker_crashloop", .phase = "start", .id = evid,
			.severity = config_site_severity(cam->site), .ts_us = now, .detail = detail,
			.clip_duration = -1,
		};
		int r = alert_queue_push(q, &a);
		if (r < 0 && r != -EINVAL)
			log_err(id, "alert queue full, worker_crashloop alert dropped");
		else if (r == 0)
			log_warn(id, "alert worker_crashloop start id=%s: %s", evid, detail);
	}
}

/* Cluster mode: an alert stays queued only for a camera this node still
 * holds under the same claim (the epoch in its payload). Alerts made
 * before a lost session are dropped, not published late. */
static int worker_alert_owned(const struct alert_msg *m, void *arg)
{
	const struct owned_set *owned = arg;
	char cam[VIGIL_TOKEN_MAX + 1] = "";
	const char *p = m->topic, *e;
	long long epoch;

	/* alert.<severity>.<district>.<grid>.<camera>.<type> */
	for (int dots = 0; p && dots < 4; dots++)
		p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL;
	e = p ? strchr(p, '.') : NULL;
	if (!e || (size_t)(e - p) >= sizeof(cam))
		return 1;
	memcpy(cam, p, (size_t)(e - p));
	cam[e - p] = '\0';
	epoch = owned_epoch(owned, cam);
	p = strstr(m->payload, "\"owner_epoch\":");
	if (!epoch)
		return 0;
	return !p || strtoll(p + 14, NULL, 10) == epoch;
}

/* Cluster mode: re-read the owned cameras and forget the alerts of those
 * that are not ours any more. */
static void worker_read_owned(const struct vigil_config *cfg, struct owned_set *owned,
			      struct alert_queue *q)
{
	char path[4200];
	size_t dropped;
	int r;

	owned_path(cfg->data_dir, path, sizeof(path));
	r = owned_read(path, owned);
	if (r < 0)
		log_err(NULL, "cannot read %s: %s, running no camera", path, strerror(-r));
	dropped = q ? alert_queue_filter(q, worker_alert_owned, owned) : 0;
	if (dropped)
		log_warn(NULL, "dropped %zu queued alert(s) of cameras this node no longer owns",
			 dropped);
}

/* Cluster mode: alerts wait while the supervisor cannot vouch for this
 * node's claims (the fence on the status page, see cluster.h). */
static int worker_held(const struct camset_filter *f, const struct status_page *page)
{
	return f->owned && (!page || status_now_ms() >= atomic_load(&page->fence_ms));
}

static void worker_set_thumbnails(struct alert_queue *q, const struct vigil_config *cfg)
{
	atomic_store(&q->thumb_width, cfg->thumbnail ? cfg->thumbnail_width : 0);
}

/* Re-read the configuration after SIGHUP. An invalid file changes nothing.
 * The cameras and the statistics interval follow the file. */
static void worker_reload(const struct worker_opts *o, struct camset *cams,
			  struct camset_filter *f, struct owned_set *owned, struct outbox *out,
			  struct status_page *page, int *stats_every)
{
	struct vigil_config next;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *err = open_memstream(&errs, &errlen);
	/* Read before the file: a SIGHUP that arrives meanwhile (and may be
	 * merged with this one) asks for a later generation. */
	unsigned want = page ? atomic_load(&page->reload_wanted) : 0;
	int n = err ? config_load(o->config_path, &next, err) : -1;

	if (err)
		fclose(err);
	if (n != 0) {
		log_err(NULL, "reload: %s is invalid (%d error(s)), keeping the running cameras",
			o->config_path, n);
	} else {
		log_info(NULL, "reload: applying %s", o->config_path);
		if (f->owned)
			worker_read_owned(&next, owned, NULL);
		camset_apply(cams, &next, f);
		/* After the cameras stopped: what they said while stopping
		 * goes too, when they are no longer ours. */
		size_t dropped = f->owned ?
			alert_queue_filter(cams->alerts, worker_alert_owned, owned) +
			outbox_drop_if(out, worker_alert_owned, owned) : 0;
		if (dropped)
			log_warn(NULL, "dropped %zu queued alert(s) of cameras this node no longer "
				 "owns", dropped);
		*stats_every = next.stats_interval;
		worker_set_thumbnails(cams->alerts, &next);
	}
	if (n >= 0)
		config_free(&next);
	free(errs);
	camset_publish(cams);
	if (page)
		atomic_store(&page->reloads, want);
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
	relaylink_endpoint(cfg->data_dir, endpoint, sizeof(endpoint));
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

int worker_run(const struct vigil_config *cfg, const struct worker_opts *o)
{
	struct camset_filter filter = { .index = o->index, .count = o->count,
					.isolate = o->isolate };
	struct camset cams = { 0 };
	struct owned_set owned = { 0 };
	struct status_page *page = NULL;
	struct alert_queue q;
	struct worker_link link = { 0 };
	char *exbuf = NULL;
	void *ctx = NULL;
	int sfd, status = 1, stats_every = cfg->stats_interval, lock_fd = -1;
	time_t started = time(NULL), last_stats = started;

	/* Signals are blocked before any thread exists, so that every
	 * thread inherits the mask and only the signalfd sees them. */
	sfd = worker_signalfd();
	if (sfd < 0 || alert_queue_init(&q, WORKER_QUEUE_CAP) < 0 ||
	    worker_parse_excluded(&filter, o->excluded, &exbuf) < 0) {
		log_err(NULL, "cannot set up worker: %s", strerror(errno));
		goto out_sfd;
	}
	if (o->status_fd >= 0 && !(page = status_page_map(o->status_fd)))
		log_warn(NULL, "cannot map the status page: %s, not reporting", strerror(errno));
	/* Held until the process exits: the relay outlives it (stoporder.h). */
	lock_fd = stoporder_worker_hold(cfg->data_dir);
	if (lock_fd < 0)
		log_warn(NULL, "cannot lock %s/workers.lock: %s; should the supervisor die, the "
			 "relay may stop before this worker's last alerts", cfg->data_dir,
			 strerror(-lock_fd));
	ctx = zmq_ctx_new();
	if (!ctx || worker_link_open(&link, ctx, cfg, o->index) < 0)
		goto out_zmq;
	camera_global_init();
	cams.alerts = &q;
	worker_set_thumbnails(&q, cfg);
	cams.page = page;
	cams.data_dir = cfg->data_dir;
	cams.plugin_dir = cfg->plugin_dir;
	/* The announcement goes out before the camera that crashes starts. */
	if (o->isolate) {
		worker_announce_isolation(cfg, o->isolate, &q, page);
		worker_flush(&link, &q, 0);
	}
	if (config_zk_mode(cfg)) {
		filter.owned = &owned;
		filter.node = cfg->zk_node;
		worker_read_owned(cfg, &owned, NULL);
	}
	camset_apply(&cams, cfg, &filter);
	camset_publish(&cams);
	status_beat(page);
	if (page)
		atomic_store(&page->ready, 1);

	for (;;) {
		zmq_pollitem_t items[] = {
			{ .socket = link.dealer, .events = ZMQ_POLLIN },
			{ .fd = sfd, .events = ZMQ_POLLIN },
			{ .fd = q.wake_fd, .events = ZMQ_POLLIN },
		};
		struct signalfd_siginfo si;
		/* Cluster mode: alerts wait while the supervisor cannot vouch
		 * for this node's claims (see cluster.h). */
		int hold = worker_held(&filter, page);
		/* While the outbox is full the queue stays readable: leave it
		 * out of the poll until acknowledgements make room. */
		int nitems = outbox_full(&link.out) || hold ? 2 : 3;

		if (zmq_poll(items, nitems, outbox_waiting(&link.out) || hold ? 100 : 1000) < 0 &&
		    errno != EINTR) {
			log_err(NULL, "poll: %s", zmq_strerror(errno));
			break;
		}
		worker_acks(&link);
		/* Again after the wait: the process may have been stopped in
		 * it, and woken by the very alerts made on waking. */
		if (!worker_held(&filter, page))
			worker_flush(&link, &q, 1);
		if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				worker_reload(o, &cams, &filter, &owned, &link.out, page,
					      &stats_every);
			} else {
				log_info(NULL, "signal %d, stopping", (int)si.ssi_signo);
				status = 0;
				break;
			}
		}
		time_t now = time(NULL);
		if (page && status_now_ms() - cams.sampled_ms >= 1000)
			camset_publish(&cams);
		status_beat(page);
		if (now - last_stats >= stats_every) {
			camset_log_stats(&cams, (double)(now - started));
			log_info(NULL, "alerts: %zu waiting for the relay, %lu resent, %lu dropped (queue full)",
				 outbox_waiting(&link.out), link.out.resent, q.dropped);
			last_stats = now;
		}
	}
	camset_free(&cams);
	/* Alerts the cameras made while stopping (motion end) go out too. */
	worker_drain(&link, &q);
out_zmq:
	zmq_close(link.dealer);
	zmq_ctx_term(ctx);
	outbox_destroy(&link.out);
	alert_queue_destroy(&q);
out_sfd:
	if (sfd >= 0)
		close(sfd);
	status_page_unmap(page);
	if (lock_fd >= 0)
		close(lock_fd);
	free(filter.excluded);
	free(exbuf);
	owned_free(&owned);
	return status;
}
