/* Functions of the plugin registry that only the tests call (production code
 * has no use for them); see plugin.h for the module. */
#ifndef VIGIL_PLUGIN_TEST_H
#define VIGIL_PLUGIN_TEST_H

#include "plugin.h"

/* How many times this process has dlopen'ed a plugin file. */
unsigned plugin_registry_opens(void);

#endif
