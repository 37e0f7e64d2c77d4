/* JPEG snapshots of triggering frames, with the detected boxes drawn.
 *
 * Snapshots run on the recorder's writer thread, never on the decode
 * loop: the camera thread only takes a reference to the decoded frame.
 * Thumbnails are small and made on the camera thread, for start and
 * update alerts only. */
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

/* A small JPEG of frame (8-bit YUV 4:2:0) scaled down to width pixels
 * (never up; height keeps the aspect ratio) with the boxes outlined, for
 * the alert's thumbnail frame. Returns 0 with *jpeg (malloc'd, caller
 * frees) and *size, or a negative AVERROR. Costs a pass over the frame
 * and a small encode: a few milliseconds at most for 720p, paid only
 * by start and update alerts (seconds apart). */
int snapshot_thumbnail(const AVFrame *frame, int width, const struct vigil_box *boxes,
		       int nboxes, uint8_t **jpeg, size_t *size);

#endif
