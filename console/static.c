/* Static files from web_root: "/" is index.html, "/login" login.html,
 * "/static/<path>" the file web_root/static/<path>. A path segment is
 * letters, digits, '_', '-' and '.', never starting with '.'; the file
 * must be a regular file whose real path (symlinks resolved) lies inside
 * web_root. Anything else is 404. No session is needed. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { const char *ext, *type; } static_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".wav", "audio/wav" },
	{ ".mp3", "audio/mpeg" },
	{ ".ogg", "audio/ogg" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ NULL, NULL }
};

static const char *static_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (int i = 0; dot && static_types[i].ext; i++)
		if (strcmp(dot, static_types[i].ext) == 0)
			return static_types[i].type;
	return "application/octet-stream";
}

/* 1 when every segment of rel is a plain name. */
static int static_path_ok(const char *rel)
{
	const char *p = rel;

	if (!*p || strlen(rel) > 256)
		return 0;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || p[0] == '.')
			return 0;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
				return 0;
		}
		p += n;
		if (*p == '/')
			p++;
		if (!*p && p[-1] == '/')
			return 0;
	}
	return 1;
}

static MHD_RESULT static_404(struct req *r)
{
	return reply_error(r, 404, "not found");
}

MHD_RESULT static_handle(struct req *r)
{
	char path[PATH_MAX + 300], real[PATH_MAX], root[PATH_MAX];
	struct MHD_Response *resp;
	const char *rel;
	struct stat sb;
	size_t rl;
	int fd;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return reply_error(r, 405, "method not allowed");
	if (strcmp(r->url, "/") == 0 || strcmp(r->url, "/index.html") == 0)
		rel = "index.html";
	else if (strcmp(r->url, "/login") == 0 || strcmp(r->url, "/login.html") == 0)
		rel = "login.html";
	else if (strncmp(r->url, "/static/", 8) == 0 && static_path_ok(r->url + 8))
		rel = r->url + 1;
	else
		return static_404(r);
	if (!realpath(r->srv->cfg->web_root, root))
		return static_404(r);
	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path) ||
	    !realpath(path, real))
		return static_404(r);
	rl = strlen(root);
	if (strncmp(real, root, rl) != 0 || real[rl] != '/')
		return static_404(r);
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return static_404(r);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return static_404(r);
	}
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", static_type(real));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	if (strstr(rel, ".html"))
		MHD_add_response_header(resp, "Content-Security-Policy", "frame-ancestors 'none'");
	return reply(r, 200, resp);
}
