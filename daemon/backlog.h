/* Backlog of one camera's detect stream for the "gated" analysis mode:
 * references to the packets since the keyframe before the newest one,
 * with their wall times, so that an opening gate can decode from a
 * keyframe up to the present.
 *
 * The packets are references (av_packet_ref): where the recorder's
 * pre-roll ring holds the same packets, both share one buffer and the
 * backlog costs only its slots. Bounded by BACKLOG_MAX_BYTES; a GOP
 * longer than that leaves the backlog without a keyframe, and an
 * opening then waits for the next one. */
#ifndef VIGIL_BACKLOG_H
#define VIGIL_BACKLOG_H

#include <libavcodec/avcodec.h>
#include <stddef.h>
#include <stdint.h>

#define BACKLOG_MAX_BYTES (24LL << 20)

struct backlog_item {
	AVPacket *pkt;
	int64_t wall_us;
};

struct backlog {
	struct backlog_item *v;
	size_t cap, head, n;
	int64_t bytes;
};

/* Keep a reference to pkt. A keyframe drops what came before the
 * keyframe it follows. Returns 0 or AVERROR(ENOMEM). */
int backlog_push(struct backlog *b, const AVPacket *pkt, int64_t wall_us);
/* Index of the newest keyframe (back = 0) or of the one before it
 * (back = 1); -1 when the backlog holds none. */
long backlog_key(const struct backlog *b, int back);
struct backlog_item *backlog_at(const struct backlog *b, size_t i);
/* Drop everything (a rewound file); backlog_free also frees the slots. */
void backlog_clear(struct backlog *b);
void backlog_free(struct backlog *b);

#endif
