/* Tests of the plugin host with the test detectors (tests/plugins/
 * testdet.c, built into build/test-plugins/): the registry opens a
 * plugin once and runs its load once however many cameras use it, and
 * opens a plugin that failed again only when its file changed; every
 * option type is stored where the plugin expects it; configured values
 * of the wrong type or out of range are refused with a message; a type
 * not among the plugin's kinds is refused; and each way a plugin can be
 * wrong (ABI, descriptor size, name, entry points, tables) is refused
 * when it is loaded, with a message that says what to do. */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "../tests/plugins/testdet.h"
#include "log.h"
#include "plugin_test.h"
#include "testing.h"

static char test_dir[PATH_MAX + 32];

/* build/test-plugins, beside the directory of this test's binary. */
static const char *dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (test_dir[0] || n <= 0)
		return test_dir;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(test_dir, sizeof(test_dir), "%s/../test-plugins", exe);
	return test_dir;
}

static const struct vigil_setup setup = { .camera = "cam7", .width = 32, .height = 18,
					  .fps = 25 };

static int start(struct plugin_instance *pi, const struct vigil_detector *d, char *err,
		 size_t len)
{
	int r = plugin_instance_init(pi, dir(), d, &setup, err, len);

	if (r < 0)
		fprintf(stderr, "(%s)\n", err);
	return r;
}

static void test_defaults_of_every_type(void)
{
	static const struct vigil_detector d = { .name = "testdet" };
	struct plugin_instance pi;
	const struct testdet_state *t;
	char err[512];

	CHECK(start(&pi, &d, err, sizeof(err)) == 0);
	t = pi.state;
	CHECK(t->count == 3 && t->ratio == 0.5 && t->flag == 1 && t->stray == 0);
	CHECK(t->label && strcmp(t->label, "none") == 0);
	CHECK(t->mode == 1);  /* "fast" */
	plugin_instance_free(&pi);
}

static void test_configured_values_stored(void)
{
	struct vigil_detector_option opts[] = {
		{ .key = "count", .kind = DETECT_NUMBER, .value = 7 },
		{ .key = "ratio", .kind = DETECT_NUMBER, .value = 0.25 },
		{ .key = "flag", .kind = DETECT_BOOL, .value = 0 },
		{ .key = "label", .kind = DETECT_STRING, .str = "gate 4" },
		{ .key = "mode", .kind = DETECT_STRING, .str = "off" },
	};
	struct vigil_detector d = { .name = "testdet", .opts = opts, .nopts = 5 };
	struct plugin_instance pi;
	const struct testdet_state *t;
	char err[512];

	CHECK(start(&pi, &d, err, sizeof(err)) == 0);
	t = pi.state;
	CHECK(t->count == 7 && t->ratio == 0.25 && t->flag == 0 && t->mode == 2);
	/* The host's own copy: the configuration may go away. */
	CHECK(t->label && strcmp(t->label, "gate 4") == 0 && t->label != opts[3].str);
	plugin_instance_free(&pi);
}

/* Check one configured value against its option: the message, or "" when
 * it is accepted. */
static const char *check_value(const char *key, enum vigil_detector_value kind,
			       double value, const char *str)
{
	static char err[300];
	char msg[300];
	const struct vigil_plugin *p = plugin_get(dir(), "testdet", msg, sizeof(msg));
	const struct vigil_detector_option v = { .key = (char *)key, .kind = kind,
						 .value = value, .str = (char *)str };
	double num;

	err[0] = '\0';
	CHECK(p != NULL);
	if (p && plugin_option_value(plugin_find_option(p, key), &v, &num, err,
				     sizeof(err)) == 0)
		CHECK(err[0] == '\0');
	return err;
}

static void test_bad_values_refused(void)
{
	CHECK(strcmp(check_value("count", DETECT_NUMBER, 10, NULL), "") == 0);
	CHECK(strcmp(check_value("count", DETECT_NUMBER, 11, NULL),
		     "must be between 0 and 10, not 11") == 0);
	CHECK(strcmp(check_value("count", DETECT_NUMBER, 2.5, NULL),
		     "must be a whole number") == 0);
	CHECK(strcmp(check_value("ratio", DETECT_STRING, 0, "half"), "must be a number") == 0);
	CHECK(strcmp(check_value("flag", DETECT_NUMBER, 1, NULL), "must be true or false") == 0);
	CHECK(strcmp(check_value("label", DETECT_BOOL, 1, NULL), "must be a string") == 0);
	CHECK(strcmp(check_value("label", DETECT_STRING, 0, "seventeen bytes!!"),
		     "must be 0 to 16 bytes long, not 17") == 0);
	CHECK(strcmp(check_value("mode", DETECT_STRING, 0, "slow"), "") == 0);
	CHECK(strcmp(check_value("mode", DETECT_STRING, 0, "warp"),
		     "must be one of slow, fast or off, not 'warp'") == 0);
	CHECK(strcmp(check_value("mode", DETECT_NUMBER, 1, NULL),
		     "must be one of slow, fast or off (a string)") == 0);
}

/* Many cameras: one dlopen, one load, one unload at the end. */
static void test_opened_and_loaded_once(void)
{
	static const struct vigil_detector d = { .name = "testdet" };
	struct plugin_instance pi[20];
	struct testdet_shared *shared;
	char err[512], path[PATH_MAX + 16];
	unsigned opens;
	void *keep;

	plugin_registry_close();
	opens = plugin_registry_opens();
	for (int i = 0; i < 20; i++)
		CHECK(start(&pi[i], &d, err, sizeof(err)) == 0);
	CHECK(plugin_get(dir(), "testdet", err, sizeof(err)) != NULL);
	CHECK(plugin_registry_opens() == opens + 1);
	shared = ((struct testdet_state *)pi[0].state)->shared;
	CHECK(shared && shared->loads == 1 && shared->unloads == 0);
	for (int i = 0; i < 20; i++)
		plugin_instance_free(&pi[i]);
	CHECK(shared->unloads == 0);
	/* A reference of our own keeps the library mapped past the close,
	 * to read its counter. */
	snprintf(path, sizeof(path), "%s/testdet.so", dir());
	keep = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	CHECK(keep != NULL);
	plugin_registry_close();
	CHECK(shared->unloads == 1);
	if (keep)
		dlclose(keep);
}

/* A plugin that failed is not opened again for every camera, but is
 * when its file appears or changes. */
static void test_failed_plugin_retried_when_file_changes(void)
{
	char tmp[] = "/tmp/vigil-plugin-test-XXXXXX", src[PATH_MAX + 32], dst[64], err[512];
	unsigned opens;
	FILE *in, *out;
	int c;

	CHECK(mkdtemp(tmp) != NULL);
	opens = plugin_registry_opens();
	CHECK(plugin_get(tmp, "testdet", err, sizeof(err)) == NULL);
	CHECK(plugin_get(tmp, "testdet", err, sizeof(err)) == NULL);
	CHECK_STR_CONTAINS(err, "cannot load detector 'testdet'");
	CHECK(plugin_registry_opens() == opens + 1);
	snprintf(src, sizeof(src), "%s/testdet.so", dir());
	snprintf(dst, sizeof(dst), "%s/testdet.so", tmp);
	in = fopen(src, "rb");
	out = fopen(dst, "wb");
	CHECK(in && out);
	while (in && out && (c = getc(in)) != EOF)
		putc(c, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	CHECK(plugin_get(tmp, "testdet", err, sizeof(err)) != NULL);
	CHECK(plugin_get(tmp, "testdet", err, sizeof(err)) != NULL);
	CHECK(plugin_registry_opens() == opens + 2);
	plugin_registry_close();
	unlink(dst);
	rmdir(tmp);
}

/* Observations of a type the plugin did not declare never reach the
 * event engine. */
static void test_unlisted_kind_refused(void)
{
	struct vigil_detector_option opts[] = {
		{ .key = "stray", .kind = DETECT_BOOL, .value = 1 },
	};
	struct vigil_detector d = { .name = "testdet", .opts = opts, .nopts = 1 };
	static uint8_t buf[32 * 18];
	struct vigil_frame f = { .data = buf, .width = 32, .height = 18, .stride = 32 };
	struct vigil_observations o;
	struct plugin_instance pi;
	char err[512];

	CHECK(start(&pi, &d, err, sizeof(err)) == 0);
	CHECK(plugin_instance_process(&pi, &f, &o) == 0);
	CHECK(o.count == 1 && strcmp(o.obs[0].type, "test.seen") == 0);
	CHECK(pi.refused == 1 && strcmp(pi.refused_type, "not.listed") == 0);
	CHECK(plugin_kind(pi.p, "test.seen") && !plugin_kind(pi.p, "not.listed"));
	plugin_instance_free(&pi);
}

/* A plugin's log line names the camera and the plugin, at the level
 * given; debug lines only when the host logs debug. */
static void test_log_names_camera_and_plugin(void)
{
	static const struct vigil_detector d = { .name = "testdet" };
	struct plugin_instance pi;
	char err[512], out[2048] = "";
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	CHECK(f && saved >= 0);
	if (!f || saved < 0)
		return;
	plugin_registry_close();
	log_set_level(LOG_INFO);
	dup2(fileno(f), STDERR_FILENO);
	CHECK(plugin_instance_init(&pi, dir(), &d, &setup, err, sizeof(err)) == 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log_set_level(LOG_WARNING);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	CHECK_STR_CONTAINS(out, " info    vigild: cam7: testdet: mode 1, label none\n");
	/* load's line is debug, and has no camera. */
	CHECK(strstr(out, "loaded from") == NULL);
	plugin_instance_free(&pi);
}

/* Each broken variant is refused with a message naming what is wrong. */
static void test_broken_plugins_refused(void)
{
	static const struct {
		const char *name, *msg;
	} cases[] = {
		{ "badabi", "has plugin ABI 1, this vigild needs 2: rebuild it" },
		{ "small", "ABI 2 needs at least" },
		{ "misnamed", "calls itself 'other': a plugin's name must be its file name" },
		{ "noprocess", "has no process function" },
		{ "nosym", "does not export 'vigil_plugin': not a vigil detector" },
		{ "nokinds", "lists no kinds" },
		{ "badopt", "option 7 ('broken') has default 20 outside its range 0..10" },
		{ "missing", "cannot load detector 'missing'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vigil_detector d = { .name = (char *)cases[i].name };
		struct plugin_instance pi;
		char err[1024] = "";

		CHECK(plugin_get(dir(), cases[i].name, err, sizeof(err)) == NULL);
		CHECK_STR_CONTAINS(err, cases[i].msg);
		/* A camera asking for it gets the same answer. */
		CHECK(plugin_instance_init(&pi, dir(), &d, &setup, err, sizeof(err)) < 0);
		CHECK_STR_CONTAINS(err, cases[i].msg);
		plugin_instance_free(&pi);
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_defaults_of_every_type),
		TEST(test_configured_values_stored),
		TEST(test_bad_values_refused),
		TEST(test_opened_and_loaded_once),
		TEST(test_failed_plugin_retried_when_file_changes),
		TEST(test_unlisted_kind_refused),
		TEST(test_log_names_camera_and_plugin),
		TEST(test_broken_plugins_refused),
		{ NULL, NULL }
	};
	int r;

	log_set_level(LOG_WARNING);
	r = test_run("plugin_host", cases);

	plugin_registry_close();
	return r;
}
