/* libFuzzer target: alert payloads as the relay receives them from a
 * worker. Any bytes must either give a well-formed topic or be refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char topic[256];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (relay_topic(s, topic, sizeof(topic)) == 0) {
		if (strncmp(topic, "alert.", 6) != 0 || !memchr(topic, '\0', sizeof(topic)))
			abort();
	}
	free(s);
	return 0;
}
