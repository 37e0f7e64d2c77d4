/* The body of the detector plugin fuzz targets (fuzz/<plugin>_fuzz.c):
 * a plugin fed frames of any size and content, with a zone and a mask.
 * The first four bytes choose the geometry (and stride), the rest fills
 * successive frames; the plugin must never read or write outside its
 * buffers, and its observations must stay within bounds (boxes
 * normalised, zones known). The plugin's sources are linked into the
 * target; its descriptor is called the way the host calls it. */
#ifndef VIGIL_PLUGIN_FUZZ_H
#define VIGIL_PLUGIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_plugin.h"

extern const struct vigil_plugin vigil_plugin;

static const struct vigil_zone fuzz_zone = {
	.name = "z", .npoints = 3, .points = { 0.1f, 0.1f, 0.9f, 0.2f, 0.5f, 0.9f },
	.sensitivity = 0.7, .min_size = 0.1,
};
static const struct vigil_zone fuzz_mask = {
	.npoints = 4, .points = { 0, 0, 0.3f, 0, 0.3f, 0.3f, 0, 0.3f },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct vigil_plugin *p = &vigil_plugin;
	struct vigil_observations out;
	struct vigil_setup setup = { .camera = "fuzz", .fps = 25 };
	struct vigil_frame f;
	void *state;
	int w, h, pad;
	uint8_t *buf;

	if (size < 4)
		return 0;
	w = 1 + (data[0] | (data[1] & 1) << 8);   /* 1..512 */
	h = 1 + (data[2] | (data[3] & 1) << 8);
	pad = data[1] >> 4;
	data += 4;
	size -= 4;
	setup.width = w;
	setup.height = h;
	if (data[-1] & 2) {
		setup.zones = &fuzz_zone;
		setup.nzones = 1;
		setup.masks = &fuzz_mask;
		setup.nmasks = 1;
	}
	state = calloc(1, p->state_size);
	for (const struct vigil_option *o = p->options; o->name; o++) {
		if (o->type == VIGIL_OPT_INT)
			*(int *)((char *)state + o->offset) = (int)o->def;
		else
			*(double *)((char *)state + o->offset) = o->def;
	}
	if (p->init(state, &setup) < 0) {
		p->destroy(state);
		free(state);
		return 0;
	}
	f = (struct vigil_frame){ .width = w, .height = h, .stride = w + pad };
	buf = calloc((size_t)(w + pad) * (size_t)h, 1);
	f.data = buf;
	for (int i = 0; i < 40; i++) {
		size_t n = (size_t)(w + pad) * (size_t)h;
		for (size_t k = 0; k < n && size; k++)
			buf[k] = data[(k + (size_t)i * 7919) % size];
		f.wall_us = f.pts_us = (int64_t)i * 40000;
		out.count = 0;
		p->process(state, &f, &out);
		if (out.count < 0 || out.count > VIGIL_MAX_OBS)
			abort();
		for (int o = 0; o < out.count; o++) {
			const struct vigil_observation *ob = &out.obs[o];
			if (ob->nboxes < 0 || ob->nboxes > VIGIL_MAX_BOXES ||
			    ob->zone < -1 || ob->zone >= setup.nzones)
				abort();
			for (int b = 0; b < ob->nboxes; b++)
				if (ob->boxes[b].x < 0 || ob->boxes[b].y < 0 ||
				    ob->boxes[b].x + ob->boxes[b].w > 1.0001f ||
				    ob->boxes[b].y + ob->boxes[b].h > 1.0001f)
					abort();
		}
	}
	free(buf);
	p->destroy(state);
	free(state);
	return 0;
}

#endif
