/* The HTTP API: listener, token, routing, cameras and pictures; see
 * httpapi.h (clips are httpapi_clips.c's). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipdb.h"
#include "httpapi_int.h"
#include "httpd.h"
#include "log.h"
#include "recorder.h"

/* A picture request waiting for its camera, suspended. */
struct httpapi_req {
	struct MHD_Connection *c;
	char camera[STATUS_ID_LEN];
	unsigned want;               /* the slot's picture_asked this request made */
	long long deadline_ms;
	enum { REQ_WAITING, REQ_READY, REQ_TIMED_OUT } state;
	struct httpapi_req *next;    /* in the waiting list while suspended */
};

enum MHD_Result httpapi_json(struct MHD_Connection *c, unsigned code, json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	json_object_put(o);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"vigil\"");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (code == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result httpapi_error(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	return httpapi_json(c, code, o);
}

void httpapi_token_path(const struct vigil_config *cfg, char *buf, size_t len)
{
	if (cfg->http_token_file)
		snprintf(buf, len, "%s", cfg->http_token_file);
	else
		snprintf(buf, len, "%s/http.token", cfg->data_dir);
}

/* A new token file: 32 random bytes as 64 hex digits, mode 0600. */
static int httpapi_token_create(const char *path)
{
	unsigned char raw[32];
	char hex[66];
	int fd;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[64] = '\n';
	hex[65] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (write(fd, hex, 65) != 65) {
		int e = errno ? errno : EIO;
		close(fd);
		unlink(path);
		return -e;
	}
	close(fd);
	log_info(NULL, "http: created the API token file %s", path);
	return 0;
}

int httpapi_token_load(const char *path, char *tok, size_t len, char *why, size_t whylen)
{
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		r = httpapi_token_create(path);
		if (r < 0) {
			snprintf(why, whylen, "cannot create it: %s", strerror(-r));
			return -1;
		}
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	}
	if (fd < 0) {
		snprintf(why, whylen, "cannot open it: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "it is not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "it belongs to uid %u, not to the daemon's user (uid %u)",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(why, whylen, "others may read or change it (mode %04o): the token must be "
			 "the daemon user's alone (chmod 600 it)", (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	n = read(fd, tok, len - 1);
	close(fd);
	if (n < 0) {
		snprintf(why, whylen, "cannot read it: %s", strerror(errno));
		return -1;
	}
	tok[n] = '\0';
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
		tok[--n] = '\0';
	for (ssize_t i = 0; i < n; i++) {
		if (tok[i] <= ' ' || tok[i] > '~') {
			snprintf(why, whylen, "the token must be one line of printable characters "
				 "without spaces");
			return -1;
		}
	}
	if (n < 16) {
		snprintf(why, whylen, "the token is %zd characters long, at least 16 are needed",
			 n);
		return -1;
	}
	return 0;
}

/* "Bearer <token>", the token compared in constant time. */
static int httpapi_authorized(const struct httpapi *a, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char diff = 0;
	size_t n;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	n = strlen(h);
	/* The same work whatever the length given. */
	for (size_t i = 0; i < a->token_len; i++)
		diff |= (unsigned char)(a->token[i] ^ (i < n ? h[i] : 0));
	return !diff && n == a->token_len;
}

static int httpapi_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 32);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decoding of the path and the query: as the library's, except
 * that %00 becomes a byte no valid path or parameter holds (0x7f), so
 * that "a.mp4%00.jpg" cannot end the string early. Decoded once: "%252e"
 * is "%2e", which no path may hold. */
static size_t httpapi_unescape(void *arg, struct MHD_Connection *c, char *s)
{
	const char *r = s;
	char *w = s;

	(void)arg;
	(void)c;
	while (*r) {
		int hi = r[0] == '%' ? httpapi_hex(r[1]) : -1;
		int lo = hi >= 0 ? httpapi_hex(r[2]) : -1;
		if (lo >= 0) {
			*w++ = (char)(hi * 16 + lo ? hi * 16 + lo : 0x7f);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static enum MHD_Result httpapi_cameras(struct httpapi *a, struct MHD_Connection *c)
{
	char *body = a->host.cameras(a->host.arg);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return httpapi_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "cannot build the camera list");
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Whether id is a camera of this server's shard. */
static int httpapi_local_camera(const struct httpapi *a, const char *id)
{
	const struct vigil_config *cfg = a->host.cfg;

	for (size_t i = 0; i < cfg->ncameras; i++)
		if (strcmp(cfg->cameras[i].id, id) == 0)
			return config_camera_local(cfg, i);
	return 0;
}

static void httpapi_unwait(struct httpapi *a, struct httpapi_req *q)
{
	for (struct httpapi_req **p = &a->waiting; *p; p = &(*p)->next) {
		if (*p == q) {
			*p = q->next;
			q->next = NULL;
			return;
		}
	}
}

/* GET /api/v1/cameras/<id>/picture.jpg: ask the camera thread for its
 * next analysed frame and wait, suspended; answer when called again. */
static enum MHD_Result httpapi_picture(struct httpapi *a, struct MHD_Connection *c,
				       const char *id, void **req)
{
	struct httpapi_req *q = *req;
	struct status_slot *slot;
	char path[4400];
	struct stat st;
	int fd;

	if (q) {
		if (q->state != REQ_READY)
			return httpapi_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					     "camera '%s' gave no picture within %d ms", id,
					     HTTPAPI_PICTURE_MS);
		snprintf(path, sizeof(path), "%s/%s.jpg", a->picture_dir, id);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			return httpapi_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					     "camera '%s' has no picture", id);
		}
		return httpapi_send_fd(c, fd, st.st_size, "image/jpeg", 1);
	}
	if (strlen(id) >= STATUS_ID_LEN || !httpapi_local_camera(a, id))
		return httpapi_error(c, MHD_HTTP_NOT_FOUND, "no camera '%.64s' on this server", id);
	slot = a->host.slot(a->host.arg, id);
	if (!slot || atomic_load(&slot->state) != CAMERA_STREAMING)
		return httpapi_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "camera '%s' is not streaming", id);
	q = calloc(1, sizeof(*q));
	if (!q)
		return MHD_NO;
	q->c = c;
	snprintf(q->camera, sizeof(q->camera), "%s", id);
	q->want = atomic_fetch_add(&slot->picture_asked, 1) + 1;
	q->deadline_ms = status_now_ms() + HTTPAPI_PICTURE_MS;
	q->next = a->waiting;
	a->waiting = q;
	*req = q;
	MHD_suspend_connection(c);
	return MHD_YES;
}

static void httpapi_done(void *arg, void *req)
{
	struct httpapi *a = arg;

	httpapi_unwait(a, req);
	free(req);
}

static enum MHD_Result httpapi_request(void *arg, struct MHD_Connection *c, const char *url,
				       const char *method, void **req)
{
	static const char pic_prefix[] = "/api/v1/cameras/", pic_suffix[] = "/picture.jpg";
	struct httpapi *a = arg;
	size_t n = strlen(url);

	if (!httpapi_authorized(a, c))
		return httpapi_error(c, MHD_HTTP_UNAUTHORIZED,
				     "a valid 'Authorization: Bearer TOKEN' header is needed");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return httpapi_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
	if (strcmp(url, "/api/v1/cameras") == 0)
		return httpapi_cameras(a, c);
	if (strcmp(url, "/api/v1/clips") == 0)
		return httpapi_clips_list(a, c);
	if (strncmp(url, "/clips/", 7) == 0)
		return httpapi_clip_file(a, c, url + 7);
	if (n > sizeof(pic_prefix) - 1 + sizeof(pic_suffix) - 1 &&
	    strncmp(url, pic_prefix, sizeof(pic_prefix) - 1) == 0 &&
	    strcmp(url + n - (sizeof(pic_suffix) - 1), pic_suffix) == 0) {
		char id[STATUS_ID_LEN + 1];
		size_t k = n - (sizeof(pic_prefix) - 1) - (sizeof(pic_suffix) - 1);
		if (k >= sizeof(id))
			return httpapi_error(c, MHD_HTTP_NOT_FOUND, "no such camera");
		memcpy(id, url + sizeof(pic_prefix) - 1, k);
		id[k] = '\0';
		return httpapi_picture(a, c, id, req);
	}
	return httpapi_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
}

struct httpapi *httpapi_open(const struct httpapi_host *host)
{
	const struct vigil_config *cfg = host->cfg;
	struct httpapi *a;
	char path[4200], why[256];

	if (cfg->http_port <= 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a) {
		log_err(NULL, "cannot serve the HTTP API: out of memory");
		return NULL;
	}
	a->host = *host;
	httpapi_token_path(cfg, path, sizeof(path));
	if (httpapi_token_load(path, a->token, sizeof(a->token), why, sizeof(why)) < 0) {
		log_err(NULL, "http: refusing the token file %s: %s; the HTTP API stays off",
			path, why);
		free(a);
		return NULL;
	}
	a->token_len = strlen(a->token);
	recorder_clip_dir(cfg->data_dir, a->clip_dir, sizeof(a->clip_dir));
	recorder_db_path(cfg->data_dir, a->db_path, sizeof(a->db_path));
	snprintf(a->picture_dir, sizeof(a->picture_dir), "%s/pictures", cfg->data_dir);
	if (mkdir(a->picture_dir, 0750) < 0 && errno != EEXIST)
		log_warn(NULL, "http: cannot create %s: %s; pictures will be unavailable",
			 a->picture_dir, strerror(errno));
	struct httpd_spec spec = {
		.name = "the HTTP API", .bind = cfg->http_bind, .port = cfg->http_port,
		.idle_seconds = HTTPAPI_IDLE_SECONDS, .deadline_ms = HTTPAPI_DEADLINE_MS,
		.deadline_until_answer = 1, .suspend = 1, .unescape = httpapi_unescape,
		.handler = httpapi_request, .done = httpapi_done, .arg = a,
	};
	a->httpd = httpd_open(&spec);
	if (!a->httpd) {
		free(a);
		return NULL;
	}
	log_info(NULL, "HTTP API on %s port %d (token in %s)", cfg->http_bind, cfg->http_port,
		 path);
	return a;
}

int httpapi_pollfd(const struct httpapi *a)
{
	return a ? httpd_pollfd(a->httpd) : -1;
}

/* Resume the picture requests whose picture came, or whose time ran out. */
static void httpapi_check_pictures(struct httpapi *a, int all)
{
	long long now = status_now_ms();

	for (struct httpapi_req **p = &a->waiting; *p;) {
		struct httpapi_req *q = *p;
		struct status_slot *slot = all ? NULL : a->host.slot(a->host.arg, q->camera);
		if (slot && (int)(atomic_load(&slot->picture_done) - q->want) >= 0)
			q->state = REQ_READY;
		else if (all || now >= q->deadline_ms)
			q->state = REQ_TIMED_OUT;
		if (q->state == REQ_WAITING) {
			p = &q->next;
			continue;
		}
		*p = q->next;
		q->next = NULL;
		MHD_resume_connection(q->c);
	}
}

void httpapi_run(struct httpapi *a)
{
	if (!a)
		return;
	httpd_run(a->httpd);
	httpapi_check_pictures(a, 0);
}

int httpapi_timeout_ms(const struct httpapi *a)
{
	int t;

	if (!a)
		return -1;
	t = httpd_timeout_ms(a->httpd);
	/* Pictures are looked for often: they come with the next frame. */
	if (a->waiting && (t < 0 || t > 10))
		t = 10;
	return t;
}

void httpapi_close(struct httpapi *a)
{
	if (!a)
		return;
	/* Suspended connections are resumed (and refused) before the
	 * listener goes. */
	httpapi_check_pictures(a, 1);
	httpd_run(a->httpd);
	httpd_close(a->httpd);
	clipdb_close(a->db);
	free(a);
}
