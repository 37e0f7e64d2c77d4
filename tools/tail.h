/* vigil-tail internals: sources (one vigil instance each), cursors and
 * printing.
 *
 * A source is a SUB socket on an instance's publish endpoint and, when
 * known, a DEALER on its replay endpoint. The source remembers the
 * instance's epoch and its position: every alert up to that seq has been
 * printed or did not match the prefixes. Alerts arrive live; a jump in
 * seq, a heartbeat ahead of the position, a new epoch or a first contact
 * with a saved cursor all lead to a catch-up through replay, so that each
 * alert is printed once, in seq order. */
#ifndef VIGIL_TAIL_H
#define VIGIL_TAIL_H

#include <json-c/json.h>
#include <stdint.h>

#define TAIL_MAX_PREFIXES 16

struct tail_opts {
	int json, show_hb;
	const char *prefixes[TAIL_MAX_PREFIXES];
	int nprefixes;
	long count;             /* stop after this many alerts (0: never) */
	long printed;
	/* CURVE, optional: the server's public key (a file, or the 40
	 * characters of Z85 themselves) and this client's key file. */
	const char *server_key_file, *key_file;
	const char *thumb_dir;  /* save live alerts' thumbnails here, or NULL */
	/* Called for every alert delivered (once each, in seq order); the
	 * source's opts are passed, user is for the caller. */
	void (*deliver)(const struct tail_opts *o, json_object *a, const char *payload);
	void *user;
	const char *prog;       /* name in log lines (default vigil-tail) */
};

struct tail_source {
	char *publish, *replay;
	void *sub, *req;
	void *ctx;
	const struct tail_opts *opts;
	char instance[128];     /* empty until the first message */
	int64_t epoch;          /* -1: unknown */
	int64_t pos;            /* newest seq accounted for, -1: unknown */
	int behind;             /* a catch-up failed: retry before printing */
	double last_try;        /* monotonic seconds of the last catch-up */
	double last_hb;         /* monotonic seconds */
	int hb_warned;
	int dirty;              /* position changed since the cursor was saved */
};

/* Cursor file: one "instance epoch seq" line per instance. */
struct tail_cursor {
	char instance[128];
	int64_t epoch, seq;
};

int tail_cursor_load(const char *path, struct tail_cursor **out, int *n);
int tail_cursor_save(const char *path, struct tail_source *srcs, int nsrcs,
		     const struct tail_cursor *old, int nold);

int tail_source_open(struct tail_source *s, void *ctx, const struct tail_opts *o);
void tail_source_close(struct tail_source *s);
/* Handle every message waiting on the SUB socket. cursors: the saved
 * positions, adopted on first contact. Returns alerts printed. */
int tail_source_receive(struct tail_source *s, const struct tail_cursor *cursors, int ncursors);
/* Warn once when an instance stayed silent (no heartbeat) too long. */
void tail_source_check_hb(struct tail_source *s, double now, double limit);

/* tail_zk.c: members of a cluster (vigil-tail --zookeeper). */
struct tail_zk;
struct tail_zk *tail_zk_open(const char *hosts, const char *cluster);
void tail_zk_close(struct tail_zk *z);
int tail_zk_discover(struct tail_zk *z, struct tail_source *srcs, int *nsrcs, int max);

/* tail_print.c: print one alert (readable line or JSON). */
void tail_print(const struct tail_opts *o, json_object *a, const char *payload);
double tail_now(void);

#endif
