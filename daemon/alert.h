/* Alerts as workers produce them, and the queue that carries them from
 * camera threads to the worker's sending thread.
 *
 * A camera thread fills struct alert and calls alert_queue_push(), which
 * serialises it once: the JSON payload of DESIGN.md (without instance,
 * seq and epoch: the relay adds those, see relaylink.h) and its topic
 * (topic.h). It never blocks on the network. When
 * the queue's thumbnail width is set and the alert carries its frame, a
 * small JPEG of that frame travels with the payload (the optional third
 * frame of a published alert). */
#ifndef VIGIL_ALERT_H
#define VIGIL_ALERT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "vigil_plugin.h"

struct AVFrame;

struct alert {
	const struct vigil_camera *cam;
	const char *type;       /* motion, video_loss, video_restored, ... */
	const char *phase;      /* start, update, end */
	const char *id;         /* event id */
	const char *severity;   /* critical, high, medium, low */
	int64_t ts_us;          /* wall time of the triggering frame */
	int64_t start_us;       /* wall time the event started (for end) */
	float score;
	const struct vigil_box *boxes;
	int nboxes;
	const char *zone;       /* zone name, NULL: whole picture */
	const char *detail;     /* optional human text (errors) */
	const char *reason;     /* why an event ended other than by itself, or NULL */
	const char *clip;       /* clip path relative to the clip dir, or NULL */
	const char *snapshot;   /* snapshot path, idem */
	double clip_duration;   /* end alerts: seconds recorded so far, or < 0 */
	int64_t clip_size;      /* end alerts: bytes written so far, or < 0 */
	const struct AVFrame *frame;  /* triggering picture (thumbnail), or NULL */
	uint32_t track;         /* the tracked object's id, 0: none */
	const char *line;       /* line.crossed: the line's name */
	const char *direction;  /* line.crossed: "a-b" or "b-a" */
	double dwell;           /* loitering: seconds the object stayed, or 0 */
};

/* JSON payload of an alert; caller frees. NULL when out of memory. */
char *alert_to_json(const struct alert *a);

/* Format a wall-clock time as ISO 8601 UTC with milliseconds. */
void alert_format_time(int64_t us, char *buf, size_t len);

/* A queued alert: its topic, its payload and, optionally, a JPEG
 * thumbnail. */
struct alert_msg {
	char *topic;
	char *payload;
	uint8_t *thumb;
	size_t thumb_size;
};

void alert_msg_free(struct alert_msg *m);

struct alert_queue {
	pthread_mutex_t lock;
	struct alert_msg *items;
	size_t cap, head, count;
	unsigned long dropped;
	int wake_fd;            /* eventfd: readable while items wait */
	atomic_int thumb_width;   /* > 0: thumbnails of this width (alerts.thumbnail) */
};

int alert_queue_init(struct alert_queue *q, size_t cap);
void alert_queue_destroy(struct alert_queue *q);
/* Serialise and enqueue; returns 0 or -errno (queue full: -ENOBUFS; a
 * severity, district, grid, camera id or type that is not a topic token,
 * logged: -EINVAL). */
int alert_queue_push(struct alert_queue *q, const struct alert *a);
/* Queue the count of a line's crossings over [from_us, to_us) by
 * direction, on topic count.<district>.<grid>.<camera>.<line>. Returns
 * as alert_queue_push. */
int alert_queue_push_count(struct alert_queue *q, const struct vigil_camera *cam,
			   const char *line, int64_t from_us, int64_t to_us,
			   unsigned long a_b, unsigned long b_a);
/* Drop the queued alerts for which keep() returns 0; returns how many. */
size_t alert_queue_filter(struct alert_queue *q,
			  int (*keep)(const struct alert_msg *m, void *arg), void *arg);
/* Take the oldest alert: 1, or 0 when empty. The caller owns *m. */
int alert_queue_take(struct alert_queue *q, struct alert_msg *m);

#endif
