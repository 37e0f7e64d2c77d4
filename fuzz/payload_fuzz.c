/* libFuzzer target: an alert as a worker sends it to the relay, its topic
 * frame and its payload frame given as "topic\npayload". Any topic must be
 * refused or be a well-formed alert (or line count) topic; any payload
 * must be refused or, numbered by the relay, be a JSON object that carries
 * that number. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relaylink.h"
#include "topic.h"

static void check_topic(const char *t, size_t n)
{
	size_t dots = 0;
	int count;

	if (!topic_check(t, n))
		return;
	/* An alert topic, or a line's count: count.<d>.<g>.<camera>.<line>. */
	if (n >= TOPIC_MAX || n < 6 ||
	    (memcmp(t, "alert.", 6) != 0 && memcmp(t, "count.", 6) != 0))
		abort();
	count = memcmp(t, "count.", 6) == 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '.' && (t[i + 1] == '.' || i + 1 == n))
			abort();
		if (t[i] != '.' && t[i] != '_' && t[i] != '-' && !(t[i] >= '0' && t[i] <= '9') &&
		    !(t[i] >= 'a' && t[i] <= 'z') && !(t[i] >= 'A' && t[i] <= 'Z'))
			abort();
		dots += t[i] == '.';
	}
	if (count ? dots != 4 : dots < 5)
		abort();
}

static void check_payload(const char *p, size_t n)
{
	struct json_tokener *tok;
	json_object *o, *v;
	char *out;

	if (!relaylink_payload_ok(p, n))
		return;
	out = relaylink_stamp(p, n, "inst", 1700000000000, 42);
	if (!out)
		return;
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, out, (int)strlen(out));
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != strlen(out) ||
	    !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "seq", &v) || json_object_get_int64(v) != 42 ||
	    !json_object_object_get_ex(o, "instance", &v) ||
	    strcmp(json_object_get_string(v), "inst") != 0)
		abort();
	json_object_put(o);
	json_tokener_free(tok);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	size_t tn = nl ? (size_t)(nl - s) : size;

	if (size > RELAYLINK_PAYLOAD_MAX)
		return 0;
	check_topic(s, tn);
	if (nl)
		check_payload(nl + 1, size - tn - 1);
	return 0;
}
