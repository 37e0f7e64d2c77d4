/* vigilctl status: ask the running daemon for its status report over the
 * control socket in its data directory and print it as tables, or as the
 * daemon's JSON with --json. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "vigilctl.h"

static void ctl_status_usage(FILE *out)
{
	fprintf(out, "usage: vigilctl status [--json] [-c CONFIG]\n"
		"  -c, --config FILE  the daemon's configuration (default /etc/vigil/vigil.conf);\n"
		"                     its data_dir holds the control socket\n"
		"  --json             print the daemon's JSON report\n");
}

/* Send the request and read the whole answer; NULL on failure (errno set). */
static char *ctl_status_fetch(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 65536;
	char *buf;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, "status\n", 7) != 7 || !(buf = malloc(cap))) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	for (;;) {
		ssize_t r;
		if (len + 1 == cap) {
			char *b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static const char *ctl_str(json_object *o, const char *key, const char *def)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return def;
	return json_object_get_string(v);
}

static double ctl_num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static void ctl_status_print(json_object *o)
{
	json_object *kids, *cams;

	printf("instance %s, node %.0f of %.0f, up %.0f s, %s\n", ctl_str(o, "instance", "?"),
	       ctl_num(o, "node"), ctl_num(o, "nodes"), ctl_num(o, "uptime_s"),
	       json_object_get_boolean(json_object_object_get(o, "ready")) ? "ready" : "starting");
	printf("\n%-24s %8s %10s %9s %6s\n", "CHILD", "PID", "UPTIME_S", "RESTARTS", "READY");
	if (json_object_object_get_ex(o, "children", &kids))
		for (size_t i = 0; i < json_object_array_length(kids); i++) {
			json_object *k = json_object_array_get_idx(kids, i);
			printf("%-24s %8.0f %10.0f %9.0f %6s\n", ctl_str(k, "role", "?"),
			       ctl_num(k, "pid"), ctl_num(k, "uptime_s"), ctl_num(k, "restarts"),
			       json_object_get_boolean(json_object_object_get(k, "ready")) ? "yes" : "no");
		}
	printf("\n%-16s %-10s %7s %7s %9s %8s %6s  %-40s %s\n", "CAMERA", "STATE", "FPS_IN",
	       "FPS_AN", "DECODE_MS", "KBIT/S", "RECONN", "LAST ALERT", "LAST ERROR");
	if (json_object_object_get_ex(o, "cameras", &cams))
		for (size_t i = 0; i < json_object_array_length(cams); i++) {
			json_object *c = json_object_array_get_idx(cams, i);
			printf("%-16s %-10s %7.2f %7.2f %9.2f %8.0f %6.0f  %-40s %s\n",
			       ctl_str(c, "id", "?"), ctl_str(c, "state", "?"), ctl_num(c, "fps_in"),
			       ctl_num(c, "fps_analysed"), ctl_num(c, "decode_ms"), ctl_num(c, "kbps"),
			       ctl_num(c, "reconnects"), ctl_str(c, "last_alert", "-"),
			       ctl_str(c, "last_error", "-"));
		}
}

int ctl_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = "/etc/vigil/vigil.conf";
	struct vigil_config cfg;
	char sock[4096], *answer;
	int json = 0, opt, status = 0, errs;
	FILE *quiet;
	json_object *o;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'j': json = 1; break;
		case 'h': ctl_status_usage(stdout); return 0;
		default: ctl_status_usage(stderr); return 2;
		}
	}
	quiet = fopen("/dev/null", "w");
	if (!quiet)
		quiet = stderr;
	/* Only data_dir matters here: a config being edited (with errors)
	 * must not hide the running daemon's status. */
	errs = config_load(path, &cfg, quiet);
	if (quiet != stderr)
		fclose(quiet);
	if (errs && !cfg.data_dir) {
		fprintf(stderr, "vigilctl: %s has %d error(s) (check it with vigild -t)\n", path, errs);
		config_free(&cfg);
		return 2;
	}
	if (errs)
		fprintf(stderr, "vigilctl: %s has %d error(s), using its data_dir %s\n", path,
			errs, cfg.data_dir);
	control_socket_path(cfg.data_dir, sock, sizeof(sock));
	config_free(&cfg);
	answer = ctl_status_fetch(sock);
	if (!answer) {
		fprintf(stderr, "vigilctl: cannot reach the daemon at %s: %s\n", sock, strerror(errno));
		return 1;
	}
	o = json_tokener_parse(answer);
	if (!o || !json_object_is_type(o, json_type_object) || json_object_object_get(o, "error")) {
		fprintf(stderr, "vigilctl: unexpected answer from %s: %.200s\n", sock, answer);
		status = 1;
	} else if (json) {
		fputs(answer, stdout);
	} else {
		ctl_status_print(o);
	}
	json_object_put(o);
	free(answer);
	return status;
}
