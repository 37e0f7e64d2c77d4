/* The link from the workers to the relay: where it is and what travels on
 * it. Both sides use this module, so neither needs the other's header.
 *
 * The relay's ROUTER binds relaylink_endpoint() (ipc://, owner only);
 * each worker's DEALER connects to it.
 *
 *   worker -> relay   [key, topic, payload] or [key, topic, payload, thumbnail]
 *   relay -> worker   [key]   once the alert is stored (or refused for good)
 *
 * - key: the worker's name for the alert (outbox.h), printable ASCII
 *   without spaces, at most RELAYLINK_KEY_MAX bytes.
 * - topic: the alert's topic (topic.h), made by the worker from the
 *   parts it serialised into the payload.
 * - payload: the JSON object of docs/alerts.md without instance, epoch
 *   and seq, at most RELAYLINK_PAYLOAD_MAX bytes, as json-c writes it
 *   (no space before the closing brace).
 * - thumbnail: an optional JPEG, published as the alert's third frame.
 *
 * The payload is serialised once, in the camera thread. The relay checks
 * the message without building anything (relaylink_check) and numbers
 * the alert by splicing ,"instance":"I","epoch":E,"seq":N in front of the
 * payload's closing brace (relaylink_stamp): the fields land where json-c
 * put them when the relay parsed and rewrote every payload, at the end. */
#ifndef VIGIL_RELAYLINK_H
#define VIGIL_RELAYLINK_H

#include <stddef.h>
#include <stdint.h>

#include "topic.h"

struct alert_msg;
struct zmsg;

#define RELAYLINK_KEY_MAX     128
#define RELAYLINK_PAYLOAD_MAX 65536
/* Bytes relaylink_stamp() adds to a payload, at most, with an instance
 * of TOPIC_TOKEN_MAX bytes. */
#define RELAYLINK_STAMP_MAX   (TOPIC_TOKEN_MAX + 80)

/* The relay's intake endpoint for this data directory. */
void relaylink_endpoint(const char *data_dir, char *buf, size_t len);

/* Worker side: send one alert under key. 0, or -errno (-EAGAIN: the
 * socket is full, try again later). */
int relaylink_send(void *sock, const char *key, const struct alert_msg *m);

/* One alert as the relay received it; the pointers are into the message. */
struct relaylink_alert {
	char key[RELAYLINK_KEY_MAX + 1];
	const char *topic, *payload;
	size_t topic_len, payload_len;
	const void *thumb;      /* NULL when the message has none */
	size_t thumb_size;
};

/* Relay side: check a message from the intake ROUTER (frame 0 the
 * worker's identity). Returns 0 and fills *a, or -EINVAL with *why set:
 * when a->key[0] is then set the key was readable, and the worker may be
 * told to stop resending what can never be valid. */
int relaylink_check(const struct zmsg *m, struct relaylink_alert *a, const char **why);

/* Whether the n bytes at p are a payload the relay accepts: one JSON
 * object (RFC 8259 syntax, UTF-8 strings), at least one member, none of
 * them instance, epoch or seq, the closing brace its last byte. */
int relaylink_payload_ok(const char *p, size_t n);

/* The published payload: a checked payload with instance, epoch and seq
 * spliced in. A NUL-terminated copy the caller frees, or NULL when out of
 * memory. instance must be a token (topic.h). */
char *relaylink_stamp(const char *payload, size_t n, const char *instance, int64_t epoch,
		      uint64_t seq);

#endif
