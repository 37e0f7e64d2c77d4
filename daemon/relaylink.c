/* The workers' link to the relay; see relaylink.h. */
#include "relaylink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "alert.h"
#include "zmsg.h"

#define RELAYLINK_DEPTH_MAX 32

void relaylink_endpoint(const char *data_dir, char *buf, size_t len)
{
	snprintf(buf, len, "ipc://%s/relay.ipc", data_dir);
}

int relaylink_send(void *sock, const char *key, const struct alert_msg *m)
{
	int e = zmsg_send_str(sock, key, ZMQ_SNDMORE);

	if (e < 0)
		return e;
	/* The first frame is queued: the others cannot fail on HWM. */
	if (zmsg_send_str(sock, m->topic, ZMQ_SNDMORE) < 0 ||
	    zmsg_send_str(sock, m->payload, m->thumb ? ZMQ_SNDMORE : 0) < 0)
		return -errno;
	return m->thumb ? zmsg_send(sock, m->thumb, m->thumb_size, 0) : 0;
}

/* A syntax check of JSON text that builds nothing: each function takes
 * one element at s->p and leaves s->p after it, or returns -1. */
struct relaylink_scan {
	const char *p, *end;
	int depth;
};

static void relaylink_ws(struct relaylink_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int relaylink_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence of two bytes or more at s->p: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static int relaylink_utf8(struct relaylink_scan *s)
{
	const unsigned char *u = (const unsigned char *)s->p;
	size_t left = (size_t)(s->end - s->p), n;
	unsigned lo = 0x80, hi = 0xbf;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4;
	else
		return -1;
	if (u[0] == 0xe0)
		lo = 0xa0;
	else if (u[0] == 0xed)
		hi = 0x9f;
	else if (u[0] == 0xf0)
		lo = 0x90;
	else if (u[0] == 0xf4)
		hi = 0x8f;
	if (left < n || u[1] < lo || u[1] > hi)
		return -1;
	for (size_t i = 2; i < n; i++)
		if (u[i] < 0x80 || u[i] > 0xbf)
			return -1;
	s->p += n;
	return 0;
}

static int relaylink_string(struct relaylink_scan *s)
{
	if (s->p >= s->end || *s->p != '"')
		return -1;
	s->p++;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '"') {
			s->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c >= 0x80) {
			if (relaylink_utf8(s) < 0)
				return -1;
			continue;
		}
		s->p++;
		if (c != '\\')
			continue;
		if (s->p >= s->end)
			return -1;
		c = (unsigned char)*s->p++;
		if (c == 'u') {
			if (s->end - s->p < 4)
				return -1;
			for (int i = 0; i < 4; i++)
				if (!relaylink_hex(*s->p++))
					return -1;
		} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
			return -1;
		}
	}
	return -1;
}

static int relaylink_digits(struct relaylink_scan *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start ? 0 : -1;
}

static int relaylink_number(struct relaylink_scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (relaylink_digits(s) < 0)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (relaylink_digits(s) < 0)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (relaylink_digits(s) < 0)
			return -1;
	}
	return 0;
}

static int relaylink_word(struct relaylink_scan *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* The top object's members may not be those the relay adds. */
static int relaylink_reserved(const char *key, size_t n)
{
	return (n == 10 && memcmp(key, "\"instance\"", n) == 0) ||
	       (n == 7 && memcmp(key, "\"epoch\"", n) == 0) ||
	       (n == 5 && memcmp(key, "\"seq\"", n) == 0);
}

static int relaylink_value(struct relaylink_scan *s);

/* An object or an array (close: '}' or ']'); top: the payload itself. */
static int relaylink_container(struct relaylink_scan *s, char close, int top)
{
	int members = 0;

	if (++s->depth > RELAYLINK_DEPTH_MAX)
		return -1;
	s->p++;
	relaylink_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		return top ? -1 : 0;
	}
	for (;;) {
		relaylink_ws(s);
		if (close == '}') {
			const char *key = s->p;
			if (relaylink_string(s) < 0 ||
			    (top && relaylink_reserved(key, (size_t)(s->p - key))))
				return -1;
			relaylink_ws(s);
			if (s->p >= s->end || *s->p++ != ':')
				return -1;
		}
		if (relaylink_value(s) < 0)
			return -1;
		members++;
		relaylink_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == close) {
			s->p++;
			s->depth--;
			return 0;
		}
		if (*s->p++ != ',')
			return -1;
	}
}

static int relaylink_value(struct relaylink_scan *s)
{
	relaylink_ws(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		return relaylink_container(s, '}', 0);
	case '[':
		return relaylink_container(s, ']', 0);
	case '"':
		return relaylink_string(s);
	case 't':
		return relaylink_word(s, "true");
	case 'f':
		return relaylink_word(s, "false");
	case 'n':
		return relaylink_word(s, "null");
	default:
		return relaylink_number(s);
	}
}

int relaylink_payload_ok(const char *p, size_t n)
{
	struct relaylink_scan s = { .p = p, .end = p + n };

	if (n < 2 || p[0] != '{' || p[n - 1] != '}')
		return 0;
	return relaylink_container(&s, '}', 1) == 0 && s.p == s.end;
}

/* Keys are printable ASCII without spaces. */
static int relaylink_key_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

int relaylink_check(const struct zmsg *m, struct relaylink_alert *a, const char **why)
{
	memset(a, 0, sizeof(*a));
	*why = NULL;
	if ((m->total != 4 && m->total != 5) || m->n != m->total)
		*why = "not [key, topic, payload] or [key, topic, payload, thumbnail]";
	else if (zmsg_str(m, 1, a->key, sizeof(a->key)) < 0 || !relaylink_key_ok(a->key))
		*why = "the key is not printable ASCII of 1 to 128 bytes";
	if (*why) {
		a->key[0] = '\0';
		return -EINVAL;
	}
	a->topic = zmsg_data(m, 2);
	a->topic_len = zmsg_size(m, 2);
	a->payload = zmsg_data(m, 3);
	a->payload_len = zmsg_size(m, 3);
	if (m->total == 5 && zmsg_size(m, 4)) {
		a->thumb = zmsg_data(m, 4);
		a->thumb_size = zmsg_size(m, 4);
	}
	if (!topic_check(a->topic, a->topic_len))
		*why = "the topic is not alert.<severity>.<district>.<grid>.<camera>.<type> "
		       "nor count.<district>.<grid>.<camera>.<line>";
	else if (a->payload_len > RELAYLINK_PAYLOAD_MAX)
		*why = "the payload is over 64 KiB";
	else if (!relaylink_payload_ok(a->payload, a->payload_len))
		*why = "the payload is not one JSON object without instance, epoch and seq";
	return *why ? -EINVAL : 0;
}

char *relaylink_stamp(const char *payload, size_t n, const char *instance, int64_t epoch,
		      uint64_t seq)
{
	char tail[RELAYLINK_STAMP_MAX + 1], *out;
	int t = snprintf(tail, sizeof(tail), ",\"instance\":\"%s\",\"epoch\":%" PRId64
			 ",\"seq\":%" PRIu64 "}", instance, epoch, seq);

	if (t < 0 || (size_t)t >= sizeof(tail) || n < 2)
		return NULL;
	out = malloc(n - 1 + (size_t)t + 1);
	if (!out)
		return NULL;
	memcpy(out, payload, n - 1);
	memcpy(out + n - 1, tail, (size_t)t + 1);
	return out;
}
