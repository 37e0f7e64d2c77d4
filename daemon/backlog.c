/* Packet backlog for the gated analysis mode; see backlog.h. */
#include "backlog.h"

#include <errno.h>
#include <stdlib.h>

struct backlog_item *backlog_at(const struct backlog *b, size_t i)
{
	return &b->v[(b->head + i) % b->cap];
}

static void backlog_drop_head(struct backlog *b)
{
	struct backlog_item *it = backlog_at(b, 0);

	b->bytes -= it->pkt->size;
	av_packet_free(&it->pkt);
	b->head = (b->head + 1) % b->cap;
	b->n--;
}

long backlog_key(const struct backlog *b, int back)
{
	for (size_t i = b->n; i-- > 0;)
		if ((backlog_at(b, i)->pkt->flags & AV_PKT_FLAG_KEY) && back-- == 0)
			return (long)i;
	return -1;
}

static int backlog_grow(struct backlog *b)
{
	size_t ncap = b->cap ? b->cap * 2 : 128;
	struct backlog_item *n = malloc(ncap * sizeof(*n));

	if (!n)
		return AVERROR(ENOMEM);
	for (size_t i = 0; i < b->n; i++)
		n[i] = *backlog_at(b, i);
	free(b->v);
	b->v = n;
	b->cap = ncap;
	b->head = 0;
	return 0;
}

int backlog_push(struct backlog *b, const AVPacket *pkt, int64_t wall_us)
{
	AVPacket *ref;
	long prev;

	if (pkt->flags & AV_PKT_FLAG_KEY) {
		prev = backlog_key(b, 0);
		while (prev-- > 0)
			backlog_drop_head(b);
	}
	if (b->n == b->cap && backlog_grow(b) < 0)
		return AVERROR(ENOMEM);
	ref = av_packet_clone(pkt);
	if (!ref)
		return AVERROR(ENOMEM);
	b->v[(b->head + b->n) % b->cap] = (struct backlog_item){ ref, wall_us };
	b->n++;
	b->bytes += ref->size;
	while (b->n > 1 && b->bytes > BACKLOG_MAX_BYTES)
		backlog_drop_head(b);
	return 0;
}

void backlog_clear(struct backlog *b)
{
	while (b->n)
		backlog_drop_head(b);
}

void backlog_free(struct backlog *b)
{
	backlog_clear(b);
	free(b->v);
	b->v = NULL;
	b->cap = b->head = 0;
}
