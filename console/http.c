/* The console's HTTP server (libmicrohttpd, a thread per connection: an
 * event stream blocks in its own thread waiting for the hub, and a slow
 * client only slows its own thread).
 *
 * Limits: at most max_streams event streams and max_requests other
 * requests being answered at once (503 beyond), connections idle for
 * 20 s closed (not streams), request headers within 32 KiB (431 beyond),
 * bodies within 16 KiB (413 beyond). Routing: /api/ to api.c, /media/ to
 * media.c, the rest to static.c. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HTTP_IDLE_TIMEOUT_S 20
#define HTTP_MEMORY_LIMIT   (32 * 1024)

static void http_store_free(void *p)
{
	store_close(p);
	free(p);
}

/* This thread's database connection, opened on first use. */
struct store *http_store(struct server *s)
{
	struct store *st = pthread_getspecific(s->store_key);

	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st || store_open(st, s->cfg->db, s->cfg) < 0) {
		free(st);
		return NULL;
	}
	pthread_setspecific(s->store_key, st);
	return st;
}

MHD_RESULT reply(struct req *r, unsigned status, struct MHD_Response *resp)
{
	MHD_RESULT ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

MHD_RESULT reply_json_with(struct req *r, unsigned status, json_object *o, const char *name,
			   const char *value)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
								    MHD_RESPMEM_MUST_COPY);
	MHD_RESULT ret;

	json_object_put(o);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (name)
		MHD_add_response_header(resp, name, value);
	ret = reply(r, status, resp);
	return ret;
}

MHD_RESULT reply_json(struct req *r, unsigned status, json_object *o)
{
	return reply_json_with(r, status, o, NULL, NULL);
}

MHD_RESULT reply_error(struct req *r, unsigned status, const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return reply_json(r, status, o);
}

static MHD_RESULT http_dispatch(struct req *r)
{
	if (strncmp(r->url, "/api/", 5) == 0)
		return api_handle(r);
	if (r->too_big)
		return reply_error(r, 413, "request body too large (16 KiB at most)");
	if (strncmp(r->url, "/media/", 7) == 0)
		return media_handle(r);
	return static_handle(r);
}

static MHD_RESULT http_access(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct req *r = *con_cls;

	(void)version;
	if (!r) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = s;
		r->conn = conn;
		r->method = method;
		r->url = url;
		*con_cls = r;
		/* Announced too large: answer before reading any of it. */
		if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
			r->too_big = 1;
			watch_busy(s->watch, conn, 1);
			return reply_error(r, 413, "request body too large (16 KiB at most)");
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && r->len + *upload_size <= HTTP_BODY_MAX) {
			char *b = realloc(r->body, r->len + *upload_size + 1);
			if (!b)
				return MHD_NO;
			r->body = b;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		} else {
			r->too_big = 1;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	/* The request is complete: answer it. Event streams count apart. */
	watch_busy(s->watch, conn, 1);
	r->stream = strcmp(url, "/api/events") == 0;
	if (!r->stream) {
		r->counted = 1;
		if (atomic_fetch_add(&s->requests, 1) >= s->cfg->max_requests)
			return reply_error(r, 503, "busy, try again");
	}
	return http_dispatch(r);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode code)
{
	struct server *s = cls;
	struct req *r = *con_cls;

	(void)code;
	watch_busy(s->watch, conn, 0);
	if (!r)
		return;
	if (r->counted)
		atomic_fetch_sub(&s->requests, 1);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void http_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fprintf(stderr, "vigil-console: http: ");
	vfprintf(stderr, fmt, ap);
}

static char *http_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int http_start(struct server *s, const struct console_config *c, struct hub *h)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	char port[16], *cert = NULL, *key = NULL;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG;

	memset(s, 0, sizeof(*s));
	s->cfg = c;
	s->hub = h;
	s->sessions = sessions_new();
	s->throttle = throttle_new();
	pthread_key_create(&s->store_key, http_store_free);
	pthread_mutex_init(&s->cam_lock, NULL);
	s->watch = watch_start(c->max_sse + 2 * c->max_requests + 8, c->request_timeout);
	if (!s->watch)
		return -ENOMEM;
	snprintf(port, sizeof(port), "%d", c->port);
	if (getaddrinfo(c->bind, port, &hints, &ai) != 0 || !ai) {
		fprintf(stderr, "vigil-console: listen.bind %s: not a numeric address\n", c->bind);
		return -EINVAL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (c->tls_cert[0]) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "vigil-console: this libmicrohttpd has no TLS support\n");
			freeaddrinfo(ai);
			return -ENOTSUP;
		}
		cert = http_read_file(c->tls_cert);
		key = http_read_file(c->tls_key);
		if (!cert || !key) {
			fprintf(stderr, "vigil-console: cannot read %s or %s\n", c->tls_cert,
				c->tls_key);
			free(cert);
			free(key);
			freeaddrinfo(ai);
			return -EINVAL;
		}
		flags |= MHD_USE_TLS;
		s->tls = 1;
	}
	s->mhd = MHD_start_daemon(
		flags, (uint16_t)c->port, NULL, NULL, http_access, s,
		MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
		MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, watch_notify, s->watch,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)(c->max_sse + 2 * c->max_requests),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 128u,
		cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
		MHD_OPTION_HTTPS_MEM_KEY, key,
		MHD_OPTION_END);
	freeaddrinfo(ai);
	/* Kept while the daemon runs. */
	s->tls_mem[0] = cert;
	s->tls_mem[1] = key;
	if (!s->mhd) {
		fprintf(stderr, "vigil-console: cannot listen on %s port %d\n", c->bind, c->port);
		return -EADDRINUSE;
	}
	fprintf(stderr, "vigil-console: serving http%s://%s:%d/\n", s->tls ? "s" : "", c->bind,
		c->port);
	return 0;
}

void http_stop(struct server *s)
{
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	watch_stop(s->watch);
	s->watch = NULL;
	for (int i = 0; i < 2; i++) {
		if (s->tls_mem[i])
			explicit_bzero(s->tls_mem[i], strlen(s->tls_mem[i]));
		free(s->tls_mem[i]);
	}
	sessions_free(s->sessions);
	throttle_free(s->throttle);
	for (int i = 0; i < CONSOLE_MAX_NODES; i++)
		free(s->cam_cache[i]);
	pthread_mutex_destroy(&s->cam_lock);
}
