/* Byte ranges of the HTTP API's file replies (RFC 9110, section 14).
 *
 * One range is served: "bytes=A-B", "bytes=A-" and "bytes=-N". Anything
 * else (several ranges, another unit, a malformed or reversed range) is
 * ignored, as the RFC allows, and the whole file goes out with 200. */
#ifndef VIGIL_HTTPRANGE_H
#define VIGIL_HTTPRANGE_H

#include <stdint.h>

enum httprange_result {
	HTTPRANGE_NONE = 0,        /* no usable Range: serve the whole file */
	HTTPRANGE_PARTIAL = 1,     /* serve [*start, *start + *len) with 206 */
	HTTPRANGE_UNSATISFIABLE = 2, /* 416 with "Content-Range: bytes * /size" */
};

/* Parse header (the Range value, NULL when absent) against a file of size
 * bytes. The last byte is clamped to the end of the file; a range that
 * starts at or past the end, or an empty suffix, is unsatisfiable. */
enum httprange_result httprange_parse(const char *header, int64_t size, int64_t *start,
				      int64_t *len);

#endif
