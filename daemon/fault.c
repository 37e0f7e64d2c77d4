/* Fault injection for tests; see fault.h. */
#include "fault.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

const char *fault_abort_url(void)
{
	const char *u = getenv("VIGIL_FAULT_ABORT_URL");

	return u && *u ? u : NULL;
}

/* No core file: the crash is wanted, and cores would fill the disk. */
void fault_decode_hook(const char *url)
{
	const char *armed = fault_abort_url();
	struct rlimit none = { 0, 0 };

	if (!armed || strcmp(armed, url) != 0)
		return;
	setrlimit(RLIMIT_CORE, &none);
	abort();
}
