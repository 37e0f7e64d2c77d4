/* Status pages: what each child process tells the supervisor.
 *
 * The supervisor creates one page per child (a memfd shared with the
 * child across exec) and keeps it over restarts. The child writes: a
 * heartbeat, a ready flag once set up, and per camera its state, counters,
 * rates, last alert and last error, plus a "busy" flag that a camera
 * thread holds while it decodes and analyses. The supervisor only reads:
 * heartbeats and readiness feed sd_notify, the slots feed STATUS=,
 * vigilctl status and /metrics, and after a crash the busy flags name the
 * cameras that were at work when the worker died.
 *
 * Numbers are atomics (lock-free, so they work across processes);
 * strings are guarded by a per-slot sequence counter (odd while being
 * written; readers retry). */
#ifndef VIGIL_STATUS_H
#define VIGIL_STATUS_H

#include <stdatomic.h>
#include <stddef.h>

#define STATUS_ID_LEN   64
#define STATUS_TEXT_LEN 128

/* A camera present in this many worker crashes (its busy flag set) within
 * the window is moved by the supervisor into a worker of its own, which
 * announces it with a worker_crashloop alert. */
#define STATUS_CRASH_LIMIT      3
#define STATUS_CRASH_WINDOW_MS  (10 * 60 * 1000)

/* Lines of a camera whose counts the status shows. */
#define STATUS_MAX_LINES 8

/* A camera's state in its slot, written by the camera thread. */
enum camera_state { CAMERA_CONNECTING, CAMERA_STREAMING, CAMERA_DOWN };

/* "connecting", "streaming", "down" ("?" for anything else). */
const char *camera_state_name(int state);

struct status_slot {
	atomic_int used;
	atomic_int state;            /* enum camera_state */
	atomic_int busy;             /* set by the camera thread while decoding */
	atomic_uint gen;             /* string sequence counter */
	atomic_ullong packets, frames_decoded, frames_analysed, bytes;
	atomic_ullong decode_us, reconnects;
	atomic_uint fps_in_milli;    /* packets per second x 1000, last second */
	atomic_uint fps_an_milli;    /* frames analysed per second x 1000 */
	atomic_uint kbps;            /* input bitrate, last second */
	/* The HTTP API's picture requests (httpapi.h): the supervisor counts
	 * up picture_asked; the camera thread, seeing it differ from
	 * picture_done, writes DATA_DIR/pictures/<id>.jpg from its next
	 * analysed frame and then sets picture_done to what it saw. */
	atomic_uint picture_asked;
	atomic_uint picture_done;
	/* Crossings of the camera's lines (in configuration order) since the
	 * camera started: [line][0] a-b, [line][1] b-a. */
	atomic_ullong crossings[STATUS_MAX_LINES][2];
	/* "gated" analysis mode (gate.h); zero in the other modes */
	atomic_ullong gated_us, watched_us, gate_openings, catchup_us, catchup_median_us;
	atomic_int gate_open;
	char id[STATUS_ID_LEN];
	char last_error[STATUS_TEXT_LEN];
	char last_alert[STATUS_TEXT_LEN];
};

struct status_page {
	atomic_llong heartbeat_ms;   /* CLOCK_MONOTONIC ms of the newest beat */
	atomic_int ready;            /* the child has finished setting up */
	atomic_uint nslots;          /* slots at or above are unused */
	atomic_uint restarts;        /* set by the supervisor before each start */
	atomic_uint reload_wanted;   /* set by the supervisor before each SIGHUP */
	atomic_uint reloads;         /* the child: reload_wanted as of its last reload */
	/* Cluster mode (ZooKeeper): the worker sends alerts only while
	 * status_now_ms() is below this; the supervisor moves it forward
	 * while this node's claims are known to be valid (see cluster.h). */
	atomic_llong fence_ms;
	unsigned capacity;           /* slots, fixed by the supervisor */
	struct status_slot slots[];
};

/* A consistent copy of a slot's strings. */
struct status_text {
	char id[STATUS_ID_LEN];
	char last_error[STATUS_TEXT_LEN];
	char last_alert[STATUS_TEXT_LEN];
};

/* Supervisor side: a zeroed page with room for capacity cameras in a
 * close-on-exec memfd (sized to need: a memfd counts against
 * RLIMIT_FSIZE). Returns the fd (>= 0) and the mapping in *page, or
 * -errno. */
int status_page_create(struct status_page **page, unsigned capacity);
/* Child side: map the page behind fd (its size from the fd); NULL on
 * failure. */
struct status_page *status_page_map(int fd);
/* Unmap (NULL-safe). */
void status_page_unmap(struct status_page *page);
/* Clear a page before a new child starts on it. */
void status_page_reset(struct status_page *page);

long long status_now_ms(void);
void status_beat(struct status_page *page);

/* Take a free slot for camera id; NULL when the page is full. */
struct status_slot *status_slot_claim(struct status_page *page, const char *id);
void status_slot_release(struct status_slot *slot);
/* Writer: replace the strings (either may be NULL: unchanged). */
void status_slot_set_text(struct status_slot *slot, const char *last_error,
			  const char *last_alert);
/* Reader: copy the strings; retries while a write is in progress. */
void status_slot_get_text(struct status_slot *slot, struct status_text *out);

#endif
