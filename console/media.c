/* The media proxy and the camera list: requests to the nodes' vigild
 * HTTP API (plain HTTP/1.0 over a socket, with the node's bearer token).
 *
 *   /media/<node>/clips/<path>          -> GET /clips/<path> (Range passed)
 *   /media/<node>/picture/<camera>.jpg  -> GET /api/v1/cameras/<camera>/picture.jpg
 *
 * The answer is streamed to the browser as it arrives: never a whole
 * clip in memory. A clip or snapshot path must be named in an alert the
 * user may see (a supervisor may see any); a picture's camera must be in
 * one of the user's districts. Otherwise, and for any odd path, 404. */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MEDIA_HEAD_MAX    (16 * 1024)
#define MEDIA_TIMEOUT_MS  10000
#define MEDIA_CAMERAS_MAX (4 << 20)
#define MEDIA_BLOCK       (64 * 1024)
#define MEDIA_CAMERAS_TTL 2.0

struct upstream {
	int fd;
	int status;
	char *head;             /* response head, NUL-terminated */
	char *rest;             /* body bytes read with the head */
	size_t nrest, rest_off;
	long long length;       /* Content-Length, -1 unknown */
};

static void upstream_close(struct upstream *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u->head);
	u->fd = -1;
	u->head = NULL;
}

static int upstream_connect(const struct console_node *n)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL, *p;
	struct timeval tv = { MEDIA_TIMEOUT_MS / 1000, 0 };
	char port[16];
	int fd = -1;

	snprintf(port, sizeof(port), "%d", n->port);
	if (getaddrinfo(n->host, port, &hints, &ai) != 0)
		return -1;
	for (p = ai; p && fd < 0; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, p->ai_addr, p->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* Value of a header in a response head, copied into buf; NULL if absent. */
static const char *upstream_header(const struct upstream *u, const char *name, char *buf,
				   size_t n)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(u->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			size_t vl;
			while (*v == ' ' || *v == '\t')
				v++;
			vl = strcspn(v, "\r\n");
			if (vl >= n)
				vl = n - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* Send GET path to node and read the response head. */
static int upstream_get(struct upstream *u, const struct console_node *n, const char *path,
			const char *range)
{
	char req[4096], cl[32], token[256];
	size_t used = 0;
	char *end = NULL;
	int len;

	memset(u, 0, sizeof(*u));
	u->length = -1;
	if (!n->http || (u->fd = upstream_connect(n)) < 0)
		return -ECONNREFUSED;
	cconf_token(n, token, sizeof(token));
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s:%d\r\n"
		       "Authorization: Bearer %s\r\n%s%s%sConnection: close\r\n\r\n", path,
		       n->host, n->port, token, range ? "Range: " : "", range ? range : "",
		       range ? "\r\n" : "");
	explicit_bzero(token, sizeof(token));
	if (len >= (int)sizeof(req) || send(u->fd, req, (size_t)len, MSG_NOSIGNAL) != len)
		goto fail;
	if (!(u->head = malloc(MEDIA_HEAD_MAX + 1)))
		goto fail;
	while (!end && used < MEDIA_HEAD_MAX) {
		ssize_t got = recv(u->fd, u->head + used, MEDIA_HEAD_MAX - used, 0);
		if (got <= 0)
			goto fail;
		used += (size_t)got;
		u->head[used] = '\0';
		end = strstr(u->head, "\r\n\r\n");
	}
	if (!end || sscanf(u->head, "HTTP/1.%*d %d", &u->status) != 1)
		goto fail;
	end[2] = '\0';          /* the head keeps its last CRLF */
	u->rest = end + 4;
	u->nrest = used - (size_t)(u->rest - u->head);
	if (upstream_header(u, "Content-Length", cl, sizeof(cl)))
		u->length = strtoll(cl, NULL, 10);
	return 0;
fail:
	upstream_close(u);
	return -EPROTO;
}

static ssize_t media_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct upstream *u = cls;
	ssize_t got;

	(void)pos;
	if (u->rest_off < u->nrest) {
		size_t n = u->nrest - u->rest_off;
		if (n > max)
			n = max;
		memcpy(buf, u->rest + u->rest_off, n);
		u->rest_off += n;
		return (ssize_t)n;
	}
	got = recv(u->fd, buf, max, 0);
	if (got == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (got < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return got;
}

static void media_free(void *cls)
{
	struct upstream *u = cls;

	upstream_close(u);
	free(u);
}

static const struct console_node *media_node(struct server *s, const char *name, size_t len)
{
	for (int i = 0; i < s->cfg->nnodes; i++)
		if (strlen(s->cfg->nodes[i].name) == len &&
		    strncmp(s->cfg->nodes[i].name, name, len) == 0)
			return &s->cfg->nodes[i];
	return NULL;
}

/* A relative path of plain segments: letters, digits, '_', '-', '.',
 * no segment starting with '.'. */
static int media_path_ok(const char *p)
{
	if (!*p || strlen(p) > 1024)
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
		if (*p == '/' && !*++p)
			return 0;
	}
	return 1;
}

/* The cameras JSON of a node ({"instance","cameras":[...]}), cached for
 * a moment; NULL when the node cannot be asked. */
static json_object *media_node_cameras(struct server *s, int i)
{
	const struct console_node *n = &s->cfg->nodes[i];
	json_object *o = NULL;
	struct upstream u;
	char *body = NULL;
	size_t len = 0;

	pthread_mutex_lock(&s->cam_lock);
	if (s->cam_cache[i] && mono_s() - s->cam_time[i] < MEDIA_CAMERAS_TTL)
		o = json_tokener_parse(s->cam_cache[i]);
	pthread_mutex_unlock(&s->cam_lock);
	if (o || !n->http)
		return o;
	if (upstream_get(&u, n, "/api/v1/cameras", NULL) < 0)
		return NULL;
	if (u.status == 200 && (body = malloc(MEDIA_CAMERAS_MAX + 1))) {
		memcpy(body, u.rest, u.nrest);
		len = u.nrest;
		for (;;) {
			ssize_t got = len < MEDIA_CAMERAS_MAX ?
				recv(u.fd, body + len, MEDIA_CAMERAS_MAX - len, 0) : -1;
			if (got <= 0)
				break;
			len += (size_t)got;
		}
		body[len] = '\0';
		o = json_tokener_parse(body);
	} else {
		fprintf(stderr, "vigil-console: node %s: GET /api/v1/cameras answered %d\n",
			n->name, u.status);
	}
	upstream_close(&u);
	if (o && json_object_is_type(o, json_type_object)) {
		pthread_mutex_lock(&s->cam_lock);
		free(s->cam_cache[i]);
		s->cam_cache[i] = strdup(body);
		s->cam_time[i] = mono_s();
		pthread_mutex_unlock(&s->cam_lock);
	} else {
		json_object_put(o);
		o = NULL;
	}
	free(body);
	return o;
}

json_object *media_cameras(struct server *s, struct store *st, const struct user *u)
{
	json_object *r = json_object_new_object(), *list = json_object_new_array();
	json_object *down = json_object_new_array();

	json_object_object_add(r, "cameras", list);
	json_object_object_add(r, "unreachable", down);
	for (int i = 0; i < s->cfg->nnodes; i++) {
		const char *node = s->cfg->nodes[i].name;
		json_object *o = media_node_cameras(s, i), *cams;

		if (!o || !json_object_object_get_ex(o, "cameras", &cams) ||
		    !json_object_is_type(cams, json_type_array)) {
			if (s->cfg->nodes[i].http)
				json_object_array_add(down, json_object_new_string(node));
			json_object_put(o);
			continue;
		}
		for (size_t k = 0; k < json_object_array_length(cams); k++) {
			json_object *c = json_object_array_get_idx(cams, k);
			const char *id = jstr(c, "id");
			if (!id || !user_may_see(u, jstr(c, "district")))
				continue;
			json_object_object_add(c, "node", json_object_new_string(node));
			json_object_object_add(c, "last_alert", store_last_alert(st, u, node, id));
			json_object_array_add(list, json_object_get(c));
		}
		json_object_put(o);
	}
	return r;
}

/* May u see camera id of node i? Its district from the node's list,
 * else from the newest alert of it. */
static int media_camera_visible(struct server *s, struct store *st, const struct user *u,
				int i, const char *id)
{
	json_object *o, *cams;
	char district[CONSOLE_NAME_MAX];
	int seen = -1;

	if (u->supervisor)
		return 1;
	o = media_node_cameras(s, i);
	if (o && json_object_object_get_ex(o, "cameras", &cams) &&
	    json_object_is_type(cams, json_type_array))
		for (size_t k = 0; seen < 0 && k < json_object_array_length(cams); k++) {
			json_object *c = json_object_array_get_idx(cams, k);
			if (jstr(c, "id") && strcmp(jstr(c, "id"), id) == 0)
				seen = user_may_see(u, jstr(c, "district"));
		}
	json_object_put(o);
	if (seen < 0 && store_camera_district(st, s->cfg->nodes[i].name, id, district,
					      sizeof(district)) == 0)
		seen = user_may_see(u, district);
	return seen > 0;
}

static MHD_RESULT media_proxy(struct req *r, const struct console_node *n, const char *path,
			      int range)
{
	const char *rng = range ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
								"Range") : NULL;
	static const char *const pass[] = { "Content-Type", "Content-Range", "Accept-Ranges",
					    "Last-Modified", NULL };
	struct upstream *u = calloc(1, sizeof(*u));
	struct MHD_Response *resp;
	char v[512];

	if (!u)
		return MHD_NO;
	if (rng && (strlen(rng) > 200 || strchr(rng, '\r') || strchr(rng, '\n')))
		rng = NULL;
	if (upstream_get(u, n, path, rng) < 0) {
		free(u);
		fprintf(stderr, "vigil-console: node %s: cannot GET %s\n", n->name, path);
		return reply_error(r, 502, "the node does not answer");
	}
	if (u->status == 401 || u->status == 403) {
		fprintf(stderr, "vigil-console: node %s refused the token for %s (%d)\n", n->name,
			path, u->status);
		media_free(u);
		return reply_error(r, 502, "the node refused the console's token");
	}
	if (u->status == 503 || u->status == 416) {
		/* Not yet (no picture, no complete fragment) or past the end:
		 * the player may ask again. */
		json_object *o = json_object_new_object();
		int st = u->status;
		char *cr = st == 416 && upstream_header(u, "Content-Range", v, sizeof(v)) ? v : NULL;
		json_object_object_add(o, "error", json_object_new_string(
			st == 503 ? "not available yet: try again" : "range not satisfiable"));
		MHD_RESULT ret = reply_json_with(r, (unsigned)st, o, st == 503 ? "Retry-After" :
						 cr ? "Content-Range" : NULL, st == 503 ? "1" : cr);
		media_free(u);
		return ret;
	}
	if (u->status >= 400) {
		int st = u->status;
		media_free(u);
		return reply_error(r, st == 404 ? 404 : 502, st == 404 ? "not found" :
				   "the node failed");
	}
	resp = MHD_create_response_from_callback(u->length >= 0 ? (uint64_t)u->length :
						 MHD_SIZE_UNKNOWN, MEDIA_BLOCK, media_read, u,
						 media_free);
	if (!resp) {
		media_free(u);
		return MHD_NO;
	}
	for (int i = 0; pass[i]; i++)
		if (upstream_header(u, pass[i], v, sizeof(v)))
			MHD_add_response_header(resp, pass[i], v);
	MHD_add_response_header(resp, "Cache-Control", "private, no-store");
	return reply(r, (unsigned)u->status, resp);
}

MHD_RESULT media_handle(struct req *r)
{
	const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
	const char *p = r->url + 7, *slash = strchr(p, '/');
	const struct console_node *n;
	struct store *st;
	char path[1200];

	if (!cookie || session_find(r->srv->sessions, cookie, &r->sess) < 0)
		return reply_error(r, 401, "not logged in");
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return reply_error(r, 405, "method not allowed");
	if (!slash || !(n = media_node(r->srv, p, (size_t)(slash - p))) || !n->http)
		return reply_error(r, 404, "not found");
	if (!(st = http_store(r->srv)))
		return reply_error(r, 500, "database unavailable");
	p = slash + 1;
	if (strncmp(p, "clips/", 6) == 0 && media_path_ok(p + 6)) {
		if (!r->sess.user.supervisor &&
		    !store_media_visible(st, &r->sess.user, n->name, p + 6))
			return reply_error(r, 404, "not found");
		snprintf(path, sizeof(path), "/clips/%s", p + 6);
		return media_proxy(r, n, path, 1);
	}
	if (strncmp(p, "picture/", 8) == 0) {
		char cam[CONSOLE_NAME_MAX + 4];
		size_t len = strlen(p + 8);
		if (len < 5 || len - 4 >= CONSOLE_NAME_MAX || strcmp(p + 8 + len - 4, ".jpg") != 0)
			return reply_error(r, 404, "not found");
		memcpy(cam, p + 8, len - 4);
		cam[len - 4] = '\0';
		if (!name_ok(cam))
			return reply_error(r, 404, "not found");
		for (int i = 0; i < r->srv->cfg->nnodes; i++)
			if (&r->srv->cfg->nodes[i] == n &&
			    !media_camera_visible(r->srv, st, &r->sess.user, i, cam))
				return reply_error(r, 404, "not found");
		snprintf(path, sizeof(path), "/api/v1/cameras/%s/picture.jpg", cam);
		return media_proxy(r, n, path, 0);
	}
	return reply_error(r, 404, "not found");
}
