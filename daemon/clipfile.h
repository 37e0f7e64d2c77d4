/* One clip on disk: fragmented MP4 written by stream copy.
 *
 * The file is fragmented at every keyframe and at least every second and
 * flushed after every packet, so a clip cut short (process killed, disk
 * full) still plays up to its last complete fragment. Timestamps start at
 * zero and decoding timestamps are kept strictly increasing whatever the
 * source does (camera clock jumps, reconnects). Used by one thread. */
#ifndef VIGIL_CLIPFILE_H
#define VIGIL_CLIPFILE_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdint.h>

struct clipfile {
	AVFormatContext *oc;
	AVRational in_tb;
	int64_t first_dts;    /* input time base; AV_NOPTS_VALUE before the first */
	int64_t offset;       /* added to input timestamps after a jump back */
	int64_t last_in_dts;
	int64_t last_out_dts; /* output time base */
	int64_t end_pts;      /* output time base: end of the newest packet */
	int64_t packets;
	int64_t good_bytes;   /* file size at the end of the last whole fragment */
	int broken;           /* a write failed: no trailer, cut to good_bytes */
	char path[4400];
};

/* Create path and write the header for one video stream copied from par
 * (packets in time base tb). Returns 0 or an AVERROR; on error nothing
 * needs closing but clipfile_close() is still safe. */
int clipfile_open(struct clipfile *f, const char *path, const AVCodecParameters *par,
		  AVRational tb);
/* Append one packet (modified in place: timestamps, stream index). */
int clipfile_write(struct clipfile *f, AVPacket *pkt);
/* Finish the file (trailer) and close it; returns the trailer's error.
 * After a failed write the file is instead cut back to its last whole
 * fragment (a half-written one would end playback with an error). Safe
 * on a clip that failed or was never opened. */
int clipfile_close(struct clipfile *f);

/* Bytes written so far. */
int64_t clipfile_size(const struct clipfile *f);
/* Seconds of video written so far. */
double clipfile_duration(const struct clipfile *f);

#endif
