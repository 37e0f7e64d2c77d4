/* Functions of the outbox that only the tests call (production code
 * has no use for them); see outbox.h for the module. */
#ifndef VIGIL_OUTBOX_TEST_H
#define VIGIL_OUTBOX_TEST_H

#include "outbox.h"

/* Take ownership of payload; returns 0 or -ENOBUFS when full. */
int outbox_add(struct outbox *o, char *payload);

#endif
