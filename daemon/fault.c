/* Fault injection for tests; see fault.h. */
#include "fault.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static const char *fault_url;

static void fault_read_env(void)
{
	const char *u = getenv("VIGIL_FAULT_ABORT_URL");

	fault_url = u && *u ? u : NULL;
}

void fault_init(void)
{
	pthread_once(&fault_once, fault_read_env);
}

const char *fault_abort_url(void)
{
	fault_init();
	return fault_url;
}

int fault_armed(const char *url)
{
	const char *armed = fault_abort_url();

	return armed && url && strcmp(armed, url) == 0;
}

/* No core file: the crash is wanted, and cores would fill the disk. */
void fault_abort(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	abort();
}
