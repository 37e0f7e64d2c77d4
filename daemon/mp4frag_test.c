/* Tests of the fragment scan on files of hand-made boxes: whole files,
 * a partial box at the end, a moof without its mdat, 64-bit sizes, no
 * moov yet, garbage sizes. */
#include "mp4frag.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing.h"

struct buf {
	unsigned char d[4096];
	int64_t n;
};

static void box(struct buf *b, const char *type, uint32_t payload)
{
	uint32_t len = payload + 8;

	b->d[b->n] = (unsigned char)(len >> 24);
	b->d[b->n + 1] = (unsigned char)(len >> 16);
	b->d[b->n + 2] = (unsigned char)(len >> 8);
	b->d[b->n + 3] = (unsigned char)len;
	memcpy(b->d + b->n + 4, type, 4);
	memset(b->d + b->n + 8, 0xab, payload);
	b->n += len;
}

/* The scan of the first n bytes of b, through a real file. */
static int64_t scan(const struct buf *b, int64_t n)
{
	char path[] = "/tmp/mp4frag_test.XXXXXX";
	int fd = mkstemp(path);
	int64_t r;

	if (fd < 0)
		return -1000;
	unlink(path);
	if (write(fd, b->d, (size_t)n) != (ssize_t)n) {
		close(fd);
		return -1001;
	}
	r = mp4frag_complete_end(fd, n);
	close(fd);
	return r;
}

static void test_whole_fragments(void)
{
	struct buf b = { .n = 0 };
	int64_t head, frag1, frag2;

	box(&b, "ftyp", 16);
	box(&b, "moov", 100);
	head = b.n;
	box(&b, "moof", 40);
	box(&b, "mdat", 300);
	frag1 = b.n;
	box(&b, "moof", 40);
	box(&b, "mdat", 200);
	frag2 = b.n;
	CHECK(scan(&b, b.n) == frag2);
	/* Cut anywhere inside the second fragment: the first one's end. */
	CHECK(scan(&b, frag2 - 1) == frag1);
	CHECK(scan(&b, frag1 + 8 + 40) == frag1);      /* moof whole, no mdat */
	CHECK(scan(&b, frag1 + 48 + 4) == frag1);      /* mdat header cut */
	CHECK(scan(&b, frag1 + 3) == frag1);
	/* Inside the first fragment: just the header boxes. */
	CHECK(scan(&b, head + 50) == head);
	CHECK(scan(&b, head) == head);
	/* Without a whole moov nothing is playable. */
	CHECK(scan(&b, head - 1) == 0);
	CHECK(scan(&b, 10) == 0);
	CHECK(scan(&b, 0) == 0);
}

static void test_trailer_boxes(void)
{
	struct buf b = { .n = 0 };

	box(&b, "ftyp", 16);
	box(&b, "moov", 100);
	box(&b, "moof", 40);
	box(&b, "mdat", 300);
	box(&b, "mfra", 30);     /* written by the trailer: whole, so served */
	CHECK(scan(&b, b.n) == b.n);
}

static void test_large_size(void)
{
	struct buf b = { .n = 0 };
	int64_t at;

	box(&b, "ftyp", 16);
	box(&b, "moov", 100);
	box(&b, "moof", 40);
	/* An mdat with a 64-bit size of 16 + 64 bytes. */
	at = b.n;
	memcpy(b.d + at, "\0\0\0\1mdat\0\0\0\0\0\0\0\x50", 16);
	memset(b.d + at + 16, 0xcd, 64);
	b.n += 80;
	CHECK(scan(&b, b.n) == b.n);
	CHECK(scan(&b, b.n - 1) == at - 48);
}

static void test_garbage(void)
{
	struct buf b = { .n = 0 };
	int64_t head;

	box(&b, "ftyp", 16);
	box(&b, "moov", 100);
	head = b.n;
	/* A size smaller than a header, and a size of 0 (to the end). */
	memcpy(b.d + b.n, "\0\0\0\4moof", 8);
	b.n += 8;
	CHECK(scan(&b, b.n) == head);
	b.n = head;
	memcpy(b.d + b.n, "\0\0\0\0mdat", 8);
	b.n += 8;
	CHECK(scan(&b, b.n) == head);
	/* An absurd 64-bit size. */
	b.n = head;
	memcpy(b.d + b.n, "\0\0\0\1mdat\xff\xff\xff\xff\xff\xff\xff\xff", 16);
	b.n += 16;
	CHECK(scan(&b, b.n) == head);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_whole_fragments),
		TEST(test_trailer_boxes),
		TEST(test_large_size),
		TEST(test_garbage),
		{ NULL, NULL }
	};
	return test_run("mp4frag", cases);
}
