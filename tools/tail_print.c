/* vigil-tail's output: one alert as a readable line or as its JSON
 * payload. Called by the sources (tail_source.c) for every alert they
 * deliver; see tail.h. */
#include "tail.h"

#include <stdio.h>
#include <string.h>

static const char *tail_jstr(json_object *o, const char *key, const char *def)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return def;
}

static long long tail_jint(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

void tail_print(const struct tail_opts *t, json_object *o, const char *payload)
{
	json_object *boxes, *b;

	if (t->json) {
		printf("%s\n", payload);
		return;
	}
	printf("%s  #%-5lld %-6s %-15s %-8s %s \"%s\" %s/%s", tail_jstr(o, "ts", "?"),
	       tail_jint(o, "seq"), tail_jstr(o, "phase", "?"), tail_jstr(o, "type", "?"),
	       tail_jstr(o, "severity", "?"), tail_jstr(o, "camera", "?"),
	       tail_jstr(o, "name", ""), tail_jstr(o, "district", "?"), tail_jstr(o, "grid", "?"));
	if (*tail_jstr(o, "zone", ""))
		printf("  zone %s", tail_jstr(o, "zone", ""));
	if (json_object_object_get_ex(o, "duration", &b))
		printf("  %.1f s", json_object_get_double(b));
	if (json_object_object_get_ex(o, "boxes", &boxes) &&
	    json_object_is_type(boxes, json_type_array) && json_object_array_length(boxes) > 0) {
		b = json_object_array_get_idx(boxes, 0);
		if (json_object_is_type(b, json_type_array) && json_object_array_length(b) == 4)
			printf("  box x=%.2f y=%.2f w=%.2f h=%.2f",
			       json_object_get_double(json_object_array_get_idx(b, 0)),
			       json_object_get_double(json_object_array_get_idx(b, 1)),
			       json_object_get_double(json_object_array_get_idx(b, 2)),
			       json_object_get_double(json_object_array_get_idx(b, 3)));
		if (json_object_array_length(boxes) > 1)
			printf(" (+%zu)", json_object_array_length(boxes) - 1);
	}
	if (strcmp(tail_jstr(o, "detail", ""), "") != 0)
		printf("  (%s)", tail_jstr(o, "detail", ""));
	if (json_object_object_get_ex(o, "clip", &b) && json_object_is_type(b, json_type_string))
		printf("  clip %s", json_object_get_string(b));
	printf("\n");
}
