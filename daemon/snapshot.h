/* JPEG snapshots of triggering frames, with the detected boxes drawn.
 *
 * Runs on the recorder's writer thread, never on the decode loop: the
 * camera thread only takes a reference to the decoded frame. */
#ifndef VIGIL_SNAPSHOT_H
#define VIGIL_SNAPSHOT_H

#include <libavutil/frame.h>
#include <stdint.h>

#include "vigil_plugin.h"

/* Encode frame (8-bit YUV 4:2:0) as JPEG at full resolution with the
 * normalised boxes outlined, and write it to path (through a temporary
 * file, so a reader never sees half a picture). Returns the file size or
 * a negative AVERROR. */
int64_t snapshot_write(const char *path, const AVFrame *frame,
		       const struct vigil_box *boxes, int nboxes);

#endif
