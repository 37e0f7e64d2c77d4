/* A detector for the plugin host's tests, built once per variant
 * (TESTDET_<VARIANT>, name TESTDET_NAME): "testdet" is a correct plugin
 * with an option of every type that reports "test.seen" on every frame;
 * each other variant breaks one rule the host enforces when it loads a
 * plugin. */
#include <stddef.h>

#include "testdet.h"

#ifndef TESTDET_NAME
#define TESTDET_NAME "testdet"
#endif

static struct testdet_shared testdet_shared;

static int testdet_load(const struct vigil_load *ld, void **shared)
{
	testdet_shared.loads++;
	ld->log(ld->log_ctx, VIGIL_LOG_DEBUG, "loaded from %s", ld->plugin_dir);
	*shared = &testdet_shared;
	return 0;
}

static void testdet_unload(void *shared)
{
	((struct testdet_shared *)shared)->unloads++;
}

static int testdet_init(void *st, const struct vigil_setup *setup)
{
	struct testdet_state *t = st;

	t->shared = setup->shared;
	setup->log(setup->log_ctx, VIGIL_LOG_INFO, "mode %d, label %s", t->mode,
		   t->label ? t->label : "(none)");
	return 0;
}

/* (unused in the variant without it) */
__attribute__((unused)) static int testdet_process(void *st, const struct vigil_frame *f,
			   struct vigil_observations *out)
{
	struct testdet_state *t = st;

	(void)f;
	t->frames++;
	out->obs[out->count++] = (struct vigil_observation){ .type = "test.seen", .zone = -1,
							      .score = 1 };
	if (t->stray)
		out->obs[out->count++] = (struct vigil_observation){ .type = "not.listed",
								      .zone = -1 };
	return 0;
}

#define OPT(f) offsetof(struct testdet_state, f)

static const char *const testdet_modes[] = { "slow", "fast", "off", NULL };

static const struct vigil_option testdet_options[] = {
	VIGIL_OPTION_INT("count", OPT(count), 3, 0, 10, "an int"),
	VIGIL_OPTION_DOUBLE("ratio", OPT(ratio), 0.5, 0, 1, "a double"),
	VIGIL_OPTION_BOOL("flag", OPT(flag), 1, "a bool"),
	VIGIL_OPTION_STRING("label", OPT(label), "none", 16, "a string"),
	VIGIL_OPTION_ENUM("mode", OPT(mode), testdet_modes, "fast", "an enum"),
	VIGIL_OPTION_BOOL("stray", OPT(stray), 0, "also report a type not among the kinds"),
#ifdef TESTDET_BADOPT
	VIGIL_OPTION_INT("broken", OPT(count), 20, 0, 10, "default out of range"),
#endif
	VIGIL_OPTIONS_END
};

__attribute__((unused)) static const struct vigil_event_kind testdet_kinds[] = {
	{ .type = "test.seen", .start_s = 0, .end_s = 0.5 },
	{ .type = NULL }
};

#ifdef TESTDET_NOSYM
#define TESTDET_SYMBOL testdet_descriptor
#else
#define TESTDET_SYMBOL vigil_plugin
#endif

VIGIL_PLUGIN_EXPORT const struct vigil_plugin TESTDET_SYMBOL = {
#if defined(TESTDET_BADABI)
	.abi = 1, .struct_size = sizeof(struct vigil_plugin),
#elif defined(TESTDET_SMALL)
	.abi = VIGIL_PLUGIN_ABI, .struct_size = offsetof(struct vigil_plugin, load),
#else
	VIGIL_PLUGIN_HEAD,
#endif
#ifdef TESTDET_MISNAMED
	.name = "other",
#else
	.name = TESTDET_NAME,
#endif
	.description = "test detector",
	.state_size = sizeof(struct testdet_state),
	.options = testdet_options,
#ifndef TESTDET_NOKINDS
	.kinds = testdet_kinds,
#endif
	.load = testdet_load,
	.unload = testdet_unload,
	.init = testdet_init,
#ifndef TESTDET_NOPROCESS
	.process = testdet_process,
#endif
};
