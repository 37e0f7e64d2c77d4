/* Supervisor; see supervisor.h.
 *
 * Signals are blocked and read from a signalfd in the same poll() as the
 * control socket and the /metrics listener, so SIGCHLD, SIGTERM, SIGINT
 * and SIGHUP are handled in the loop, without handlers. Children get an
 * empty signal mask and PR_SET_PDEATHSIG so that they never outlive the
 * supervisor, and a status page (see status.h) through which they report
 * readiness, heartbeats and their cameras. */
#include "supervisor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "control.h"
#include "fault.h"
#include "httpapi.h"
#include "httpd.h"
#include "log.h"
#include "nodealert.h"
#include "notify.h"
#include "owned.h"
#include "shard.h"
#include "stoporder.h"

/* Every field that keeps a camera id holds the longest one the
 * configuration accepts: none of them cuts an id. */
_Static_assert(STATUS_ID_LEN > VIGIL_TOKEN_MAX, "status page camera id");
_Static_assert(sizeof(((struct sup_suspect *)0)->id) > VIGIL_TOKEN_MAX, "crash record camera id");
_Static_assert(sizeof(((struct sup_child *)0)->isolate) > VIGIL_TOKEN_MAX, "isolated camera id");

#define SUP_BACKOFF_MIN_MS   500
#define SUP_BACKOFF_MAX_MS   30000
#define SUP_STABLE_MS        10000   /* a child up this long resets backoff */
#define SUP_STOP_TIMEOUT_MS  10000
#define SUP_TICK_MS          200
#define SUP_NFIXED           4   /* poll: signals, /metrics, HTTP API, cluster */

/* mkdir -p with mode 0750 for each missing component. */
static int sup_mkdirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0750) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Write the running configuration's text to DATA_DIR/running.conf (mode
 * 0600: it may hold camera passwords), atomically: the children read it,
 * never the file the operator edits. */
static int sup_write_running(struct supervisor *s)
{
	char tmp[4096 + 8];
	int fd, e = 0;
	size_t off = 0;

	if (snprintf(s->running_path, sizeof(s->running_path), "%s/running.conf",
		     s->cfg->data_dir) >= (int)sizeof(s->running_path))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->running_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (off < s->text_len) {
		ssize_t w = write(fd, s->text + off, s->text_len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			break;
		}
		off += (size_t)w;
	}
	if (!e && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, s->running_path) < 0)
		e = errno;
	if (e)
		unlink(tmp);
	return -e;
}

/* Comma-separated list of isolated camera ids (for the workers' argv). */
static char *sup_isolated_list(const struct supervisor *s)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < s->nisolated; i++)
		len += strlen(s->isolated[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; out && i < s->nisolated; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, s->isolated[i]);
	}
	return out;
}

/* Fork and exec a child on its (cleared) status page, with -v when the
 * supervisor logs debug lines. Workers learn the cameras isolated
 * elsewhere from their arguments. A failed fork is
 * retried a second later. */
static int sup_spawn(struct supervisor *s, struct sup_child *ch)
{
	char fdarg[16], *excluded = ch->kind == SUP_WORKER ? sup_isolated_list(s) : NULL;
	pid_t parent = getpid(), pid;

	/* The child runs what the daemon runs, whatever the operator's file
	 * says now: written at start and on reload, again only if gone. */
	int r = s->running_path[0] && access(s->running_path, R_OK) == 0 ? 0
									   : sup_write_running(s);
	if (r < 0) {
		log_err(ch->role, "cannot write %s: %s, retrying in 1 s", s->running_path,
			strerror(-r));
		free(excluded);
		ch->restart_at_ms = status_now_ms() + 1000;
		return r;
	}
	status_page_reset(ch->page);
	atomic_store(&ch->page->restarts, ch->restarts);
	ch->hups = 0;
	ch->hup_pending = 0;
	ch->hung = 0;
	pid = fork();
	if (pid < 0) {
		int e = errno;
		log_err(ch->role, "fork: %s, retrying in 1 s", strerror(e));
		free(excluded);
		ch->restart_at_ms = status_now_ms() + 1000;
		return -e;
	}
	if (pid == 0) {
		sigset_t none;
		char *argv[12];
		int a = 0;
		snprintf(fdarg, sizeof(fdarg), "%d", ch->page_fd);
		argv[a++] = "vigild";
		argv[a++] = "--child";
		argv[a++] = ch->role;
		argv[a++] = "-c";
		argv[a++] = s->running_path;
		argv[a++] = "--status-fd";
		argv[a++] = fdarg;
		if (log_get_level() >= LOG_DEBUG)
			argv[a++] = "-v";
		if (excluded && *excluded) {
			argv[a++] = "--isolated";
			argv[a++] = excluded;
		}
		argv[a] = NULL;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* When the supervisor dies the workers stop at once; the relay
		 * stores what they send meanwhile (see stoporder.h). */
		prctl(PR_SET_PDEATHSIG, ch->kind == SUP_RELAY ? STOPORDER_RELAY_SIGNAL : SIGTERM);
		if (getppid() != parent)
			_exit(1);
		fcntl(ch->page_fd, F_SETFD, 0);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "vigild: exec of child %s failed: %s\n", ch->role, strerror(errno));
		_exit(127);
	}
	free(excluded);
	ch->pid = pid;
	ch->started_ms = status_now_ms();
	log_info(ch->role, "started, pid %d", (int)pid);
	return 0;
}

/* Cameras a child's status page has room for: a worker may get any of
 * this node's cameras (and more after a reload), the relay none. */
static unsigned sup_page_capacity(const struct supervisor *s, enum sup_kind kind)
{
	if (kind == SUP_RELAY)
		return 0;
	if (kind == SUP_ISOLATED)
		return 4;
	return (unsigned)config_local_count(s->cfg) * 2 + 64;
}

/* A new child slot with its status page; not started yet. */
static struct sup_child *sup_add_child(struct supervisor *s, enum sup_kind kind,
				       const char *role, const char *isolate)
{
	struct sup_child *ch;
	int fd;

	if (s->nkids == s->capkids) {
		int cap = s->capkids ? s->capkids * 2 : 8;
		struct sup_child *k = realloc(s->kids, (size_t)cap * sizeof(*k));
		if (!k)
			return NULL;
		s->kids = k;
		s->capkids = cap;
	}
	ch = &s->kids[s->nkids];
	memset(ch, 0, sizeof(*ch));
	fd = status_page_create(&ch->page, sup_page_capacity(s, kind));
	if (fd < 0) {
		log_err(role, "cannot create status page: %s", strerror(-fd));
		return NULL;
	}
	ch->page_fd = fd;
	ch->kind = kind;
	snprintf(ch->role, sizeof(ch->role), "%s", role);
	if (isolate)
		snprintf(ch->isolate, sizeof(ch->isolate), "%s", isolate);
	s->nkids++;
	return ch;
}

/* Free a child slot's status page (the child must be stopped). */
static void sup_child_release(struct sup_child *ch)
{
	status_page_unmap(ch->page);
	if (ch->page_fd >= 0)
		close(ch->page_fd);
	ch->page = NULL;
	ch->page_fd = -1;
}

/* Children for the current config: the relay, the workers, one worker per
 * isolated camera. Appends to kids (which must hold no workers). */
static int sup_plan_workers(struct supervisor *s)
{
	char role[96];
	size_t local = config_local_count(s->cfg);

	s->nworkers = config_worker_count(s->cfg);
	if ((size_t)s->nworkers > local)
		s->nworkers = local ? (int)local : 1;
	for (int i = 0; i < s->nworkers; i++) {
		snprintf(role, sizeof(role), "worker:%d/%d", i, s->nworkers);
		if (!sup_add_child(s, SUP_WORKER, role, NULL))
			return -ENOMEM;
	}
	for (size_t i = 0; i < s->nisolated; i++) {
		snprintf(role, sizeof(role), "isolated:%s", s->isolated[i]);
		if (!sup_add_child(s, SUP_ISOLATED, role, s->isolated[i]))
			return -ENOMEM;
	}
	return 0;
}

/* Cameras of the dead worker that were decoding when it died. A camera
 * present in STATUS_CRASH_LIMIT crashes within the window is returned (its
 * index in suspects), or -1. */
static long sup_note_crash(struct supervisor *s, struct sup_child *ch)
{
	long long now = status_now_ms();
	unsigned n = atomic_load(&ch->page->nslots);
	long found = -1;

	for (unsigned i = 0; i < n && i < ch->page->capacity; i++) {
		struct status_slot *sl = &ch->page->slots[i];
		struct status_text t;
		struct sup_suspect *sp = NULL;

		if (!atomic_load(&sl->used) || !atomic_load(&sl->busy))
			continue;
		status_slot_get_text(sl, &t);
		for (size_t k = 0; k < s->nsuspects && !sp; k++)
			if (strcmp(s->suspects[k].id, t.id) == 0)
				sp = &s->suspects[k];
		if (!sp) {
			struct sup_suspect *v = realloc(s->suspects, (s->nsuspects + 1) * sizeof(*v));
			if (!v)
				continue;
			s->suspects = v;
			sp = &v[s->nsuspects++];
			memset(sp, 0, sizeof(*sp));
			snprintf(sp->id, sizeof(sp->id), "%s", t.id);
		}
		/* Keep the newest STATUS_CRASH_LIMIT crash times. */
		if (sp->n == STATUS_CRASH_LIMIT)
			memmove(sp->at_ms, sp->at_ms + 1, (STATUS_CRASH_LIMIT - 1) * sizeof(sp->at_ms[0]));
		else
			sp->n++;
		sp->at_ms[sp->n - 1] = now;
		log_warn(t.id, "was decoding when %s died (%d time(s) within %d min)", ch->role,
			 sp->n, STATUS_CRASH_WINDOW_MS / 60000);
		if (sp->n == STATUS_CRASH_LIMIT && now - sp->at_ms[0] <= STATUS_CRASH_WINDOW_MS &&
		    ch->kind == SUP_WORKER)
			found = sp - s->suspects;
	}
	return found;
}

/* Move a camera into a worker of its own. The crashed worker is restarted
 * without it; running workers do not own it. */
static void sup_isolate(struct supervisor *s, struct sup_child *crashed, const char *id)
{
	char role[96], **v = realloc(s->isolated, (s->nisolated + 1) * sizeof(*v));
	struct sup_child *ch;

	if (!v || !(v[s->nisolated] = strdup(id))) {
		if (v)
			s->isolated = v;
		return;
	}
	s->isolated = v;
	s->nisolated++;
	crashed->backoff_ms = 0;
	crashed->restart_at_ms = status_now_ms();
	snprintf(role, sizeof(role), "isolated:%s", id);
	log_err(id, "crashed its worker %d times within %d min: isolating it in a worker of its own",
		STATUS_CRASH_LIMIT, STATUS_CRASH_WINDOW_MS / 60000);
	ch = sup_add_child(s, SUP_ISOLATED, role, id);
	if (ch)
		sup_spawn(s, ch);
}

/* Record the exit of a child and schedule its restart. */
static void sup_reaped(struct supervisor *s, int k, int status, int stopping)
{
	struct sup_child *ch = &s->kids[k];
	long long now = status_now_ms(), ran = now - ch->started_ms;
	int crashed = 0;
	long culprit = -1;

	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		log_warn(ch->role, "pid %d killed by signal %d after %lld ms", (int)ch->pid, sig, ran);
		crashed = sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS || sig == SIGFPE ||
			  sig == SIGILL || sig == SIGTRAP || sig == SIGSYS || ch->hung;
	} else {
		log_info(ch->role, "pid %d exited with status %d after %lld ms", (int)ch->pid,
			 WEXITSTATUS(status), ran);
	}
	ch->pid = 0;
	if (stopping)
		return;
	if (crashed && ch->kind != SUP_RELAY)
		culprit = sup_note_crash(s, ch);
	if (ran >= SUP_STABLE_MS || ch->backoff_ms == 0)
		ch->backoff_ms = SUP_BACKOFF_MIN_MS;
	else if ((ch->backoff_ms *= 2) > SUP_BACKOFF_MAX_MS)
		ch->backoff_ms = SUP_BACKOFF_MAX_MS;
	ch->restart_at_ms = now + ch->backoff_ms;
	ch->restarts++;
	log_warn(ch->role, "restarting in %.1f s", (double)ch->backoff_ms / 1000.0);
	if (culprit >= 0)
		sup_isolate(s, &s->kids[k], s->suspects[culprit].id);
}

static void sup_reap_all(struct supervisor *s, int stopping)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < s->nkids; i++)
			if (s->kids[i].pid == pid) {
				sup_reaped(s, i, status, stopping);
				break;
			}
	}
}

static void sup_signal_where(struct supervisor *s, int sig, int (*match)(const struct sup_child *))
{
	for (int i = 0; i < s->nkids; i++)
		if (s->kids[i].pid > 0 && (!match || match(&s->kids[i])))
			kill(s->kids[i].pid, sig);
}

/* SIGTERM to the matching children, then wait until the deadline; a
 * second SIGTERM/SIGINT or the deadline turns it into SIGKILL. Used for
 * the final stop and for restarting some children on reload. */
static void sup_stop_where(struct supervisor *s, int (*match)(const struct sup_child *),
			   long long deadline)
{
	int forced = 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sup_signal_where(s, SIGTERM, match);
	for (;;) {
		int left = 0;
		for (int i = 0; i < s->nkids; i++)
			left += s->kids[i].pid > 0 && (!match || match(&s->kids[i]));
		if (!left)
			break;
		struct timespec tmo = { .tv_sec = 0, .tv_nsec = 100000000 };
		int sig = sigtimedwait(&set, NULL, &tmo);
		if (!forced && (status_now_ms() >= deadline || sig == SIGTERM || sig == SIGINT)) {
			log_warn(NULL, "children still running, killing them");
			sup_signal_where(s, SIGKILL, match);
			forced = 1;
		}
		sup_reap_all(s, 1);
	}
}

static int sup_is_worker(const struct sup_child *ch)
{
	return ch->kind != SUP_RELAY;
}

static int sup_is_relay(const struct sup_child *ch)
{
	return ch->kind == SUP_RELAY;
}

/* Drop every worker child (they must be stopped) from kids. */
static void sup_drop_workers(struct supervisor *s)
{
	int w = 0;

	for (int i = 0; i < s->nkids; i++) {
		if (s->kids[i].kind == SUP_RELAY)
			s->kids[w++] = s->kids[i];
		else
			sup_child_release(&s->kids[i]);
	}
	s->nkids = w;
}

static int sup_is_retired(const struct sup_child *ch)
{
	return ch->retire;
}

/* Isolated cameras that left the config or this server's shard lose
 * their worker (stopped and removed). */
static void sup_prune_isolated(struct supervisor *s)
{
	size_t w = 0;
	int k = 0, any = 0;

	for (size_t i = 0; i < s->nisolated; i++) {
		int keep = 0;
		for (size_t c = 0; c < s->cfg->ncameras && !keep; c++)
			keep = strcmp(s->cfg->cameras[c].id, s->isolated[i]) == 0 &&
			       config_camera_local(s->cfg, c);
		if (keep) {
			s->isolated[w++] = s->isolated[i];
			continue;
		}
		log_info(s->isolated[i], "no longer in this node's cameras, stopping its worker");
		for (int c = 0; c < s->nkids; c++)
			if (s->kids[c].kind == SUP_ISOLATED &&
			    strcmp(s->kids[c].isolate, s->isolated[i]) == 0)
				any = s->kids[c].retire = 1;
		free(s->isolated[i]);
	}
	s->nisolated = w;
	if (!any)
		return;
	sup_stop_where(s, sup_is_retired, status_now_ms() + SUP_STOP_TIMEOUT_MS);
	for (int i = 0; i < s->nkids; i++) {
		if (s->kids[i].retire)
			sup_child_release(&s->kids[i]);
		else
			s->kids[k++] = s->kids[i];
	}
	s->nkids = k;
}

/* Deliver pending reload requests to the children that are ready. */
static void sup_send_hups(struct supervisor *s)
{
	for (int i = 0; i < s->nkids; i++) {
		struct sup_child *ch = &s->kids[i];
		if (ch->hup_pending && ch->pid > 0 && atomic_load(&ch->page->ready)) {
			kill(ch->pid, SIGHUP);
			ch->hup_pending = 0;
		}
	}
}

/* Log a rejected config's error lines through vlog. */
static void sup_log_errors(const char *errs)
{
	const char *p = errs;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		log_err(NULL, "reload: %.*s", len, p);
		p = nl ? nl + 1 : NULL;
	}
}

static int sup_str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether the cluster runs the same under both configs. */
static int sup_cluster_equal(const struct vigil_config *a, const struct vigil_config *b)
{
	return sup_str_equal(a->zk_hosts, b->zk_hosts) && sup_str_equal(a->zk_node, b->zk_node) &&
	       sup_str_equal(a->zk_cluster, b->zk_cluster) &&
	       a->zk_session_timeout == b->zk_session_timeout;
}

static int sup_cluster_open(struct supervisor *s);

/* After a reload: the same cluster follows the new inventory; another
 * one (or none) is a new registration. */
static void sup_cluster_reload(struct supervisor *s, const struct vigil_config *old)
{
	if (s->cluster && config_zk_mode(s->cfg) && sup_cluster_equal(old, s->cfg)) {
		cluster_remap(s->cluster, old);
		return;
	}
	if (!s->cluster && !config_zk_mode(s->cfg))
		return;
	log_info(NULL, "reload: cluster settings changed, registering again");
	cluster_close(s->cluster);
	nodealert_close(s->nodealert);
	s->cluster = NULL;
	s->nodealert = NULL;
	s->owned_gen = 0;
	if (sup_cluster_open(s) < 0)
		log_err(NULL, "reload: cannot start the cluster session");
}

/* SIGHUP: check the new config; apply it or keep the old one. Workers
 * reload in place (SIGHUP) unless the worker count, the cluster or the
 * data directory changed; the relay is restarted when its settings
 * (anything under alerts, instance, data directory) changed. */
static void sup_reload(struct supervisor *s)
{
	struct vigil_config next, old;
	char *errs = NULL, *text = NULL, *old_text, old_running[sizeof(s->running_path)];
	size_t errlen = 0, text_len = 0, old_len;
	FILE *err = open_memstream(&errs, &errlen);
	int n, restart_workers, restart_relay, reopen;

	notify_reloading();
	log_info(NULL, "SIGHUP: reloading %s", s->config_path);
	if (!err) {
		log_err(NULL, "reload: out of memory, keeping the running configuration");
		notify_ready();
		return;
	}
	n = config_load_text(s->config_path, &next, err, &text, &text_len);
	fclose(err);
	if (n) {
		sup_log_errors(errs);
		log_err(NULL, "reload: %s has %d error(s), keeping the running configuration",
			s->config_path, n);
		config_free(&next);
		free(errs);
		notify_ready();
		return;
	}
	free(errs);
	/* Children read the new text from now on: written first, and a
	 * failure keeps the running configuration. */
	old = *s->cfg;
	old_text = s->text;
	old_len = s->text_len;
	memcpy(old_running, s->running_path, sizeof(old_running));
	*s->cfg = next;
	s->text = text;
	s->text_len = text_len;
	n = sup_mkdirs(next.data_dir);
	if (n >= 0)
		n = sup_write_running(s);
	if (n < 0) {
		log_err(NULL, "reload: cannot write the running configuration to %s: %s, keeping "
			"the running configuration", s->running_path, strerror(-n));
		*s->cfg = old;
		s->text = old_text;
		s->text_len = old_len;
		memcpy(s->running_path, old_running, sizeof(old_running));
		config_free(&next);
		free(text);
		notify_ready();
		return;
	}
	free(old_text);
	if (strcmp(old_running, s->running_path) != 0)
		unlink(old_running);
	reopen = strcmp(old.data_dir, next.data_dir) != 0 ||
		 old.metrics_port != next.metrics_port || old.http_port != next.http_port ||
		 strcmp(old.http_bind, next.http_bind) != 0 ||
		 !sup_str_equal(old.http_token_file, next.http_token_file);
	if (reopen) {
		/* The endpoints' paths come from the old data directory. */
		*s->cfg = old;
		sup_endpoints_close(s);
		*s->cfg = next;
	}
	restart_relay = !config_relay_equal(&old, &next);
	/* Workers reach the relay through data_dir; the rest is theirs. */
	restart_workers = strcmp(old.data_dir, next.data_dir) != 0 ||
			  config_worker_count(&old) != config_worker_count(&next) ||
			  old.nodes != next.nodes || old.node != next.node ||
			  config_zk_mode(&old) != config_zk_mode(&next) ||
			  !sup_str_equal(old.zk_node, next.zk_node);
	sup_prune_isolated(s);
	if (restart_relay) {
		log_info(NULL, "reload: relay settings changed, restarting the relay");
		sup_stop_where(s, sup_is_relay, status_now_ms() + SUP_STOP_TIMEOUT_MS);
		sup_mkdirs(s->cfg->data_dir);
	}
	if (reopen)
		sup_endpoints_open(s);
	if (restart_workers) {
		log_info(NULL, "reload: worker layout changed, restarting the workers");
		sup_stop_where(s, sup_is_worker, status_now_ms() + SUP_STOP_TIMEOUT_MS);
		sup_drop_workers(s);
		sup_plan_workers(s);
	} else {
		/* Workers diff their cameras themselves. */
		/* A worker still starting up gets its SIGHUP once ready (it
		 * may have read the file before it changed). */
		for (int i = 0; i < s->nkids; i++) {
			struct sup_child *ch = &s->kids[i];
			if (ch->kind == SUP_RELAY || ch->pid <= 0)
				continue;
			atomic_store(&ch->page->reload_wanted, ++ch->hups);
			ch->hup_pending = 1;
		}
		sup_send_hups(s);
	}
	for (int i = 0; i < s->nkids; i++)
		if (s->kids[i].pid == 0)
			s->kids[i].restart_at_ms = 0;
	sup_cluster_reload(s, &old);
	config_free(&old);
	s->reloading = 1;
	s->ready_sent = 0;
}

/* Hand the cluster's owned set to the workers: the file, then SIGHUP
 * (once each is ready). A failed write is tried again next turn: until
 * then the workers keep what they had, and no claim is released. */
static void sup_hand_owned(struct supervisor *s)
{
	unsigned gen;
	const struct owned_set *o = cluster_owned(s->cluster, &gen);
	int r = owned_write(s->owned_path, o);

	if (r < 0) {
		log_err("cluster", "cannot write %s: %s, retrying", s->owned_path, strerror(-r));
		return;
	}
	s->owned_gen = gen;
	for (int i = 0; i < s->nkids; i++) {
		struct sup_child *ch = &s->kids[i];
		if (ch->kind == SUP_RELAY || ch->pid <= 0)
			continue;
		atomic_store(&ch->page->reload_wanted, ++ch->hups);
		ch->hup_pending = 1;
	}
	sup_send_hups(s);
}

/* Whether every running worker has applied the latest owned set. */
static int sup_workers_settled(const struct supervisor *s)
{
	for (int i = 0; i < s->nkids; i++) {
		const struct sup_child *ch = &s->kids[i];
		if (ch->kind == SUP_RELAY || ch->pid <= 0)
			continue;
		if (!atomic_load(&ch->page->ready) || ch->hup_pending ||
		    atomic_load(&ch->page->reloads) < ch->hups)
			return 0;
	}
	return 1;
}

/* One turn of the cluster (ZooKeeper mode): claims and releases, the
 * owned set to the workers, their alert fence, node alerts. Returns -1
 * when the cluster refused this node. */
static int sup_cluster(struct supervisor *s, long long now)
{
	struct cluster_alert a;
	unsigned gen;
	int flags, settled, open;
	long long horizon;

	if (!s->cluster)
		return 0;
	flags = cluster_step(s->cluster, now);
	if (flags & CLUSTER_FATAL)
		return -1;
	cluster_owned(s->cluster, &gen);
	if (gen != s->owned_gen)
		sup_hand_owned(s);
	settled = gen == s->owned_gen && sup_workers_settled(s);
	if (settled)
		cluster_applied(s->cluster, s->owned_gen);
	/* Workers publish until shortly after the latest turn that vouched
	 * for the claims, well within a session timeout: a node frozen
	 * longer stops publishing before its session can expire. */
	horizon = (long long)s->cfg->zk_session_timeout * 1000 / 3;
	if (horizon > 1500)
		horizon = 1500;
	open = settled && cluster_fenced(s->cluster);
	cluster_set_publishing(s->cluster, open);
	if (open)
		for (int i = 0; i < s->nkids; i++)
			atomic_store(&s->kids[i].page->fence_ms, now + horizon);
	while (cluster_take_alert(s->cluster, &a)) {
		nodealert_push(s->nodealert, &a);
		free(a.detail);
		free(a.moved_json);
	}
	nodealert_pump(s->nodealert);
	return 0;
}

/* ZooKeeper mode: no camera is owned until claimed (a stale file from a
 * previous run is replaced), then the session starts. */
static int sup_cluster_open(struct supervisor *s)
{
	struct owned_set none = { 0 };
	int r;

	if (!config_zk_mode(s->cfg))
		return 0;
	owned_path(s->cfg->data_dir, s->owned_path, sizeof(s->owned_path));
	r = owned_write(s->owned_path, &none);
	if (r < 0) {
		log_err("cluster", "cannot write %s: %s", s->owned_path, strerror(-r));
		return r;
	}
	s->cluster = cluster_open(s->cfg);
	if (!s->cluster)
		return -ENOMEM;
	s->nodealert = nodealert_open(s->cfg);
	return 0;
}

/* Kill children that stopped beating for hang_ms (or never started to);
 * they are restarted like crashed ones. */
static void sup_kill_hung(struct supervisor *s, long long now)
{
	for (int i = 0; i < s->nkids; i++) {
		struct sup_child *ch = &s->kids[i];
		long long hb = atomic_load(&ch->page->heartbeat_ms);
		long long silent = now - (hb ? hb : ch->started_ms);
		if (ch->pid <= 0 || ch->hung || silent < s->hang_ms)
			continue;
		log_err(ch->role, "pid %d: no heartbeat for %lld ms, killing it", (int)ch->pid, silent);
		ch->hung = 1;
		kill(ch->pid, SIGKILL);
	}
}

static int sup_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Returns 1 when a stop was asked. */
static int sup_take_signals(struct supervisor *s)
{
	struct signalfd_siginfo si;
	int stop = 0, hup = 0;

	while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info(NULL, "signal %d, stopping", (int)si.ssi_signo);
			stop = 1;
		} else if (si.ssi_signo == SIGHUP) {
			hup = 1;
		}
	}
	sup_reap_all(s, 0);
	if (hup && !stop)
		sup_reload(s);
	return stop;
}

static void sup_free(struct supervisor *s)
{
	for (int i = 0; i < s->nkids; i++)
		sup_child_release(&s->kids[i]);
	free(s->kids);
	for (size_t i = 0; i < s->nisolated; i++)
		free(s->isolated[i]);
	free(s->isolated);
	free(s->suspects);
	free(s->text);
	/* After the workers stopped: the claims go with the session. */
	cluster_close(s->cluster);
	nodealert_close(s->nodealert);
	if (s->sfd >= 0)
		close(s->sfd);
}

int supervisor_run(struct vigil_config *cfg, const char *config_path, char *text,
		   size_t text_len)
{
	struct supervisor s = { .cfg = cfg, .config_path = config_path, .sfd = -1,
				.text = text, .text_len = text_len };
	long long stop_deadline;
	int r, status = 0;

	r = sup_mkdirs(cfg->data_dir);
	if (r < 0) {
		log_err(NULL, "cannot create data directory %s: %s", cfg->data_dir, strerror(-r));
		return 1;
	}
	/* A file-size limit must show as EFBIG, not kill the supervisor. */
	signal(SIGXFSZ, SIG_IGN);
	s.sfd = sup_signalfd();
	if (s.sfd < 0 || !sup_add_child(&s, SUP_RELAY, "relay", NULL) ||
	    sup_plan_workers(&s) < 0 || sup_cluster_open(&s) < 0) {
		log_err(NULL, "cannot set up the supervisor: %s", strerror(errno));
		sup_free(&s);
		return 1;
	}
	if (fault_abort_url())
		log_warn(NULL, "VIGIL_FAULT_ABORT_URL is set: the fault-injection hook for tests is armed");
	s.started_ms = status_now_ms();
	s.watchdog_us = notify_watchdog_usec();
	s.hang_ms = SUP_HANG_KILL_MS;
	if (s.watchdog_us && (long long)(s.watchdog_us / 2000) < s.hang_ms)
		s.hang_ms = (long long)(s.watchdog_us / 2000);
	if (s.hang_ms < 2 * SUP_HEARTBEAT_STALE_MS)
		s.hang_ms = 2 * SUP_HEARTBEAT_STALE_MS;
	sup_endpoints_open(&s);
	if (s.cluster)
		log_info(NULL, "instance %s: cluster member, %zu camera(s) in the inventory, "
			 "%d worker(s)", cfg->instance, cfg->ncameras, s.nworkers);
	else
		log_info(NULL, "instance %s: %zu of %zu camera(s) on this node, %d worker(s)",
			 cfg->instance, config_local_count(cfg), cfg->ncameras, s.nworkers);
	for (int i = 0; i < s.nkids; i++)
		sup_spawn(&s, &s.kids[i]);

	for (;;) {
		struct pollfd fds[SUP_NFIXED + CONTROL_NPOLL] = {
			{ .fd = s.sfd, .events = POLLIN },
			{ .fd = httpd_pollfd(s.httpd), .events = POLLIN },
			{ .fd = httpapi_pollfd(s.httpapi), .events = POLLIN },
			{ .fd = cluster_pollfd(s.cluster), .events = POLLIN },
		};
		int nctl = control_pollfds(s.control, fds + SUP_NFIXED, CONTROL_NPOLL);
		int tick = SUP_TICK_MS, t;
		long long now;

		/* Replies that can go out at once, pictures awaited. */
		t = httpapi_timeout_ms(s.httpapi);
		if (t >= 0 && t < tick)
			tick = t;
		t = httpd_timeout_ms(s.httpd);
		if (t >= 0 && t < tick)
			tick = t;
		if (poll(fds, (nfds_t)(SUP_NFIXED + nctl), tick) < 0 && errno != EINTR) {
			log_err(NULL, "poll: %s", strerror(errno));
			break;
		}
		if (sup_take_signals(&s))
			break;
		control_dispatch(s.control, fds + SUP_NFIXED, nctl);
		httpd_run(s.httpd);
		httpapi_run(s.httpapi);
		now = status_now_ms();
		if (sup_cluster(&s, now) < 0) {
			status = 1;
			break;
		}
		for (int i = 0; i < s.nkids; i++)
			if (s.kids[i].pid == 0 && now >= s.kids[i].restart_at_ms)
				sup_spawn(&s, &s.kids[i]);
		sup_send_hups(&s);
		sup_check_ready(&s);
		sup_report(&s, now);
		sup_kill_hung(&s, now);
	}
	/* Workers first, so that the alerts they send while stopping (event
	 * ends) still reach the relay; one deadline for both. */
	notify_stopping();
	stop_deadline = status_now_ms() + SUP_STOP_TIMEOUT_MS;
	sup_stop_where(&s, sup_is_worker, stop_deadline);
	sup_stop_where(&s, NULL, stop_deadline);
	sup_endpoints_close(&s);
	log_info(NULL, "stopped");
	sup_free(&s);
	return status;
}
