/* libFuzzer target: the Range header parser, on any bytes a client may
 * send, against file sizes around the numbers in it. Whatever it
 * returns for a partial reply must lie inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httprange.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t sizes[] = { 0, 1, 100, 1000, 1 << 20, INT64_MAX / 8 };
	char *h = malloc(size + 1);

	if (!h)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int64_t start = -1, len = -1;
		enum httprange_result r = httprange_parse(h, sizes[i], &start, &len);
		if (r == HTTPRANGE_PARTIAL &&
		    (start < 0 || len <= 0 || start >= sizes[i] || len > sizes[i] - start))
			abort();
		if (r != HTTPRANGE_NONE && r != HTTPRANGE_PARTIAL && r != HTTPRANGE_UNSATISFIABLE)
			abort();
	}
	free(h);
	return 0;
}
