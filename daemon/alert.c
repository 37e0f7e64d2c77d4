/* Alert payloads and the worker's alert queue; see alert.h. */
#include "alert.h"
#include "alert_test.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <libavutil/error.h>

#include "log.h"
#include "snapshot.h"
#include "topic.h"

void alert_format_time(int64_t us, char *buf, size_t len)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)((us / 1000) % 1000));
}

static json_object *alert_round(double v)
{
	/* Four decimals are plenty for normalised coordinates. */
	return json_object_new_double((double)(long long)(v * 10000.0 + 0.5) / 10000.0);
}

char *alert_to_json(const struct alert *a)
{
	json_object *o = json_object_new_object(), *boxes = json_object_new_array();
	char ts[40];
	char *out;

	alert_format_time(a->ts_us, ts, sizeof(ts));
	json_object_object_add(o, "id", json_object_new_string(a->id));
	json_object_object_add(o, "phase", json_object_new_string(a->phase));
	json_object_object_add(o, "type", json_object_new_string(a->type));
	json_object_object_add(o, "severity", json_object_new_string(a->severity));
	json_object_object_add(o, "camera", json_object_new_string(a->cam->id));
	json_object_object_add(o, "name", json_object_new_string(a->cam->name));
	json_object_object_add(o, "district", json_object_new_string(a->cam->district));
	json_object_object_add(o, "grid", json_object_new_string(a->cam->grid));
	json_object_object_add(o, "site", json_object_new_string(a->cam->site));
	json_object_object_add(o, "ts", json_object_new_string(ts));
	/* A cluster-owned camera: who ran it, under which claim. */
	if (a->cam->owner_epoch > 0) {
		json_object_object_add(o, "node", json_object_new_string(a->cam->owner_node));
		json_object_object_add(o, "owner_epoch", json_object_new_int64(a->cam->owner_epoch));
	}
	if (a->start_us && strcmp(a->phase, "end") == 0) {
		alert_format_time(a->start_us, ts, sizeof(ts));
		json_object_object_add(o, "started", json_object_new_string(ts));
		json_object_object_add(o, "duration",
			alert_round((double)(a->ts_us - a->start_us) / 1e6));
	}
	json_object_object_add(o, "score", alert_round(a->score));
	json_object_object_add(o, "zone", a->zone ? json_object_new_string(a->zone) : NULL);
	for (int i = 0; i < a->nboxes; i++) {
		json_object *b = json_object_new_array();
		json_object_array_add(b, alert_round(a->boxes[i].x));
		json_object_array_add(b, alert_round(a->boxes[i].y));
		json_object_array_add(b, alert_round(a->boxes[i].w));
		json_object_array_add(b, alert_round(a->boxes[i].h));
		json_object_array_add(boxes, b);
	}
	json_object_object_add(o, "boxes", boxes);
	json_object_object_add(o, "clip", a->clip && *a->clip ?
			       json_object_new_string(a->clip) : NULL);
	json_object_object_add(o, "snapshot", a->snapshot && *a->snapshot ?
			       json_object_new_string(a->snapshot) : NULL);
	if (a->clip && *a->clip && a->clip_duration >= 0) {
		json_object_object_add(o, "clip_duration", alert_round(a->clip_duration));
		json_object_object_add(o, "clip_size", json_object_new_int64(a->clip_size));
	}
	if (a->detail)
		json_object_object_add(o, "detail", json_object_new_string(a->detail));
	if (a->reason)
		json_object_object_add(o, "reason", json_object_new_string(a->reason));
	if (a->track)
		json_object_object_add(o, "track", json_object_new_int64(a->track));
	if (a->line)
		json_object_object_add(o, "line", json_object_new_string(a->line));
	if (a->direction)
		json_object_object_add(o, "direction", json_object_new_string(a->direction));
	if (a->dwell > 0)
		json_object_object_add(o, "dwell", alert_round(a->dwell));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

int alert_queue_init(struct alert_queue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->items = calloc(cap, sizeof(*q->items));
	if (!q->items)
		return -ENOMEM;
	q->cap = cap;
	q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->wake_fd < 0) {
		free(q->items);
		return -errno;
	}
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void alert_msg_free(struct alert_msg *m)
{
	free(m->topic);
	free(m->payload);
	free(m->thumb);
	memset(m, 0, sizeof(*m));
}

void alert_queue_destroy(struct alert_queue *q)
{
	struct alert_msg m;

	if (!q || !q->items)
		return;
	while (alert_queue_take(q, &m))
		alert_msg_free(&m);
	free(q->items);
	close(q->wake_fd);
	pthread_mutex_destroy(&q->lock);
	memset(q, 0, sizeof(*q));
}

/* Start and update alerts of a picture carry its thumbnail when asked. */
static void alert_thumbnail(struct alert_queue *q, const struct alert *a, struct alert_msg *m)
{
	int width = atomic_load(&q->thumb_width);
	const char *who = a->cam ? a->cam->id : NULL;

	if (width <= 0 || !a->frame || strcmp(a->phase, "end") == 0)
		return;
	int r = snapshot_thumbnail(a->frame, width, a->boxes, a->nboxes, &m->thumb,
				   &m->thumb_size);
	if (r < 0)
		log_warn(who, "no thumbnail for %s %s: %s", a->type, a->phase, av_err2str(r));
}

/* The topic of an alert, from the same fields as its payload. */
static char *alert_topic(const struct alert *a)
{
	char buf[TOPIC_MAX];

	if (topic_format(buf, sizeof(buf), a->severity, a->cam->district, a->cam->grid,
			 a->cam->id, a->type) < 0) {
		log_err(a->cam->id, "alert %s %s: severity '%s' or type '%s' cannot be part of a "
			"topic (tokens of letters, digits, '_' or '-'), dropped", a->type, a->phase,
			a->severity, a->type);
		errno = EINVAL;
		return NULL;
	}
	return strdup(buf);
}

/* Put a serialised message on the queue (which then owns its parts). */
static int alert_queue_put(struct alert_queue *q, struct alert_msg *mp)
{
	struct alert_msg m = *mp;
	uint64_t one = 1;
	int r = 0;

	pthread_mutex_lock(&q->lock);
	if (q->count == q->cap) {
		q->dropped++;
		r = -ENOBUFS;
	} else {
		q->items[(q->head + q->count) % q->cap] = m;
		q->count++;
		memset(&m, 0, sizeof(m));
	}
	pthread_mutex_unlock(&q->lock);
	alert_msg_free(&m);
	if (r == 0 && write(q->wake_fd, &one, sizeof(one)) < 0) {
		/* Counter saturated: the reader is already awake. */
	}
	return r;
}

int alert_queue_push(struct alert_queue *q, const struct alert *a)
{
	struct alert_msg m = { 0 };

	m.topic = alert_topic(a);
	if (!m.topic)
		return errno == EINVAL ? -EINVAL : -ENOMEM;
	m.payload = alert_to_json(a);
	if (!m.payload) {
		free(m.topic);
		return -ENOMEM;
	}
	alert_thumbnail(q, a, &m);
	return alert_queue_put(q, &m);
}

int alert_queue_push_count(struct alert_queue *q, const struct vigil_camera *cam,
			   const char *line, int64_t from_us, int64_t to_us,
			   unsigned long a_b, unsigned long b_a)
{
	struct alert_msg m = { 0 };
	char topic[TOPIC_MAX], ts[40];
	json_object *o;

	if (topic_format_count(topic, sizeof(topic), cam->district, cam->grid, cam->id,
			       line) < 0)
		return -EINVAL;
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("count"));
	json_object_object_add(o, "camera", json_object_new_string(cam->id));
	json_object_object_add(o, "name", json_object_new_string(cam->name));
	json_object_object_add(o, "district", json_object_new_string(cam->district));
	json_object_object_add(o, "grid", json_object_new_string(cam->grid));
	json_object_object_add(o, "site", json_object_new_string(cam->site));
	json_object_object_add(o, "line", json_object_new_string(line));
	alert_format_time(from_us, ts, sizeof(ts));
	json_object_object_add(o, "from", json_object_new_string(ts));
	alert_format_time(to_us, ts, sizeof(ts));
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "interval", alert_round((double)(to_us - from_us) / 1e6));
	json_object_object_add(o, "a_b", json_object_new_int64((int64_t)a_b));
	json_object_object_add(o, "b_a", json_object_new_int64((int64_t)b_a));
	m.topic = strdup(topic);
	m.payload = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!m.topic || !m.payload) {
		alert_msg_free(&m);
		return -ENOMEM;
	}
	return alert_queue_put(q, &m);
}

size_t alert_queue_filter(struct alert_queue *q,
			  int (*keep)(const struct alert_msg *m, void *arg), void *arg)
{
	size_t dropped = 0, w = 0;

	pthread_mutex_lock(&q->lock);
	for (size_t k = 0; k < q->count; k++) {
		struct alert_msg *m = &q->items[(q->head + k) % q->cap];
		if (!keep(m, arg)) {
			alert_msg_free(m);
			dropped++;
			continue;
		}
		if (w != k)
			q->items[(q->head + w) % q->cap] = *m;
		w++;
	}
	q->count = w;
	if (!q->count) {
		uint64_t v;
		if (read(q->wake_fd, &v, sizeof(v)) < 0) {
			/* Already drained. */
		}
	}
	pthread_mutex_unlock(&q->lock);
	return dropped;
}

int alert_queue_take(struct alert_queue *q, struct alert_msg *m)
{
	uint64_t v;
	int got = 0;

	pthread_mutex_lock(&q->lock);
	if (q->count) {
		*m = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		got = 1;
	}
	if (!q->count && read(q->wake_fd, &v, sizeof(v)) < 0) {
		/* Already drained. */
	}
	pthread_mutex_unlock(&q->lock);
	return got;
}

char *alert_queue_pop(struct alert_queue *q)
{
	struct alert_msg m;

	if (!alert_queue_take(q, &m))
		return NULL;
	free(m.topic);
	free(m.thumb);
	return m.payload;
}
