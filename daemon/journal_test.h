/* Functions of the journal that only the tests call (production code
 * has no use for them); see journal.h for the module. */
#ifndef VIGIL_JOURNAL_TEST_H
#define VIGIL_JOURNAL_TEST_H

#include "journal.h"

/* Alerts appended since the last commit. */
size_t journal_pending(const struct journal *j);

#endif
