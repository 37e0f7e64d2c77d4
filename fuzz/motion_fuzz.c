/* libFuzzer target: the motion detector fed frames of any size and
 * content. The first four bytes choose the geometry (and stride), the
 * rest fills successive frames; the detector must never read or write
 * outside its buffers and boxes must stay normalised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "motion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct motion m;
	struct motion_result r;
	struct luma_frame f;
	int w, h, pad;
	uint8_t *buf;

	if (size < 4)
		return 0;
	w = 1 + (data[0] | (data[1] & 1) << 8);   /* 1..512 */
	h = 1 + (data[2] | (data[3] & 1) << 8);
	pad = data[1] >> 4;
	data += 4;
	size -= 4;
	if (motion_init(&m, w, h) < 0)
		return 0;
	f = (struct luma_frame){ .width = w, .height = h, .stride = w + pad };
	buf = calloc((size_t)(w + pad) * (size_t)h, 1);
	f.data = buf;
	for (int i = 0; i < 40; i++) {
		size_t n = (size_t)(w + pad) * (size_t)h;
		for (size_t k = 0; k < n && size; k++)
			buf[k] = data[(k + (size_t)i * 7919) % size];
		f.wall_us = (int64_t)i * 40000;
		motion_process(&m, &f, &r);
		if (r.nboxes < 0 || r.nboxes > MOTION_MAX_BOXES)
			abort();
		for (int b = 0; b < r.nboxes; b++)
			if (r.boxes[b].x < 0 || r.boxes[b].y < 0 ||
			    r.boxes[b].x + r.boxes[b].w > 1.0001f ||
			    r.boxes[b].y + r.boxes[b].h > 1.0001f)
				abort();
	}
	free(buf);
	motion_free(&m);
	return 0;
}
