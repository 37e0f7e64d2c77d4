/* Worker process; see worker.h.
 *
 * Camera threads never touch ZeroMQ: they put serialised alerts on a
 * queue, and this process's main thread, the only owner of the socket,
 * sends them to the relay. The main thread also handles signals (through
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
#include "status.h"
#include "supervisor.h"

#define WORKER_QUEUE_CAP     4096

int worker_owns(const struct vigil_config *cfg, size_t camera, int index, int count)
{
	struct camset_filter f = { .index = index, .count = count };

	return camset_wants(&f, cfg, camera);
}
void worker_relay_endpoint(const struct vigil_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "ipc://%s/relay.ipc", cfg->data_dir);
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
			 "camera isolated in a worker of its own", SUP_CRASH_LIMIT,
			 SUP_CRASH_WINDOW_MS / 60000);
		struct alert a = {
			.cam = cam, .type = "worker_crashloop", .phase = "start", .id = evid,
			.severity = config_site_severity(cam->site), .ts_us = now, .detail = detail,
			.clip_duration = -1,
		};
		if (alert_queue_push(q, &a) < 0)
			log_err(id, "alert queue full, worker_crashloop alert dropped");
		else
			log_warn(id, "alert worker_crashloop start id=%s: %s", evid, detail);
	}
}

/* Re-read the configuration after SIGHUP. An invalid file changes nothing.
 * The cameras and the statistics interval follow the file. */
static void worker_reload(const struct worker_opts *o, struct camset *cams,
			  const struct camset_filter *f, struct status_page *page,
			  int *stats_every)
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
		camset_apply(cams, &next, f);
		*stats_every = next.stats_interval;
	}
	if (n >= 0)
		config_free(&next);
	free(errs);
	camset_publish(cams);
	if (page)
		atomic_store(&page->reloads, want);
}

int worker_run(const struct vigil_config *cfg, const struct worker_opts *o)
{
	struct camset_filter filter = { .index = o->index, .count = o->count,
					.isolate = o->isolate };
	struct camset cams = { 0 };
	struct status_page *page = NULL;
	struct alert_queue q;
	char endpoint[512], *pending = NULL, *exbuf = NULL;
	void *ctx = NULL, *push = NULL;
	int sfd, linger = 2000, status = 1, stats_every = cfg->stats_interval;
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
	cams.alerts = &q;
	cams.page = page;
	cams.data_dir = cfg->data_dir;
	cams.plugin_dir = cfg->plugin_dir;
	/* The announcement goes out before the camera that crashes starts. */
	if (o->isolate) {
		worker_announce_isolation(cfg, o->isolate, &q, page);
		worker_flush(push, &q, &pending);
	}
	camset_apply(&cams, cfg, &filter);
	camset_publish(&cams);
	status_beat(page);
	if (page)
		atomic_store(&page->ready, 1);

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
		if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				worker_reload(o, &cams, &filter, page, &stats_every);
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
			last_stats = now;
		}
	}
	camset_free(&cams);
	/* Alerts the cameras made while stopping (motion end) go out too. */
	worker_flush(push, &q, &pending);
	free(pending);
out_zmq:
	zmq_close(push);
	zmq_ctx_term(ctx);
	alert_queue_destroy(&q);
out_sfd:
	if (sfd >= 0)
		close(sfd);
	status_page_unmap(page);
	free(filter.excluded);
	free(exbuf);
	return status;
}
