/* Functions of the alert queue that only the tests call (production code
 * has no use for them); see alert.h for the module. */
#ifndef VIGIL_ALERT_TEST_H
#define VIGIL_ALERT_TEST_H

#include "alert.h"

/* Take the oldest payload (caller frees; a thumbnail is dropped) or NULL
 * when empty. */
char *alert_queue_pop(struct alert_queue *q);

#endif
