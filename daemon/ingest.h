/* Ingest: one camera stream (RTSP or a file) opened and read the same
 * way by every reader of the daemon, the camera thread (detect_url) and
 * the record-stream reader (record_url).
 *
 * - RTSP goes over the camera's transport (tcp or udp); opening and
 *   probing are bounded by open_timeout, every read by read_timeout,
 *   through an interrupt callback with a deadline that is sticky once it
 *   passed (a buffered packet cannot hide the timeout, and closing does
 *   not wait on a dead peer). Setting *stop ends any wait at once.
 * - Files are read at their own pace, as a camera would send them, and
 *   with loop start again at the end, time running on. With unpaced a
 *   file is read as fast as its reader asks, and its wall time is the
 *   wall time of its first packet plus the stream time since: the
 *   file's own clock, jumps included (weeks of recorded time in
 *   minutes, for tests and evaluation).
 * - Each packet gets a wall time by the stream's own clock (its time
 *   stamp plus the smallest arrival offset seen), so packets that waited
 *   in a socket buffer keep the time they were sent at.
 * - Failed sessions are retried after ingest_backoff_next(): 1 s doubling
 *   to 30 s with +-20 % jitter, back to 1 s after a minute streaming. */
#ifndef VIGIL_INGEST_H
#define VIGIL_INGEST_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ingest_conf {
	const char *who;            /* camera id, for log lines */
	const char *url;
	const char *transport;      /* RTSP lower transport: "tcp" or "udp" */
	int64_t open_timeout_us;    /* connect and probe */
	int64_t read_timeout_us;    /* each read */
	int64_t max_pixels;         /* probing decoders' picture limit; 0: none */
	int loop;                   /* files: play again from the start at the end */
	int unpaced;                /* files: no pacing, wall time from the file */
	atomic_int *stop;           /* set by another thread: calls return soon */
	char *error;                /* what failed last ("read: timed out") */
	size_t error_size;
};

/* The stream clock: wall time = stream time + the smallest offset between
 * arrival and stream time seen, aged by 1 ms a second so that a camera
 * clock running slow is followed; taken afresh when stream time jumps
 * back or more than 5 s ahead (the stream restarted). */
struct ingest_clock {
	int64_t off;                /* wall minus stream time, microseconds */
	int64_t off_wall;           /* when off was last aged */
	int64_t last_us;            /* stream time of the previous packet */
	int have;
};

struct ingest {
	struct ingest_conf conf;
	char url_log[512];          /* the URL with its password hidden */
	AVFormatContext *fmt;
	AVStream *st;               /* the video stream */
	const AVCodec *codec;       /* its decoder */
	int vidx;
	int is_file;
	unsigned long packets;      /* video packets read in this session */
	int waited;                 /* the last read waited for data */
	int rewound;                /* the last packet starts a new pass of the file */
	int64_t deadline_us;        /* monotonic; blocking calls end after it */
	int timed_out;              /* sticky: the deadline passed */
	int64_t start_mono;         /* pacing: when the first packet was read */
	int64_t first_pts_us;       /* pacing: stream time of that packet */
	int64_t pts_offset_us;      /* stream time added by earlier passes */
	int64_t last_pts_us;
	int64_t file_wall_us;       /* unpaced: wall time of the first packet */
	int64_t file_first_us;      /* ... and its stream time */
	int64_t file_last_us;       /* wall time of the newest packet */
	struct ingest_clock clock;
};

/* Process-wide set-up, once before any stream is opened: FFmpeg's log
 * through vlog(), networking, the fault hook's environment. */
void ingest_global_init(void);

/* Open conf->url, probe it and find its video stream and decoder. On
 * failure the reason is in conf->error and the caller must still call
 * ingest_close(). Returns 0 or an AVERROR. */
int ingest_open(struct ingest *in, const struct ingest_conf *conf);
/* The next packet of the video stream into pkt, with its wall time by
 * the stream clock (unpaced files: by the file's clock). Files are paced
 * unless unpaced and, with loop, rewound (rewound is
 * set on the first packet of a new pass). Returns 0 or an AVERROR (the
 * reason in conf->error; AVERROR(ETIMEDOUT) after read_timeout). */
int ingest_read(struct ingest *in, AVPacket *pkt, int64_t *wall_us);
/* Close the stream (TEARDOWN bounded to 1 s). Safe on a failed open. */
void ingest_close(struct ingest *in);
/* Write "what: reason" into conf->error ("timed out" after a deadline). */
void ingest_set_error(struct ingest *in, const char *what, int err);

/* Wall time of a packet of stream time stream_us that arrived at
 * arrival_us (CLOCK_REALTIME), by the stream clock. */
int64_t ingest_clock_wall(struct ingest_clock *k, int64_t stream_us, int64_t arrival_us);

struct ingest_backoff {
	int64_t next_us;
	unsigned seed;
};

void ingest_backoff_init(struct ingest_backoff *b, unsigned seed);
/* How long to wait before the next attempt, after a session that
 * streamed for streamed_us (0: it never produced a packet). */
int64_t ingest_backoff_next(struct ingest_backoff *b, int64_t streamed_us);

/* Sleep up to us microseconds, waking early when *stop is set. */
void ingest_sleep(atomic_int *stop, int64_t us);
int64_t ingest_mono_us(void);
int64_t ingest_wall_us(void);

#endif
