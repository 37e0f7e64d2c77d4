/* Tests of the gated mode's backlog: it holds the packets from the
 * keyframe before the newest one, shares their buffers rather than
 * copying them, finds both keyframes, and keeps within its byte bound. */
#include "backlog.h"

#include "testing.h"

static AVPacket *packet(int size, int key)
{
	AVPacket *p = av_packet_alloc();

	if (p && av_new_packet(p, size) == 0) {
		p->flags = key ? AV_PKT_FLAG_KEY : 0;
		p->pts = 0;
	}
	return p;
}

/* Push a GOP: a keyframe and n - 1 other packets, pts from *pts on. */
static void gop(struct backlog *b, int n, int size, int64_t *pts)
{
	for (int i = 0; i < n; i++) {
		AVPacket *p = packet(size, i == 0);
		p->pts = (*pts)++;
		CHECK(backlog_push(b, p, p->pts * 40000) == 0);
		av_packet_free(&p);
	}
}

static void test_two_gops_kept(void)
{
	struct backlog b = { 0 };
	int64_t pts = 0;

	CHECK(backlog_key(&b, 0) == -1);
	gop(&b, 50, 100, &pts);
	CHECK(b.n == 50 && backlog_key(&b, 0) == 0 && backlog_key(&b, 1) == -1);
	gop(&b, 50, 100, &pts);
	CHECK(b.n == 100 && backlog_key(&b, 0) == 50 && backlog_key(&b, 1) == 0);
	/* A third keyframe drops the first GOP. */
	gop(&b, 10, 100, &pts);
	CHECK(b.n == 60 && backlog_key(&b, 1) == 0 && backlog_key(&b, 0) == 50);
	CHECK(backlog_at(&b, 0)->pkt->pts == 50 && backlog_at(&b, 0)->wall_us == 50 * 40000);
	CHECK(b.bytes == 60 * 100);
	backlog_clear(&b);
	CHECK(b.n == 0 && b.bytes == 0 && backlog_key(&b, 0) == -1);
	backlog_free(&b);
	backlog_free(&b);
}

static void test_references_not_copies(void)
{
	struct backlog b = { 0 };
	AVPacket *p = packet(1000, 1);

	CHECK(backlog_push(&b, p, 1) == 0);
	CHECK(backlog_at(&b, 0)->pkt->data == p->data);
	CHECK(av_buffer_get_ref_count(p->buf) == 2);
	av_packet_free(&p);
	backlog_free(&b);
}

static void test_byte_bound(void)
{
	struct backlog b = { 0 };
	int64_t pts = 0;

	/* A GOP over the bound: the oldest packets go, keyframe first;
	 * an opening then waits for the next keyframe. */
	gop(&b, 40, 1 << 20, &pts);
	CHECK(b.bytes <= BACKLOG_MAX_BYTES);
	CHECK(backlog_key(&b, 0) == -1);
	gop(&b, 2, 1 << 20, &pts);
	CHECK(backlog_key(&b, 0) >= 0);
	backlog_free(&b);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_two_gops_kept),
		TEST(test_references_not_copies),
		TEST(test_byte_bound),
		{ NULL, NULL }
	};
	return test_run("backlog", cases);
}
