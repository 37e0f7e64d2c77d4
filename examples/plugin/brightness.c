/* brightness: an example vigil detector plugin, built out of the vigil
 * tree against the installed interface (see Makefile beside it and
 * plugins/README.md in vigil's sources).
 *
 * It reports "brightness.high" while the picture is lighter than the
 * `high` option and "brightness.low" while it is darker than `low` (a
 * floodlight left on, a street lamp out), both in percent of perceived
 * lightness. Lightness comes from a table that load builds once per
 * process and every camera shares. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "vigil_plugin.h"

/* Built once per process by load, read by every camera. */
struct brightness_table {
	double lightness[256];     /* luma -> CIE L*, 0..100 */
};

enum brightness_statistic { BRIGHTNESS_MEAN, BRIGHTNESS_MEDIAN };

/* One camera's state: the host allocates it zeroed and stores the
 * options at their offsets before init. */
struct brightness {
	/* options */
	double high, low;          /* percent lightness */
	int report_low;            /* bool */
	int statistic;             /* enum brightness_statistic */
	const char *note;          /* string, may be NULL */

	const struct brightness_table *table;
};

static int brightness_load(const struct vigil_load *ld, void **shared)
{
	struct brightness_table *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (int i = 0; i < 256; i++) {
		double y = i / 255.0;
		t->lightness[i] = y > 0.008856 ? 116 * cbrt(y) - 16 : 903.3 * y;
	}
	ld->log(ld->log_ctx, VIGIL_LOG_DEBUG, "lightness table ready");
	*shared = t;
	return 0;
}

static void brightness_unload(void *shared)
{
	free(shared);
}

static int brightness_init(void *st, const struct vigil_setup *setup)
{
	struct brightness *b = st;

	b->table = setup->shared;
	if (b->low >= b->high) {
		setup->log(setup->log_ctx, VIGIL_LOG_ERROR, "low (%g) must be below high (%g)",
			   b->low, b->high);
		return -EINVAL;
	}
	setup->log(setup->log_ctx, VIGIL_LOG_INFO, "watching lightness outside %g..%g%%%s%s",
		   b->low, b->high, b->note ? ": " : "", b->note ? b->note : "");
	return 0;
}

/* Mean or median lightness of the frame, percent. */
static double brightness_measure(const struct brightness *b, const struct vigil_frame *f)
{
	unsigned long hist[256] = { 0 }, n = 0, half;
	double sum = 0;

	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			hist[f->data[(size_t)y * (size_t)f->stride + (size_t)x]]++;
	for (int i = 0; i < 256; i++) {
		sum += hist[i] * b->table->lightness[i];
		n += hist[i];
	}
	if (!n)
		return 0;
	if (b->statistic == BRIGHTNESS_MEAN)
		return sum / n;
	half = 0;
	for (int i = 0; i < 256; i++) {
		half += hist[i];
		if (half * 2 >= n)
			return b->table->lightness[i];
	}
	return 100;
}

static int brightness_process(void *st, const struct vigil_frame *f,
			      struct vigil_observations *out)
{
	const struct brightness *b = st;
	double l = brightness_measure(b, f);
	struct vigil_observation *o = &out->obs[out->count];

	if (l >= b->high) {
		o->type = "brightness.high";
		o->score = (float)(b->high < 100 ? (l - b->high) / (100 - b->high) : 1);
	} else if (b->report_low && l <= b->low) {
		o->type = "brightness.low";
		o->score = (float)(b->low > 0 ? (b->low - l) / b->low : 1);
	} else {
		return 0;
	}
	o->zone = -1;              /* the whole picture, no boxes */
	out->count++;
	return 0;
}

#define OPT(f) offsetof(struct brightness, f)

static const char *const brightness_statistics[] = { "mean", "median", NULL };

static const struct vigil_option brightness_options[] = {
	VIGIL_OPTION_DOUBLE("high", OPT(high), 90, 0, 100,
			    "report brightness.high at this lightness (percent) and above"),
	VIGIL_OPTION_DOUBLE("low", OPT(low), 5, 0, 100,
			    "report brightness.low at this lightness (percent) and below"),
	VIGIL_OPTION_BOOL("report_low", OPT(report_low), 1, "report brightness.low at all"),
	VIGIL_OPTION_ENUM("statistic", OPT(statistic), brightness_statistics, "mean",
			  "lightness of the picture: its mean or its median"),
	VIGIL_OPTION_STRING("note", OPT(note), NULL, 80, "said in the start-up log line"),
	VIGIL_OPTIONS_END
};

static const struct vigil_event_kind brightness_kinds[] = {
	{ .type = "brightness.high", .start_s = 1.0, .end_s = 2.0 },
	{ .type = "brightness.low", .start_s = 1.0, .end_s = 2.0 },
	{ .type = NULL }
};

VIGIL_PLUGIN_EXPORT const struct vigil_plugin vigil_plugin = {
	VIGIL_PLUGIN_HEAD,
	.name = "brightness",
	.description = "picture too light or too dark",
	.state_size = sizeof(struct brightness),
	.options = brightness_options,
	.kinds = brightness_kinds,
	.load = brightness_load,
	.unload = brightness_unload,
	.init = brightness_init,
	.process = brightness_process,
};
