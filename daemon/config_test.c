/* Tests of the configuration checker: each error kind names file and
 * line, valid files fill in defaults, URLs are redacted. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "testing.h"

struct loaded {
	char path[64];
	char *errors;     /* everything printed */
	int nerrors;
	struct vigil_config cfg;
};

static const char *ok_head =
	"instance = \"t\";\n"
	"workers = 2;\n"
	"data_dir = \"/tmp/x\";\n"
	"alerts = { publish = \"tcp://127.0.0.1:7700\"; insecure = true; };\n";

/* Write text to a temporary file and load it; errors are captured. */
static void load(struct loaded *l, const char *text)
{
	size_t size = 0;
	FILE *mem = open_memstream(&l->errors, &size);
	int fd;

	snprintf(l->path, sizeof(l->path), "/tmp/vigil-config-test-XXXXXX");
	fd = mkstemp(l->path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	l->nerrors = config_load(l->path, &l->cfg, mem);
	fclose(mem);
}

static void unload(struct loaded *l)
{
	unlink(l->path);
	free(l->errors);
	config_free(&l->cfg);
}

/* "PATH:LINE: message" expected among the errors. */
static void expect_error(struct loaded *l, int line, const char *msg)
{
	char want[256];

	snprintf(want, sizeof(want), "%s:%d: %s", l->path, line, msg);
	CHECK_STR_CONTAINS(l->errors, want);
}

static void test_valid(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = (\n"
		 "  { id = \"cam01\"; name = \"East gate\"; district = \"xiangcheng\";\n"
		 "    grid = \"g01\"; site = \"key\"; url = \"rtsp://127.0.0.1:8554/walker\"; },\n"
		 "  { id = \"cam02\"; detect_url = \"rtsp://h/sub\"; record_url = \"rtsp://h/main\"; }\n"
		 ");\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.ncameras == 2);
	CHECK(strcmp(l.cfg.instance, "t") == 0);
	CHECK(l.cfg.workers == 2);
	CHECK(strcmp(l.cfg.publish, "tcp://127.0.0.1:7700") == 0);
	CHECK(strcmp(l.cfg.cameras[0].detect_url, "rtsp://127.0.0.1:8554/walker") == 0);
	CHECK(strcmp(l.cfg.cameras[0].record_url, "rtsp://127.0.0.1:8554/walker") == 0);
	CHECK(strcmp(l.cfg.cameras[0].district, "xiangcheng") == 0);
	CHECK(l.cfg.cameras[0].line == 6);
	CHECK(strcmp(l.cfg.cameras[1].detect_url, "rtsp://h/sub") == 0);
	CHECK(strcmp(l.cfg.cameras[1].record_url, "rtsp://h/main") == 0);
	CHECK(strcmp(l.cfg.cameras[1].name, "cam02") == 0);
	CHECK(strcmp(l.cfg.cameras[1].site, "normal") == 0);
	CHECK(strcmp(config_site_severity(l.cfg.cameras[0].site), "critical") == 0);
	CHECK(strcmp(config_site_severity(l.cfg.cameras[1].site), "medium") == 0);
	unload(&l);
}

static void test_shipped_example(void)
{
	struct vigil_config cfg;
	int n = config_load("config/vigil.conf", &cfg, stderr);

	CHECK(n == 0);
	CHECK(cfg.ncameras >= 1);
	config_free(&cfg);
}

static void test_unknown_key(void)
{
	struct loaded l;
	char text[1024];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "colour = \"blue\";\n"
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  zoom = 3; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 2);
	expect_error(&l, 5, "unknown key 'colour'");
	expect_error(&l, 7, "camera 'a': unknown key 'zoom'");
	unload(&l);
}

static void test_wrong_type(void)
{
	struct loaded l;

	load(&l, "instance = \"t\";\nworkers = \"two\";\n"
		 "alerts = { publish = 7700; };\n"
		 "cameras = ( { id = 5; url = \"rtsp://h/a\"; } );\n");
	CHECK(l.nerrors >= 3);
	expect_error(&l, 2, "workers must be an integer");
	expect_error(&l, 3, "alerts.publish must be a string");
	expect_error(&l, 4, "camera #1: id must be a string");
	unload(&l);
}

static void test_missing_url(void)
{
	struct loaded l;
	char text[1024];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = (\n  { id = \"a\"; name = \"A\"; record_url = \"rtsp://h/a\"; }\n);\n");
	load(&l, text);
	CHECK(l.nerrors == 1);
	expect_error(&l, 6, "camera 'a': missing url");
	unload(&l);
}

static void test_duplicate_id(void)
{
	struct loaded l;
	char text[1024];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = (\n"
		 "  { id = \"a\"; url = \"rtsp://h/1\"; },\n"
		 "  { id = \"b\"; url = \"rtsp://h/2\"; },\n"
		 "  { id = \"a\"; url = \"rtsp://h/3\"; }\n);\n");
	load(&l, text);
	CHECK(l.nerrors == 1);
	expect_error(&l, 8, "duplicate camera id 'a' (first defined at line 6)");
	unload(&l);
}

static void test_bad_scheme(void)
{
	struct loaded l;
	char text[1024];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\";\n"
		 "  url = \"http://admin:hunter2@cam/video\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 1);
	expect_error(&l, 6, "camera 'a': url 'http://admin:***@cam/video' has an unsupported scheme");
	CHECK(strstr(l.errors, "hunter2") == NULL);
	unload(&l);
}

static void test_syntax_error(void)
{
	struct loaded l;

	load(&l, "instance = \"t\";\nworkers = ;\n");
	CHECK(l.nerrors == 1);
	expect_error(&l, 2, "syntax error");
	unload(&l);
}

static void test_missing_sections(void)
{
	struct loaded l;

	load(&l, "instance = \"t\";\n");
	CHECK(l.nerrors == 2);
	expect_error(&l, 1, "missing required key 'alerts'");
	expect_error(&l, 1, "missing required key 'cameras'");
	unload(&l);
}

static void test_ranges_and_tokens(void)
{
	struct loaded l;

	load(&l, "workers = 1000;\n"
		 "alerts = { publish = \"udp://x\"; };\n"
		 "cameras = ( { id = \"a.b\"; district = \"x y\"; site = \"vip\"; url = \"rtsp://h/a\"; } );\n");
	expect_error(&l, 1, "workers must be between 0 and 256, not 1000");
	expect_error(&l, 2, "alerts.publish 'udp://x' must be a tcp:// or ipc:// endpoint");
	expect_error(&l, 3, "camera 'a.b': id may only contain");
	expect_error(&l, 3, "camera 'a.b': district may only contain");
	expect_error(&l, 3, "camera 'a.b': site must be one of key, public, normal, not 'vip'");
	CHECK(l.nerrors == 5);
	unload(&l);
}

/* issue 20 D5: ids, districts, grids, zone names and the instance are
 * limited to VIGIL_TOKEN_MAX, at the line of the offending key. */
static void test_token_lengths(void)
{
	struct loaded l;
	char text[4096], max[VIGIL_TOKEN_MAX + 1], over[VIGIL_TOKEN_MAX + 2], want[200];

	memset(max, 'm', sizeof(max) - 1);
	max[sizeof(max) - 1] = '\0';
	memset(over, 'o', sizeof(over) - 1);
	over[sizeof(over) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "instance = \"%s\";\n"
		 "alerts = { publish = \"ipc:///tmp/x/p\"; };\n"
		 "cameras = ( { id = \"%s\"; district = \"%s\"; grid = \"%s\"; url = \"rtsp://h/a\";\n"
		 "  zones = ( { name = \"%s\"; polygon = [0.1, 0.1, 0.9, 0.1, 0.5, 0.9]; } ); },\n"
		 "  { url = \"rtsp://h/b\";\n"
		 "    id = \"%s\"; district = \"%s\"; grid = \"%s\";\n"
		 "    zones = ( { name = \"%s\"; polygon = [0.1, 0.1, 0.9, 0.1, 0.5, 0.9]; },\n"
		 "              { name = \"../x\"; polygon = [0.1, 0.1, 0.9, 0.1, 0.5, 0.9]; } ); } );\n",
		 over, max, max, max, max, over, over, over, over);
	load(&l, text);
	snprintf(want, sizeof(want), "instance is %d characters long, at most %d are allowed",
		 VIGIL_TOKEN_MAX + 1, VIGIL_TOKEN_MAX);
	expect_error(&l, 1, want);
	snprintf(want, sizeof(want), "camera '%s': id is %d characters long, at most %d are "
		 "allowed (it names topics and files)", over, VIGIL_TOKEN_MAX + 1, VIGIL_TOKEN_MAX);
	expect_error(&l, 6, want);
	snprintf(want, sizeof(want), "camera '%s': district is %d characters long", over,
		 VIGIL_TOKEN_MAX + 1);
	expect_error(&l, 6, want);
	snprintf(want, sizeof(want), "camera '%s': grid is %d characters long", over,
		 VIGIL_TOKEN_MAX + 1);
	expect_error(&l, 6, want);
	snprintf(want, sizeof(want), "camera '%s': zone '%s': name must be 1 to %d letters, "
		 "digits, '_' or '-'", over, over, VIGIL_TOKEN_MAX);
	expect_error(&l, 7, want);
	snprintf(want, sizeof(want), "camera '%s': zone '../x': name must be", over);
	expect_error(&l, 8, want);
	CHECK(l.nerrors == 6);
	unload(&l);
}

/* issue 20 D12: libconfig wraps integers without L to 32 bits; every
 * integer setting is checked as written, with its allowed range. */
static void test_integers_do_not_wrap(void)
{
	struct loaded l;

	load(&l, "workers = 4294967298;\n"
		 "stats_interval = -4294967236; # 4294967298 in a comment\n"
		 "status = { metrics_port = 0x100002000; };\n"
		 "alerts = { publish = \"ipc:///tmp/x/4294967298\"; journal_days = 99999999999999999999; };\n"
		 "recording = { pre_seconds = 4294967297; post_seconds = 4294967297; };\n"
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; open_timeout = 4294967306L;\n"
		 "  zones = ( { name = \"z\"; polygon = [0, 0, 4294967297, 0, 0, 1]; } );\n"
		 "  detect = { tamper = { every = 4294967298; }; }; } );\n");
	expect_error(&l, 1, "workers must be between 0 and 256, not 4294967298");
	expect_error(&l, 2, "stats_interval must be between 1 and 86400, not -4294967236");
	expect_error(&l, 3, "status.metrics_port must be between 0 and 65535, not 4294975488");
	expect_error(&l, 4, "alerts.journal_days must be between 1 and 3650, not 9223372036854775807");
	expect_error(&l, 5, "recording.pre_seconds must be between 0 and 60, not 4294967297");
	expect_error(&l, 5, "recording.post_seconds must be between 0 and 600, not 4294967297");
	expect_error(&l, 6, "camera 'a': open_timeout must be between 1 and 300, not 4294967306");
	expect_error(&l, 7, "camera 'a': zone 'z': polygon coordinate 3 must be a number from 0 to 1");
	expect_error(&l, 8, "camera 'a': detect.tamper.every must be between 1 and 25, not 4.29497e+09");
	CHECK(l.nerrors == 9);
	unload(&l);

	/* The largest values that fit are read as they are. */
	load(&l, "workers = 256; stats_interval = 86400;\n"
		 "alerts = { publish = \"ipc:///tmp/x/p\"; };\n"
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; } );\n");
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.workers == 256);
	CHECK(l.cfg.stats_interval == 86400);
	unload(&l);
}

/* issue 20 D12: names go into alert payloads, which are UTF-8. */
static void test_names_are_utf8(void)
{
	struct loaded l;

	load(&l, "alerts = { publish = \"ipc:///tmp/x/p\"; };\n"
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; name = \"Caf\xc3\xa9 \xe2\x82\xac\"; },\n"
		 "  { id = \"b\"; url = \"rtsp://h/b\";\n"
		 "    name = \"bad \xff\"; },\n"
		 "  { id = \"c\"; url = \"rtsp://h/c\"; name = \"overlong \xc0\xaf\"; },\n"
		 "  { id = \"d\"; url = \"rtsp://h/d\"; name = \"cut \xe2\x82\"; },\n"
		 "  { id = \"e\"; url = \"rtsp://h/e\"; name = \"surrogate \xed\xa0\x80\"; },\n"
		 "  { id = \"f\xc3\xa9\"; url = \"rtsp://h/f\"; } );\n");
	expect_error(&l, 4, "camera 'b': name is not valid UTF-8");
	expect_error(&l, 5, "camera 'c': name is not valid UTF-8");
	expect_error(&l, 6, "camera 'd': name is not valid UTF-8");
	expect_error(&l, 7, "camera 'e': name is not valid UTF-8");
	expect_error(&l, 8, "camera 'f\xc3\xa9': id may only contain letters, digits, '_' and '-'");
	CHECK(l.nerrors == 5);
	CHECK(strcmp(l.cfg.cameras[0].name, "Caf\xc3\xa9 \xe2\x82\xac") == 0);
	unload(&l);
}

/* TCP needs CURVE or an explicit insecure switch; endpoints are checked
 * element by element. */
static void test_alert_security(void)
{
	struct loaded l;

	load(&l, "alerts = {\n"
		 "  publish = \"tcp://127.0.0.1:7700\";\n"
		 "  replay = \"tcp://127.0.0.1:7701\";\n"
		 "  endpoints = (\n"
		 "    { bind = \"tcp://127.0.0.1:7702\"; clients = [ \"p1\" ]; topics = [ \"x.\" ]; },\n"
		 "    { clients = \"p2\"; colour = 1; }\n"
		 "  );\n"
		 "};\n"
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; } );\n");
	expect_error(&l, 2, "alerts.publish 'tcp://127.0.0.1:7700' is TCP without CURVE: "
		     "configure alerts.curve, or set alerts.insecure = true to allow plain TCP");
	expect_error(&l, 3, "alerts.replay 'tcp://127.0.0.1:7701' is TCP without CURVE");
	expect_error(&l, 5, "alerts.endpoints #1 topics: 'x.' must start with 'alert.'");
	expect_error(&l, 5, "alerts.endpoints #1: 'tcp://127.0.0.1:7702' is TCP without CURVE");
	expect_error(&l, 5, "alerts.endpoints #1: clients need alerts.curve");
	expect_error(&l, 6, "alerts.endpoints #2: clients must be a list of strings [ ... ]");
	expect_error(&l, 6, "alerts.endpoints #2: unknown key 'colour'");
	expect_error(&l, 6, "alerts.endpoints #2: missing required key 'bind'");
	CHECK(l.nerrors == 8);
	unload(&l);

	load(&l, "alerts = { publish = \"tcp://127.0.0.1:7700\";\n"
		 "  curve = { secret_key_file = \"/k/server.key\"; clients_dir = \"/k/clients\"; };\n"
		 "  endpoints = ( { bind = \"tcp://127.0.0.1:7702\"; clients = [ \"p1\" ];\n"
		 "                  topics = [ \"alert.critical.x.\" ]; } ); };\n"
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; } );\n");
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.nendpoints == 1 && l.cfg.endpoints[0].nclients == 1);
	CHECK(strcmp(l.cfg.endpoints[0].topics[0], "alert.critical.x.") == 0);
	CHECK(strcmp(l.cfg.curve_clients_dir, "/k/clients") == 0);
	/* A reload restarts the relay when anything it uses changed, and
	 * only then: thumbnails are the workers' business. */
	CHECK(config_relay_equal(&l.cfg, &l.cfg));
	{
		struct loaded m;
		load(&m, "alerts = { publish = \"tcp://127.0.0.1:7700\"; thumbnail = true;\n"
			 "  curve = { secret_key_file = \"/k/server.key\"; clients_dir = \"/k/clients\"; };\n"
			 "  endpoints = ( { bind = \"tcp://127.0.0.1:7702\"; clients = [ \"p1\" ];\n"
			 "                  topics = [ \"alert.critical.y.\" ]; } ); };\n"
			 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; } );\n");
		CHECK(m.nerrors == 0);
		CHECK(!config_relay_equal(&l.cfg, &m.cfg));
		free(m.cfg.endpoints[0].topics[0]);
		m.cfg.endpoints[0].topics[0] = strdup("alert.critical.x.");
		CHECK(config_relay_equal(&l.cfg, &m.cfg));
		m.cfg.journal_days++;
		CHECK(!config_relay_equal(&l.cfg, &m.cfg));
		unload(&m);
	}
	unload(&l);
	/* An endpoint may carry line counts too. */
	load(&l, "alerts = { publish = \"tcp://127.0.0.1:7700\";\n"
		 "  curve = { secret_key_file = \"/k/server.key\"; clients_dir = \"/k/clients\"; };\n"
		 "  endpoints = ( { bind = \"tcp://127.0.0.1:7702\"; clients = [ \"p1\" ];\n"
		 "                  topics = [ \"alert.critical.x.\", \"count.x.\" ]; } ); };\n"
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; } );\n");
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.endpoints[0].ntopics == 2 &&
	      strcmp(l.cfg.endpoints[0].topics[1], "count.x.") == 0);
	unload(&l);
}

static void test_options_and_defaults(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "defaults = { transport = \"udp\"; read_timeout = 7;\n"
		 "  analysis = { mode = \"keyframes\"; }; };\n"
		 "stats_interval = 10;\n"
		 "cameras = (\n"
		 "  { id = \"a\"; url = \"rtsp://h/a\"; },\n"
		 "  { id = \"b\"; url = \"/srv/b.mp4\"; loop = true; transport = \"tcp\";\n"
		 "    max_width = 7680; max_height = 4320;\n"
		 "    analysis = { mode = \"fps\"; fps = 2; width = 160; }; },\n"
		 "  { id = \"c\"; url = \"rtsp://h/c\"; analysis = { mode = \"gated\"; hold = 12;\n"
		 "    skip_repeats = false; }; },\n"
		 "  { id = \"d\"; url = \"file:///srv/d.mkv\"; pace = false; }\n"
		 ");\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.cameras[0].pace == 1 && l.cfg.cameras[1].pace == 1);
	CHECK(l.cfg.cameras[3].pace == 0 && l.cfg.cameras[3].loop == 0);
	CHECK(l.cfg.stats_interval == 10);
	CHECK(strcmp(l.cfg.cameras[0].transport, "udp") == 0);
	CHECK(l.cfg.cameras[0].read_timeout == 7);
	CHECK(l.cfg.cameras[0].open_timeout == 10);
	CHECK(l.cfg.cameras[0].loop == 0);
	CHECK(config_analysis_mode(&l.cfg.cameras[0]) == ANALYSIS_KEYFRAMES);
	CHECK(l.cfg.cameras[0].analysis_width == 320);
	CHECK(l.cfg.cameras[0].max_width == 4096 && l.cfg.cameras[0].max_height == 2304);
	CHECK(l.cfg.cameras[1].max_width == 7680 && l.cfg.cameras[1].max_height == 4320);
	CHECK(strcmp(l.cfg.cameras[1].transport, "tcp") == 0);
	CHECK(l.cfg.cameras[1].loop == 1);
	CHECK(config_analysis_mode(&l.cfg.cameras[1]) == ANALYSIS_FPS);
	CHECK(l.cfg.cameras[1].analysis_fps == 2);
	CHECK(l.cfg.cameras[1].analysis_width == 160);
	CHECK(l.cfg.cameras[1].analysis_hold == 5);
	CHECK(config_analysis_mode(&l.cfg.cameras[2]) == ANALYSIS_GATED);
	CHECK(l.cfg.cameras[2].analysis_hold == 12);
	CHECK(l.cfg.cameras[0].analysis_skip_repeats == 1);
	CHECK(l.cfg.cameras[2].analysis_skip_repeats == 0);
	unload(&l);
}

static void test_option_errors(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "defaults = { transport = \"sctp\"; };\n"
		 "cameras = (\n"
		 "  { id = \"a\"; url = \"rtsp://h/a\"; read_timeout = 0;\n"
		 "    loop = 1;\n"
		 "    analysis = { mode = \"sometimes\"; fps = 500;\n"
		 "      colour = 1; }; max_width = 100000; max_height = 8; }\n"
		 ");\n");
	load(&l, text);
	expect_error(&l, 5, "defaults: transport must be \"tcp\" or \"udp\", not 'sctp'");
	expect_error(&l, 7, "camera 'a': read_timeout must be between 1 and 300, not 0");
	expect_error(&l, 8, "camera 'a': loop must be true or false");
	expect_error(&l, 9, "camera 'a': analysis.fps must be between 1 and 100, not 500");
	expect_error(&l, 9, "camera 'a': analysis.mode must be \"full\", \"fps\", \"keyframes\" or \"gated\", "
		     "not 'sometimes'");
	expect_error(&l, 10, "camera 'a': unknown key 'analysis.colour'");
	expect_error(&l, 10, "camera 'a': max_width must be between 16 and 16384, not 100000");
	expect_error(&l, 10, "camera 'a': max_height must be between 16 and 16384, not 8");
	CHECK(l.nerrors == 8);
	unload(&l);

	/* pace = false: a file, read once, the same for recording. */
	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = (\n"
		 "  { id = \"a\"; url = \"rtsps://h/a\"; pace = false; },\n"
		 "  { id = \"b\"; url = \"/srv/b.mkv\"; loop = true; pace = false; },\n"
		 "  { id = \"c\"; url = \"/srv/c.mkv\"; pace = true; loop = true; }\n"
		 ");\n");
	load(&l, text);
	expect_error(&l, 6, "camera 'a': pace = false is for a file, not 'rtsps://h/a'");
	expect_error(&l, 7, "camera 'b': pace = false reads the file once");
	CHECK(l.nerrors == 2);
	unload(&l);
}

static void test_recording(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "recording = { pre_seconds = 3; retention_days = 7; quota = \"2G\"; };\n"
		 "cameras = (\n"
		 "  { id = \"a\"; url = \"rtsp://h/a\"; recording = { post_seconds = 4; }; },\n"
		 "  { id = \"b\"; url = \"rtsp://h/b\"; }\n"
		 ");\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.recording.pre_seconds == 3);
	CHECK(l.cfg.recording.quota_bytes == 2LL << 30);
	CHECK(l.cfg.cameras[0].recording.pre_seconds == 3);
	CHECK(l.cfg.cameras[0].recording.post_seconds == 4);
	CHECK(l.cfg.cameras[0].recording.max_seconds == 300);
	CHECK(l.cfg.cameras[1].recording.post_seconds == 10);
	CHECK(l.cfg.cameras[1].recording.retention_days == 7);
	CHECK(l.cfg.cameras[1].recording.quota_bytes == 2LL << 30);
	unload(&l);
}

static void test_recording_errors(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "recording = {\n"
		 "  pre_seconds = 99;\n"
		 "  quota = \"lots\";\n"
		 "  colour = 1;\n"
		 "};\n"
		 "cameras = (\n"
		 "  { id = \"a\"; url = \"rtsp://h/a\"; recording = { quota = \"1G\"; max_seconds = 5; }; }\n"
		 ");\n");
	load(&l, text);
	expect_error(&l, 6, "recording.pre_seconds must be between 0 and 60, not 99");
	expect_error(&l, 7, "recording.quota 'lots' must be a size");
	expect_error(&l, 8, "unknown key 'recording.colour'");
	expect_error(&l, 11, "camera 'a': unknown key 'recording.quota'");
	expect_error(&l, 11, "camera 'a': recording.max_seconds must be between 10 and 3600, not 5");
	CHECK(l.nerrors == 5);
	unload(&l);
}

static void test_parse_quota(void)
{
	int64_t b;
	int pct;

	CHECK(config_parse_quota("20G", &b, &pct) == 0 && b == 20LL << 30 && pct == 0);
	CHECK(config_parse_quota("500M", &b, &pct) == 0 && b == 500LL << 20);
	CHECK(config_parse_quota("4096", &b, &pct) == 0 && b == 4096);
	CHECK(config_parse_quota("80%", &b, &pct) == 0 && pct == 80 && b == 0);
	CHECK(config_parse_quota("101%", &b, &pct) == -EINVAL);
	CHECK(config_parse_quota("0", &b, &pct) == -EINVAL);
	CHECK(config_parse_quota("5X", &b, &pct) == -EINVAL);
	CHECK(config_parse_quota("5GB", &b, &pct) == -EINVAL);
	CHECK(config_parse_quota("", &b, &pct) == -EINVAL);
	CHECK(config_parse_quota("99999999999T", &b, &pct) == -EINVAL);
}

static void test_unreadable(void)
{
	struct vigil_config cfg;
	char *out = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&out, &size);

	CHECK(config_load("/nonexistent/vigil.conf", &cfg, mem) == 1);
	fclose(mem);
	CHECK_STR_CONTAINS(out, "/nonexistent/vigil.conf: cannot read file");
	free(out);
	config_free(&cfg);
}

static void test_zones_and_masks(void)
{
	struct loaded l;
	char text[2048];
	const struct vigil_camera *c;

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  zones = ( { name = \"yard\"; polygon = [0.0, 0.5, 1.0, 0.5, 1.0, 1.0];\n"
		 "              schedule = \"mon-fri 20:00-04:00\"; severity = \"high\";\n"
		 "              sensitivity = 0.7; min_size = 2; } );\n"
		 "  masks = ( { polygon = [0.0, 0.0, 0.2, 0.0, 0.2, 0.2]; } );\n"
		 "  detect = { motion = { sensitivity = 0.6; adapt = 3; }; tamper = { }; };\n"
		 "} );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	if (l.errors && l.nerrors)
		fprintf(stderr, "%s", l.errors);
	c = &l.cfg.cameras[0];
	CHECK(c->nzones == 1 && c->nmasks == 1 && c->ndetectors == 2);
	CHECK(strcmp(c->zones[0].name, "yard") == 0);
	CHECK(c->zones[0].z.npoints == 3 && c->zones[0].z.points[3] == 0.5f);
	CHECK(c->zones[0].z.sensitivity == 0.7 && c->zones[0].z.min_size == 2);
	CHECK(strcmp(c->zones[0].severity, "high") == 0);
	CHECK(c->zones[0].schedule.count == 1);
	CHECK(strcmp(c->detectors[0].name, "motion") == 0 && c->detectors[0].nopts == 2);
	CHECK(c->detectors[0].opts[1].value == 3);
	unload(&l);
}

static void test_zone_errors(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  zones = ( { name = \"yard\"; polygon = [0.0, 0.5, 1.5, 0.5, 1.0, 1.0]; },\n"
		 "            { name = \"gate\"; polygon = [0.0, 0.5, 1.0];\n"
		 "              schedule = \"mon-fry 20:00-04:00\"; },\n"
		 "            { name = \"road\"; polygon = [0.1, 0.1, 0.2, 0.2, 0.3, 0.3];\n"
		 "              severity = \"urgent\"; colour = 1; },\n"
		 "            { polygon = [0.1, 0.1, 0.2, 0.1, 0.2, 0.2]; } );\n"
		 "} );\n");
	load(&l, text);
	expect_error(&l, 6, "camera 'a': zone 'yard': polygon coordinate 3 must be a number from 0 to 1");
	expect_error(&l, 7, "camera 'a': zone 'gate': polygon needs 3 to 32 x, y pairs, not 3 numbers");
	expect_error(&l, 8, "camera 'a': zone 'gate': schedule cannot read 'mon-fry 20:00-04:00'");
	expect_error(&l, 9, "camera 'a': zone 'road': polygon has no area");
	expect_error(&l, 10, "camera 'a': zone 'road': severity must be one of low, medium, high, critical, not 'urgent'");
	expect_error(&l, 10, "camera 'a': zone 'road': unknown key 'colour'");
	expect_error(&l, 11, "camera 'a': zone '?': missing name");
	CHECK(l.nerrors == 7);
	unload(&l);
}

/* Tripwires, dwell and the count interval: read, copied, compared. */
static void test_lines_and_dwell(void)
{
	struct loaded l;
	char text[2048];
	const struct vigil_camera *c;
	struct vigil_camera *copy;

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; count_interval = 15;\n"
		 "  zones = ( { name = \"square\"; polygon = [0.3, 0.0, 0.7, 0.0, 0.7, 1.0];\n"
		 "              dwell = 20; } );\n"
		 "  lines = ( { name = \"gate\"; points = [0.5, 0.3, 0.5, 1.0]; direction = \"a-b\"; },\n"
		 "            { name = \"kerb\"; points = [0.0, 0.7, 1.0, 0.7]; } );\n"
		 "} );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	if (l.errors && l.nerrors)
		fprintf(stderr, "%s", l.errors);
	c = &l.cfg.cameras[0];
	CHECK(c->count_interval == 15 && c->zones[0].dwell == 20 && c->nlines == 2);
	CHECK(strcmp(c->lines[0].name, "gate") == 0 && c->lines[0].direction == LINE_A_B);
	CHECK(c->lines[0].points[3] == 1.0f && c->lines[1].direction == LINE_BOTH);
	copy = config_camera_dup(c);
	CHECK(copy && config_camera_equal(copy, c));
	if (copy) {
		copy->lines[1].direction = LINE_B_A;
		CHECK(!config_camera_equal(copy, c));
		copy->lines[1].direction = LINE_BOTH;
		copy->zones[0].dwell = 21;
		CHECK(!config_camera_equal(copy, c));
		config_camera_free(copy);
	}
	unload(&l);
}

static void test_activity(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  activity = { learn_days = 7; clock = \"stream\"; }; },\n"
		 "  { id = \"b\"; url = \"rtsp://h/b\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.cameras[0].activity.enabled && l.cfg.cameras[0].activity.learn_days == 7);
	CHECK(l.cfg.cameras[0].activity.tail == 4 && l.cfg.cameras[0].activity.consecutive == 2);
	CHECK(l.cfg.cameras[0].activity.stream_clock == 1);
	CHECK(!l.cfg.cameras[1].activity.enabled);
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  activity = { learn_days = 0; tail = 2.5;\n"
		 "               clock = \"sun\"; window = 3; }; } );\n");
	load(&l, text);
	expect_error(&l, 6, "camera 'a': activity.learn_days must be a whole number from 1 to 365");
	expect_error(&l, 6, "camera 'a': activity.tail must be a whole number from 1 to 12");
	expect_error(&l, 7, "camera 'a': activity.clock must be \"wall\" or \"stream\"");
	expect_error(&l, 7, "camera 'a': activity: unknown key 'window'");
	CHECK(l.nerrors == 4);
	unload(&l);
}

static void test_line_errors(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\"; count_interval = 0;\n"
		 "  zones = ( { name = \"square\"; polygon = [0.3, 0.0, 0.7, 0.0, 0.7, 1.0];\n"
		 "              dwell = 0.5; } );\n"
		 "  lines = ( { name = \"gate\"; points = [0.5, 0.3, 0.5]; direction = \"in\"; },\n"
		 "            { name = \"gate\"; points = [0.5, 0.3, 0.5, 1.5]; },\n"
		 "            { name = \"a.b\"; points = [0.5, 0.5, 0.5, 0.5]; colour = 1; },\n"
		 "            { points = [0.1, 0.1, 0.9, 0.9]; } );\n"
		 "} );\n");
	load(&l, text);
	expect_error(&l, 5, "camera 'a': count_interval");
	expect_error(&l, 7, "camera 'a': zone 'square': dwell must be a number of seconds from 1 to 86400");
	expect_error(&l, 8, "camera 'a': line 'gate': points must be [x1, y1, x2, y2]");
	expect_error(&l, 8, "camera 'a': line 'gate': direction must be \"a-b\", \"b-a\" or \"both\", not 'in'");
	expect_error(&l, 9, "camera 'a': line 'gate': points coordinate 4 must be a number from 0 to 1");
	expect_error(&l, 9, "camera 'a': duplicate line name 'gate' (first at line 8)");
	expect_error(&l, 10, "camera 'a': line 'a.b': name must be 1 to 32 letters, digits, '_' or '-'");
	expect_error(&l, 10, "camera 'a': line 'a.b': points are the same place");
	expect_error(&l, 10, "camera 'a': line 'a.b': unknown key 'colour'");
	expect_error(&l, 11, "camera 'a': line '?': missing name");
	CHECK(l.nerrors == 10);
	if (l.nerrors != 10)
		fprintf(stderr, "%s", l.errors);
	unload(&l);
}

static void test_detector_options(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  detect = {\n"
		 "    motion = { sensitivity = 3.0;\n"
		 "               speed = 2; };\n"
		 "    nosuch = { };\n"
		 "  };\n"
		 "} );\n");
	load(&l, text);
	expect_error(&l, 7, "camera 'a': detect.motion.sensitivity must be between 0 and 1, not 3");
	expect_error(&l, 8, "camera 'a': detect.motion: unknown option 'speed' (known: sensitivity,");
	expect_error(&l, 9, "camera 'a': cannot load detector 'nosuch'");
	CHECK(l.nerrors == 3);
	unload(&l);
}

/* Lines, dwell and activity follow tracks of the motion detector's
 * boxes: refused, each at its own line, on a camera without motion. */
static void test_tracks_need_motion(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  detect = { tamper = { }; };\n"
		 "  zones = ( { name = \"square\"; polygon = [0.3, 0.0, 0.7, 0.0, 0.7, 1.0];\n"
		 "              dwell = 20; },\n"
		 "            { name = \"road\"; polygon = [0.0, 0.5, 1.0, 0.5, 1.0, 1.0]; } );\n"
		 "  lines = ( { name = \"gate\"; points = [0.5, 0.3, 0.5, 1.0]; } );\n"
		 "  activity = { learn_days = 7; }; },\n"
		 "  { id = \"b\"; url = \"rtsp://h/b\";\n"
		 "    detect = { motion = { }; tamper = { }; };\n"
		 "    lines = ( { name = \"gate\"; points = [0.5, 0.3, 0.5, 1.0]; } ); },\n"
		 "  { id = \"c\"; url = \"rtsp://h/c\"; activity = { }; } );\n");
	load(&l, text);
	expect_error(&l, 8, "camera 'a': zone 'square': dwell needs the motion detector (tracks are "
		     "made from its boxes), which detect leaves out: add motion = { }; to detect");
	expect_error(&l, 10, "camera 'a': line 'gate' needs the motion detector");
	expect_error(&l, 11, "camera 'a': activity needs the motion detector");
	/* b runs motion; c the defaults, motion among them. */
	CHECK(l.nerrors == 3);
	if (l.nerrors != 3)
		fprintf(stderr, "%s", l.errors);
	unload(&l);
}

/* A reload compares cameras with their zones, masks and detectors. */
static void test_camera_dup_with_detection(void)
{
	struct loaded l;
	char text[2048];
	struct vigil_camera *copy;

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cameras = ( { id = \"a\"; url = \"rtsp://h/a\";\n"
		 "  zones = ( { name = \"yard\"; polygon = [0.0, 0.5, 1.0, 0.5, 1.0, 1.0];\n"
		 "              schedule = \"mon-fri 20:00-04:00\"; severity = \"high\"; } );\n"
		 "  masks = ( { polygon = [0.0, 0.0, 0.2, 0.0, 0.2, 0.2]; } );\n"
		 "  detect = { motion = { sensitivity = 0.6; }; tamper = { }; };\n"
		 "} );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	copy = config_camera_dup(&l.cfg.cameras[0]);
	CHECK(copy && copy->nzones == 1 && copy->nmasks == 1 && copy->ndetectors == 2);
	CHECK(copy && copy->zones[0].z.name == copy->zones[0].name);
	CHECK(copy && strcmp(copy->detectors[0].opts[0].key, "sensitivity") == 0);
	CHECK(copy && config_camera_equal(copy, &l.cfg.cameras[0]));
	if (copy) {
		copy->zones[0].z.points[0] = 0.1f;
		CHECK(!config_camera_equal(copy, &l.cfg.cameras[0]));
		copy->zones[0].z.points[0] = 0.0f;
		copy->detectors[0].opts[0].value = 0.7;
		CHECK(!config_camera_equal(copy, &l.cfg.cameras[0]));
	}
	config_camera_free(copy);
	unload(&l);
}

/* cluster and status groups: ranges, node < nodes, camera diffing. */
static void test_cluster_and_status(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "status = { metrics_port = 70000; };\n"
		 "cluster = { node = 3; nodes = 3; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 2);
	expect_error(&l, 5, "status.metrics_port must be between 0 and 65535, not 70000");
	expect_error(&l, 6, "cluster.node must be less than cluster.nodes (3), not 3");
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cluster = { node = 1; nodes = 2; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; }, { id = \"b\"; url = \"y.mp4\"; },\n"
		 "  { id = \"c\"; url = \"z.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.node == 1 && l.cfg.nodes == 2 && l.cfg.metrics_port == 0);
	{
		size_t local = config_local_count(&l.cfg);
		struct vigil_camera *copy = config_camera_dup(&l.cfg.cameras[0]);
		CHECK(local <= 3);
		CHECK(copy && config_camera_equal(copy, &l.cfg.cameras[0]));
		CHECK(!config_camera_equal(&l.cfg.cameras[0], &l.cfg.cameras[1]));
		free(copy->name);
		copy->name = strdup("renamed");
		CHECK(!config_camera_equal(copy, &l.cfg.cameras[0]));
		config_camera_free(copy);
		config_camera_free(NULL);
	}
	unload(&l);
}

/* http group: address, port, token file; defaults. */
static void test_http(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "status = { metrics_port = 9108; };\n"
		 "http = { port = 9108; bind = \"localhost\";\n"
		 "  token_file = \"relative.token\"; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 3);
	expect_error(&l, 6, "http.bind must be an IPv4 or IPv6 address, not 'localhost'");
	expect_error(&l, 6, "http.port must differ from status.metrics_port (9108)");
	expect_error(&l, 7, "http.token_file must be an absolute path, not 'relative.token'");
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "http = { port = 70000; tokens = 1; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 2);
	expect_error(&l, 5, "http.port must be between 0 and 65535, not 70000");
	expect_error(&l, 5, "unknown key 'http.tokens'");
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "http = { port = 8090; token_file = \"\"; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(l.cfg.http_port == 8090 && l.cfg.http_token_file == NULL);
	CHECK(l.cfg.http_bind && strcmp(l.cfg.http_bind, "127.0.0.1") == 0);
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "http = { port = 8090; bind = \"::1\"; token_file = \"/etc/vigil/t\"; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(strcmp(l.cfg.http_bind, "::1") == 0 && strcmp(l.cfg.http_token_file, "/etc/vigil/t") == 0);
	unload(&l);
}

/* ZooKeeper mode: node is a name, defaults, and the errors of each key
 * with its line; the static split refuses a name. */
static void test_cluster_zookeeper(void)
{
	struct loaded l;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cluster = { zookeeper = \"zk1:2181,zk2:2181\"; node = \"srv-a\"; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 0);
	CHECK(config_zk_mode(&l.cfg));
	CHECK(strcmp(l.cfg.zk_node, "srv-a") == 0 && strcmp(l.cfg.zk_cluster, "default") == 0);
	CHECK(l.cfg.zk_session_timeout == 6 && l.cfg.zk_rejoin_delay == 30 && l.cfg.zk_batch == 32);
	CHECK(config_camera_local(&l.cfg, 0) && config_local_count(&l.cfg) == 1);
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cluster = {\n"
		 "  zookeeper = \"zk1:2181,zk2\";\n"
		 "  node = \"srv a\";\n"
		 "  session_timeout = 1;\n"
		 "  nodes = 3;\n"
		 "};\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 4);
	expect_error(&l, 6, "cluster.zookeeper 'zk1:2181,zk2' must be host:port[,host:port...]");
	expect_error(&l, 7, "cluster.node 'srv a' must be 1 to 32 letters, digits, '_' or '-'");
	expect_error(&l, 8, "cluster.session_timeout must be between 2 and 60, not 1");
	expect_error(&l, 9, "unknown key 'cluster.nodes'");
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cluster = { zookeeper = \"zk1:99999\"; node = 2; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 1);
	expect_error(&l, 5, "cluster.node must be this server's name (a string) with "
		     "cluster.zookeeper");
	unload(&l);

	snprintf(text, sizeof(text), "%s%s", ok_head,
		 "cluster = { node = \"srv-a\"; nodes = 2; };\n"
		 "cameras = ( { id = \"a\"; url = \"x.mp4\"; } );\n");
	load(&l, text);
	CHECK(l.nerrors == 1);
	expect_error(&l, 5, "cluster.node is a name only with cluster.zookeeper");
	unload(&l);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_valid),
		TEST(test_shipped_example),
		TEST(test_unknown_key),
		TEST(test_wrong_type),
		TEST(test_missing_url),
		TEST(test_duplicate_id),
		TEST(test_bad_scheme),
		TEST(test_syntax_error),
		TEST(test_missing_sections),
		TEST(test_ranges_and_tokens),
		TEST(test_alert_security),
		TEST(test_options_and_defaults),
		TEST(test_option_errors),
		TEST(test_recording),
		TEST(test_recording_errors),
		TEST(test_parse_quota),
		TEST(test_unreadable),
		TEST(test_token_lengths),
		TEST(test_integers_do_not_wrap),
		TEST(test_names_are_utf8),
		TEST(test_zones_and_masks),
		TEST(test_zone_errors),
		TEST(test_lines_and_dwell),
		TEST(test_line_errors),
		TEST(test_activity),
		TEST(test_detector_options),
		TEST(test_tracks_need_motion),
		TEST(test_cluster_and_status),
		TEST(test_http),
		TEST(test_cluster_zookeeper),
		TEST(test_camera_dup_with_detection),
		{ NULL, NULL }
	};
	return test_run("config", cases);
}
