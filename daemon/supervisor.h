/* Supervisor: starts the relay and the workers (fork + exec of this same
 * binary), restarts a child that dies with a growing delay, reloads on
 * SIGHUP, isolates a camera that keeps crashing its worker, reports to
 * systemd and answers status requests. Stops them all on SIGTERM/SIGINT.
 * Holds no FFmpeg or ZeroMQ state. */
#ifndef VIGIL_SUPERVISOR_H
#define VIGIL_SUPERVISOR_H

#include <sys/types.h>

#include "config.h"
#include "status.h"

/* A camera present in this many worker crashes within the window is
 * moved into a worker of its own. */
#define SUP_CRASH_LIMIT      3
#define SUP_CRASH_WINDOW_MS  (10 * 60 * 1000)

/* A running child whose heartbeat is older than this is stale: the
 * systemd watchdog is withheld while any child is stale. */
#define SUP_HEARTBEAT_STALE_MS 5000

/* A child silent this long is hung: it is killed and restarted (and its
 * busy cameras counted as in a crash) before the systemd watchdog would
 * restart the whole service. Shortened to half the watchdog interval,
 * but never below twice the stale time. */
#define SUP_HANG_KILL_MS 20000

struct control;
struct httpd;

enum sup_kind { SUP_RELAY, SUP_WORKER, SUP_ISOLATED };

struct sup_child {
	/* A running child whose heartbeat is older than this is stale: the
 * systemd watchdog is withheld while any child is stale. */
#define SUP_HEARTBEAT_STALE_MS 5000

/* A child silent this long is hung: it is killed and restarted (and its
 * busy cameras counted as in a crash) before the systemd watchdog would
 * restart the whole service. Shortened to half the watchdog interval,
 * but never below twice the stale time. */
#define SUP_HANG_KILL_MS 20000

enum sup_kind kind;
	char role[96];            /* "relay", "worker:I/N", "isolated:ID" */
	char isolate[64];         /* SUP_ISOLATED: the camera id */
	pid_t pid;                /* 0 when not running */
	long long started_ms;     /* monotonic */
	long long restart_at_ms;
	long long backoff_ms;
	unsigned restarts;
	unsigned hups;            /* reload generation asked of this process */
	int hup_pending;          /* SIGHUP to send once the child is ready */
	int retire;               /* to be stopped and removed (reload) */
	int hung;                 /* killed for not beating: counts as a crash */
	struct status_page *page; /* shared with the child, kept over restarts */
	int page_fd;
};

/* A camera's recent worker crashes. */
struct sup_suspect {
	char id[64];
	long long at_ms[SUP_CRASH_LIMIT];
	int n;
};

struct supervisor {
	struct vigil_config *cfg;     /* current configuration (owned) */
	const char *config_path;      /* the operator's file, read on SIGHUP */
	char *text;                   /* its checked text, as running (owned) */
	size_t text_len;
	char running_path[4096];      /* DATA_DIR/running.conf: what children read */
	struct sup_child *kids;
	int nkids, capkids;
	int nworkers;
	char **isolated;              /* ids with a worker of their own */
	size_t nisolated;
	struct sup_suspect *suspects;
	size_t nsuspects;
	long long started_ms;
	int sfd;                      /* signalfd */
	int ready_sent, reloading;
	unsigned long long watchdog_us;
	long long next_watchdog_ms, next_status_ms;
	long long hang_ms;            /* see SUP_HANG_KILL_MS */
	char status_line[160];
	int watchdog_withheld;
	struct control *control;      /* control socket, see control.h */
	struct httpd *httpd;          /* /metrics, see httpd.h; NULL when off */
};

/* cfg and text (config_load_text's, of config_path) are taken over
 * (freed or replaced on reload); returns the exit status. The children
 * are handed the text, never the file: a child restarted after a crash
 * runs the configuration the daemon runs, whatever is on disk. */
int supervisor_run(struct vigil_config *cfg, const char *config_path, char *text,
		   size_t text_len);

#endif
