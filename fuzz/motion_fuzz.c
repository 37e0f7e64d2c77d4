/* libFuzzer target: the motion plugin fed frames of any size and content
 * (see plugin_fuzz.h). */
#include "plugin_fuzz.h"
