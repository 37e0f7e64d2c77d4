/* The supervisor's state, shared by its files: supervisor.c (children,
 * restarts, crashes, reloads, the loop) and supervisor_status.c (systemd
 * and the status endpoints). Not for use outside the supervisor: the
 * reports get what they show through report.h's view. */
#ifndef VIGIL_SUPERVISOR_INT_H
#define VIGIL_SUPERVISOR_INT_H

#include <sys/types.h>

#include "supervisor.h"
#include "status.h"

/* A running child whose heartbeat is older than this is stale: the
 * systemd watchdog is withheld while any child is stale. */
#define SUP_HEARTBEAT_STALE_MS 5000

/* A child silent this long is hung: it is killed and restarted (and its
 * busy cameras counted as in a crash) before the systemd watchdog would
 * restart the whole service. Shortened to half the watchdog interval,
 * but never below twice the stale time. */
#define SUP_HANG_KILL_MS 20000

struct cluster;
struct control;
struct httpd;
struct httpapi;
struct nodealert;

enum sup_kind { SUP_RELAY, SUP_WORKER, SUP_ISOLATED };

struct sup_child {
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

/* A camera's recent worker crashes (see STATUS_CRASH_LIMIT). */
struct sup_suspect {
	char id[64];
	long long at_ms[STATUS_CRASH_LIMIT];
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
	struct httpapi *httpapi;      /* the HTTP API, see httpapi.h; NULL when off */
	struct cluster *cluster;      /* ZooKeeper mode, see cluster.h; else NULL */
	struct nodealert *nodealert;  /* its node_down / node_up alerts */
	char owned_path[4200];        /* DATA_DIR/owned: the claims for the workers */
	unsigned owned_gen;           /* generation of the owned set written */
};

/* supervisor_status.c: open and close the control socket, /metrics and
 * the HTTP API;
 * READY=1 once every child reported in; STATUS= and WATCHDOG=1, at now
 * (monotonic ms). */
void sup_endpoints_open(struct supervisor *s);
void sup_endpoints_close(struct supervisor *s);
void sup_check_ready(struct supervisor *s);
void sup_report(struct supervisor *s, long long now);

#endif
