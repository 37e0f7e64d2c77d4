/* Record-stream reader: when a camera's record_url differs from its
 * detect_url, this thread reads the record stream (no decoding) and
 * feeds its packets to the camera's recorder. Same approach as the
 * camera thread: every blocking libavformat call is bounded by an
 * interrupt callback with a deadline, and a failed stream is reopened
 * with exponential backoff. */
#ifndef VIGIL_RECREADER_H
#define VIGIL_RECREADER_H

#include "config.h"
#include "recorder.h"

struct recreader;

int recreader_start(struct recreader **out, const struct vigil_camera *cam,
		    struct recorder *rec);
/* Stop the thread and free everything. NULL-safe. */
void recreader_stop(struct recreader *r);

#endif
