/* Supervisor; see supervisor.h.
 *
 * Signals are blocked and taken synchronously with sigtimedwait(), so the
 * loop handles SIGCHLD, SIGTERM and SIGINT in one place without handlers.
 * Children get an empty signal mask and PR_SET_PDEATHSIG so that they
 * never outlive the supervisor. */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SUP_BACKOFF_MIN_MS   500
#define SUP_BACKOFF_MAX_MS   30000
#define SUP_STABLE_MS        10000   /* a child up this long resets backoff */
#define SUP_STOP_TIMEOUT_MS  10000

struct sup_child {
	char role[32];        /* "relay" or "worker:I/N" */
	pid_t pid;            /* 0 when not running */
	long long started_ms;
	long long restart_at_ms;
	long long backoff_ms;
	unsigned restarts;
};

static long long sup_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static int sup_spawn(struct sup_child *ch, const char *config_path, pid_t parent)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_err(ch->role, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		sigset_t none;
		char *argv[] = { "vigild", "--child", ch->role, "-c", (char *)config_path, NULL };
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "vigild: exec of child %s failed: %s\n", ch->role, strerror(errno));
		_exit(127);
	}
	ch->pid = pid;
	ch->started_ms = sup_now_ms();
	log_info(ch->role, "started, pid %d", (int)pid);
	return 0;
}

/* Record the exit of a child and schedule its restart. */
static void sup_reaped(struct sup_child *ch, int status, int stopping)
{
	long long now = sup_now_ms(), ran = now - ch->started_ms;

	if (WIFSIGNALED(status))
		log_warn(ch->role, "pid %d killed by signal %d after %lld ms", (int)ch->pid,
			 WTERMSIG(status), ran);
	else
		log_info(ch->role, "pid %d exited with status %d after %lld ms", (int)ch->pid,
			 WEXITSTATUS(status), ran);
	ch->pid = 0;
	if (stopping)
		return;
	if (ran >= SUP_STABLE_MS || ch->backoff_ms == 0)
		ch->backoff_ms = SUP_BACKOFF_MIN_MS;
	else if ((ch->backoff_ms *= 2) > SUP_BACKOFF_MAX_MS)
		ch->backoff_ms = SUP_BACKOFF_MAX_MS;
	ch->restart_at_ms = now + ch->backoff_ms;
	ch->restarts++;
	log_warn(ch->role, "restarting in %.1f s", (double)ch->backoff_ms / 1000.0);
}

static void sup_reap_all(struct sup_child *kids, int n, int stopping)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < n; i++)
			if (kids[i].pid == pid)
				sup_reaped(&kids[i], status, stopping);
	}
}

static int sup_running(const struct sup_child *kids, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += kids[i].pid > 0;
	return k;
}

static void sup_signal_all(struct sup_child *kids, int n, int sig)
{
	for (int i = 0; i < n; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, sig);
}

/* SIGTERM to children [from, to), then wait for them while reaping any
 * child; a second signal or the timeout turns it into SIGKILL. */
static void sup_stop_range(struct sup_child *kids, int n, int from, int to,
			   const sigset_t *set)
{
	long long deadline = sup_now_ms() + SUP_STOP_TIMEOUT_MS;
	int forced = 0;

	sup_signal_all(kids + from, to - from, SIGTERM);
	while (sup_running(kids + from, to - from) > 0) {
		long long left = deadline - sup_now_ms();
		struct timespec tmo = { .tv_sec = 0, .tv_nsec = 100000000 };
		int sig = sigtimedwait(set, NULL, &tmo);

		if (!forced && (left <= 0 || sig == SIGTERM || sig == SIGINT)) {
			log_warn(NULL, "children still running, killing them");
			sup_signal_all(kids + from, to - from, SIGKILL);
			forced = 1;
		}
		sup_reap_all(kids, n, 1);
	}
}

/* Workers first, then the relay (kids[0]): the alerts workers make while
 * stopping (motion end) are still stored and acknowledged. */
static void sup_stop(struct sup_child *kids, int n, const sigset_t *set)
{
	sup_stop_range(kids, n, 1, n, set);
	sup_stop_range(kids, n, 0, 1, set);
}

int supervisor_run(const struct vigil_config *cfg, const char *config_path)
{
	int nworkers = config_worker_count(cfg), n, r;
	pid_t self = getpid();
	struct sup_child *kids;
	sigset_t set;

	if ((size_t)nworkers > cfg->ncameras)
		nworkers = (int)cfg->ncameras;
	r = sup_mkdirs(cfg->data_dir);
	if (r < 0) {
		log_err(NULL, "cannot create data directory %s: %s", cfg->data_dir, strerror(-r));
		return 1;
	}
	n = nworkers + 1;
	kids = calloc((size_t)n, sizeof(*kids));
	if (!kids)
		return 1;
	snprintf(kids[0].role, sizeof(kids[0].role), "relay");
	for (int i = 0; i < nworkers; i++)
		snprintf(kids[i + 1].role, sizeof(kids[i + 1].role), "worker:%d/%d", i, nworkers);

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	log_info(NULL, "instance %s: %zu camera(s) on %d worker(s)", cfg->instance,
		 cfg->ncameras, nworkers);
	for (int i = 0; i < n; i++)
		sup_spawn(&kids[i], config_path, self);

	for (;;) {
		struct timespec tmo = { .tv_sec = 0, .tv_nsec = 200000000 };
		int sig = sigtimedwait(&set, NULL, &tmo);
		long long now = sup_now_ms();

		if (sig == SIGTERM || sig == SIGINT) {
			log_info(NULL, "signal %d, stopping", sig);
			break;
		}
		if (sig == SIGHUP)
			log_info(NULL, "SIGHUP: reload is not supported yet, ignoring");
		sup_reap_all(kids, n, 0);
		for (int i = 0; i < n; i++)
			if (kids[i].pid == 0 && now >= kids[i].restart_at_ms)
				sup_spawn(&kids[i], config_path, self);
	}
	sup_stop(kids, n, &set);
	log_info(NULL, "stopped");
	free(kids);
	return 0;
}
