/* State of the test detector (tests/plugins/testdet.c), shared with the
 * plugin host's unit test (daemon/plugin_host_test.c), which reads the
 * options the host stored and what load prepared. */
#ifndef VIGIL_TESTDET_H
#define VIGIL_TESTDET_H

#include "vigil_plugin.h"

/* What load prepares once per process. */
struct testdet_shared {
	int loads;                 /* times load ran */
	int unloads;               /* times unload ran */
};

struct testdet_state {
	int count;                 /* int */
	double ratio;              /* double */
	int flag;                  /* bool */
	const char *label;         /* string */
	int mode;                  /* enum: slow, fast, off */
	int stray;                 /* bool: also report a type not among the kinds */

	struct testdet_shared *shared;
	int frames;
};

#endif
