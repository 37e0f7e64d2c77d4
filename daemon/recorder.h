/* Recorder of one camera: the pre-event packet ring and the clip writer.
 *
 * The camera thread (or the record-stream reader, when record_url differs
 * from detect_url) hands every compressed packet of the record stream to
 * recorder_feed(), which keeps a reference in a ring bounded by time
 * (pre-roll, one second of detection latency, one GOP) and by bytes. The
 * analysis calls recorder_event_start() / recorder_event_end(); while a
 * clip is open, packets also go, by reference, on a bounded queue to this
 * camera's writer thread, which alone touches the disk (clip files,
 * snapshots, the index, retention). A full queue costs clip data, counted
 * and logged, never a wait in the decode loop.
 *
 * The ring of a camera with loitering zones also keeps the longest dwell,
 * so that a loitering clip can start pre_seconds before the stay began.
 *
 * Clips: DATA_DIR/clips/<camera>/<UTC date>/<event id>.mp4, starting at
 * the last keyframe at or before trigger - pre_seconds and ending
 * post_seconds after the last overlapping event ended; split into
 * <event id>-2.mp4, ... at a keyframe after max_seconds. Snapshots:
 * <event id>.jpg beside the clip. */
#ifndef VIGIL_RECORDER_H
#define VIGIL_RECORDER_H

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <stdint.h>

#include "config.h"
#include "vigil_plugin.h"

struct recorder;

/* What an alert says about its clip. */
struct recorder_info {
	char clip[256];      /* relative to the clip directory; "" when none */
	char snapshot[256];  /* idem */
	double duration;     /* seconds recorded so far */
	int64_t size;        /* bytes written so far */
};

/* Start the writer thread of a camera; clips go under data_dir/clips.
 * Returns 0 or -errno. */
int recorder_start(struct recorder **out, const struct vigil_camera *cam,
		   const char *data_dir);
/* Close the open clip, drain the queue, stop the writer. NULL-safe; the
 * feeding threads must have stopped. */
void recorder_stop(struct recorder *r);

/* A (new) record stream: its parameters and time base. Empties the ring;
 * a clip open on the old stream is closed (events carry on in a new one
 * from the new stream's first keyframe). */
void recorder_set_stream(struct recorder *r, const AVCodecParameters *par, AVRational tb);
/* One packet of the record stream, arrived at wall_us (CLOCK_REALTIME). */
void recorder_feed(struct recorder *r, const AVPacket *pkt, int64_t wall_us);

/* An event began at trigger_us; frame (may be NULL) is the triggering
 * frame for the snapshot, boxes its detections. Fills info. */
void recorder_event_start(struct recorder *r, const char *type, const char *id,
			  int64_t trigger_us, const AVFrame *frame,
			  const struct vigil_box *boxes, int nboxes,
			  struct recorder_info *info);
/* The event ended at end_us; its clip goes on for post_seconds. Fills
 * info with the clip as it is now (the final values go to the index). */
void recorder_event_end(struct recorder *r, const char *id, int64_t end_us,
			struct recorder_info *info);

/* Packets that never reached a clip because the writer was behind. */
unsigned long recorder_dropped(const struct recorder *r);

/* Directory of the clips and path of the index under a data directory. */
void recorder_clip_dir(const char *data_dir, char *buf, size_t len);
void recorder_db_path(const char *data_dir, char *buf, size_t len);

#endif
