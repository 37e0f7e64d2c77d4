/* Tests of logging: passwords in URLs never reach a log line. */
#include "log.h"

#include <stdio.h>
#include <string.h>

#include "testing.h"

static void test_redact(void)
{
	char buf[256];

	log_redact_url("rtsp://admin:s3cret@10.0.0.1:554/stream", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://admin:***@10.0.0.1:554/stream") == 0);
	log_redact_url("rtsp://10.0.0.1/a@b", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://10.0.0.1/a@b") == 0);
	log_redact_url("rtsp://user@host/x", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://user@host/x") == 0);
	log_redact_url("/srv/video.mp4", buf, sizeof(buf));
	CHECK(strcmp(buf, "/srv/video.mp4") == 0);
}

/* issue 20 D6: the password runs to the last '@' of the authority. */
static void test_redact_at_in_password(void)
{
	char buf[256];

	log_redact_url("rtsp://admin:p@ssw0rdLEAK@10.0.0.1/s", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://admin:***@10.0.0.1/s") == 0);
	log_redact_url("rtsp://h:554/path@x:y@z", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://h:554/path@x:y@z") == 0);
	log_redact_url("rtsp://u:pw@h/a@b", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://u:***@h/a@b") == 0);
	log_redact_url("rtsp://h?q=a:b@c", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://h?q=a:b@c") == 0);
	log_redact_url("rtsp://h#a:b@c", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://h#a:b@c") == 0);
	log_redact_url("rtsp://[fe80::1]:554/a@b", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://[fe80::1]:554/a@b") == 0);
	log_redact_url("rtsp://ad:p@[ss]@[fe80::1]:554/x", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsp://ad:***@[fe80::1]:554/x") == 0);
	log_redact_url("rtsps://a:b:c@@h", buf, sizeof(buf));
	CHECK(strcmp(buf, "rtsps://a:***@h") == 0);
	log_redact_url("rtsp://a:secret@h/x", buf, 12);
	CHECK(strcmp(buf, "rtsp://a:**") == 0);
}

/* Log lines may hold several URLs, quoted or not; a short password grows
 * to "***" without running past the buffer. */
static void test_redact_text(void)
{
	char line[128], small[16];

	snprintf(line, sizeof(line), "open 'rtsp://admin:p@ss@h:554/a@b' failed, "
		 "rtsp://u:x@y?z@w next");
	log_redact_text(line, sizeof(line));
	CHECK(strcmp(line, "open 'rtsp://admin:***@h:554/a@b' failed, "
		      "rtsp://u:***@y?z@w next") == 0);
	snprintf(line, sizeof(line), "rtsp://[::1]:554/s and rtsp://u@h/x");
	log_redact_text(line, sizeof(line));
	CHECK(strcmp(line, "rtsp://[::1]:554/s and rtsp://u@h/x") == 0);
	memcpy(small, "rtsp://u:p@h/xy", sizeof(small));
	log_redact_text(small, sizeof(small));
	CHECK(strcmp(small, "rtsp://u:***@h/") == 0);
	CHECK(strstr(small, ":p@") == NULL);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_redact),
		TEST(test_redact_at_in_password),
		TEST(test_redact_text),
		{ NULL, NULL }
	};

	return test_run("log", cases);
}
