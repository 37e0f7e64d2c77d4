/* libFuzzer target: the tamper plugin (covered, defocus, moved, frozen)
 * fed frames of any size and content (see plugin_fuzz.h). */
#include "plugin_fuzz.h"
