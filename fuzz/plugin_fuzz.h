/* The body of the detector plugin fuzz targets (fuzz/<plugin>_fuzz.c):
 * a plugin fed frames of any size and content, with a zone and a mask.
 * The first four bytes choose the geometry (and stride), the rest fills
 * successive frames; the plugin must never read or write outside its
 * buffers, and its observations must stay within bounds (boxes
 * normalised, zones known, types among its kinds). The plugin's sources are linked into the
 * target; its descriptor is called the way the host calls it. */
#ifndef VIGIL_PLUGIN_FUZZ_H
#define VIGIL_PLUGIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_plugin.h"

extern const struct vigil_plugin vigil_plugin;

/* The host's log function is never NULL; the fuzzer drops the lines. */
static void fuzz_log(const struct vigil_log_ctx *ctx, enum vigil_log_level level,
		     const char *fmt, ...)
{
	(void)ctx;
	(void)level;
	(void)fmt;
}

static const struct vigil_zone fuzz_zone = {
	.name = "z", .npoints = 3, .points = { 0.1f, 0.1f, 0.9f, 0.2f, 0.5f, 0.9f },
	.sensitivity = 0.7, .min_size = 0.1,
};
static const struct vigil_zone fuzz_mask = {
	.npoints = 4, .points = { 0, 0, 0.3f, 0, 0.3f, 0.3f, 0, 0.3f },
};

/* Every type a plugin reports must be one of its kinds. */
static int fuzz_kind_listed(const struct vigil_plugin *p, const char *type)
{
	for (const struct vigil_event_kind *k = p->kinds; type && k->type; k++)
		if (strcmp(k->type, type) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct vigil_plugin *p = &vigil_plugin;
	struct vigil_observations out;
	struct vigil_setup setup = { .struct_size = sizeof(setup), .camera = "fuzz", .fps = 25,
				     .log = fuzz_log };
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
	/* Defaults, as the host stores them (the plugins have numbers only). */
	for (const struct vigil_option *o = p->options; o->name; o++) {
		if (o->type == VIGIL_OPT_DOUBLE)
			*(double *)((char *)state + o->offset) = o->def;
		else if (o->type == VIGIL_OPT_INT || o->type == VIGIL_OPT_BOOL)
			*(int *)((char *)state + o->offset) = (int)o->def;
		else
			abort();
	}
	if (p->init(state, &setup) < 0) {
		p->destroy(state);
		free(state);
		return 0;
	}
	f = (struct vigil_frame){ .struct_size = sizeof(f), .width = w, .height = h,
				  .stride = w + pad };
	buf = calloc((size_t)(w + pad) * (size_t)h, 1);
	f.data = buf;
	for (int i = 0; i < 40; i++) {
		size_t n = (size_t)(w + pad) * (size_t)h;
		for (size_t k = 0; k < n && size; k++)
			buf[k] = data[(k + (size_t)i * 7919) % size];
		f.wall_us = f.pts_us = (int64_t)i * 40000;
		memset(&out, 0, sizeof(out));
		p->process(state, &f, &out);
		if (out.count < 0 || out.count > VIGIL_MAX_OBS)
			abort();
		for (int o = 0; o < out.count; o++) {
			const struct vigil_observation *ob = &out.obs[o];
			if (ob->nboxes < 0 || ob->nboxes > VIGIL_MAX_BOXES ||
			    ob->zone < -1 || ob->zone >= setup.nzones || !fuzz_kind_listed(p, ob->type))
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
