/* The console's JSON API under /api/ (docs/console.md has the contract).
 *
 * Every route but /api/login needs the session cookie (401); every POST
 * needs X-CSRF-Token equal to the session's csrf value and, when the
 * browser sends Origin, the console's own origin (403). What an operator
 * receives is limited to the districts of the user on the server side:
 * in the store's queries and in the stream's filter. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#define API_NOTE_MAX   1000
#define API_STREAM_BUF (64 * 1024)

static const char *api_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static const char *api_arg(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* An Origin header, when present, must name this console. */
static int api_origin_ok(struct req *r)
{
	const char *origin = api_header(r, "Origin"), *host = api_header(r, "Host");
	char own[512];

	if (!origin)
		return 1;
	if (!host)
		return 0;
	snprintf(own, sizeof(own), "%s://%s", r->srv->tls ? "https" : "http", host);
	return strcmp(origin, own) == 0;
}

static void api_client_addr(struct req *r, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, n, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)n);
}

static json_object *api_body(struct req *r)
{
	json_object *o;

	if (!r->body)
		return NULL;
	o = json_tokener_parse(r->body);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *api_districts(const struct user *u)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < u->ndistricts; i++)
		json_object_array_add(a, json_object_new_string(u->districts[i]));
	return a;
}

static json_object *api_user(const struct session *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "user", json_object_new_string(s->user.name));
	json_object_object_add(o, "role", json_object_new_string(
		s->user.supervisor ? "supervisor" : "operator"));
	json_object_object_add(o, "districts", api_districts(&s->user));
	json_object_object_add(o, "csrf", json_object_new_string(s->csrf));
	return o;
}

static MHD_RESULT api_login(struct req *r)
{
	json_object *body = api_body(r), *reply_o;
	const char *name = body ? jstr(body, "user") : NULL;
	const char *pw = body ? jstr(body, "password") : NULL;
	struct store *st = http_store(r->srv);
	struct session sess;
	struct user u;
	char addr[64], cookie[256], msg[96];
	double wait;
	int ok;

	if (!body || !name || !pw) {
		json_object_put(body);
		return reply_error(r, 400, "expected {\"user\": ..., \"password\": ...}");
	}
	api_client_addr(r, addr, sizeof(addr));
	if (!st) {
		json_object_put(body);
		return reply_error(r, 500, "database unavailable");
	}
	auth_lock();
	if ((wait = throttle_wait(r->srv->throttle, name, addr)) > 0) {
		char after[16];
		auth_unlock();
		json_object_put(body);
		snprintf(msg, sizeof(msg), "too many failed logins: try again in %.0f s",
			 wait + 0.5);
		snprintf(after, sizeof(after), "%.0f", wait + 0.5);
		reply_o = json_object_new_object();
		json_object_object_add(reply_o, "error", json_object_new_string(msg));
		return reply_json_with(r, 429, reply_o, "Retry-After", after);
	}
	ok = auth_check(st, name, pw, &u) == 0;
	wait = throttle_note(r->srv->throttle, name, addr, ok);
	auth_unlock();
	if (!ok) {
		fprintf(stderr, "vigil-console: failed login for %s from %s\n",
			name_ok(name) ? name : "(not a user name)", addr);
		json_object_put(body);
		usleep((useconds_t)(wait * 1e6));
		return reply_error(r, 401, "wrong user or password");
	}
	json_object_put(body);
	session_create(r->srv->sessions, &u, &sess);
	fprintf(stderr, "vigil-console: %s logged in from %s\n", u.name, addr);
	snprintf(cookie, sizeof(cookie), COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/%s",
		 sess.token, r->srv->tls ? "; Secure" : "");
	return reply_json_with(r, 200, api_user(&sess), "Set-Cookie", cookie);
}

static MHD_RESULT api_logout(struct req *r)
{
	struct MHD_Response *resp;
	const char *t = "{}";

	session_drop(r->srv->sessions, r->sess.token);
	hub_kick(r->srv->hub);          /* its streams end now */
	resp = MHD_create_response_from_buffer(strlen(t), (void *)t, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Set-Cookie", COOKIE_NAME "=; HttpOnly; SameSite=Strict; "
				"Path=/; Max-Age=0");
	return reply(r, 200, resp);
}

static MHD_RESULT api_me(struct req *r)
{
	json_object *o = api_user(&r->sess), *t = json_object_new_object();

	for (int i = 0; i < SITE_COUNT; i++)
		json_object_object_add(t, site_name(i), json_object_new_int(r->srv->cfg->targets[i]));
	json_object_object_add(o, "response_targets", t);
	return reply_json(r, 200, o);
}

static MHD_RESULT api_alerts(struct req *r)
{
	struct alert_query q = {
		.district = api_arg(r, "district"), .grid = api_arg(r, "grid"),
		.severity = api_arg(r, "severity"), .type = api_arg(r, "type"),
		.camera = api_arg(r, "camera"), .from = -1, .to = -1, .limit = 200,
	};
	const char *unacked = api_arg(r, "unacked"), *from = api_arg(r, "from");
	const char *to = api_arg(r, "to"), *limit = api_arg(r, "limit");
	struct store *st = http_store(r->srv);
	json_object *o;

	q.unacked = unacked && strcmp(unacked, "1") == 0;
	if (from && *from && (q.from = parse_time(from)) < 0)
		return reply_error(r, 400, "from: ISO 8601 time or microseconds");
	if (to && *to && (q.to = parse_time(to)) < 0)
		return reply_error(r, 400, "to: ISO 8601 time or microseconds");
	if (limit && *limit) {
		char *end;
		long v = strtol(limit, &end, 10);
		if (*end || v < 1)
			return reply_error(r, 400, "limit: a positive integer");
		q.limit = v > 1000 ? 1000 : (int)v;
	}
	if (!st || !(o = store_alerts(st, &r->sess.user, &q)))
		return reply_error(r, 500, "database error");
	return reply_json(r, 200, o);
}

static MHD_RESULT api_ack(struct req *r)
{
	json_object *body = api_body(r), *ack = NULL, *o;
	const char *key = body ? jstr(body, "key") : NULL, *note = NULL;
	struct store *st = http_store(r->srv);
	char district[CONSOLE_NAME_MAX];
	json_object *nv;
	int rc;

	if (!body || !key || !*key || strlen(key) > 512) {
		json_object_put(body);
		return reply_error(r, 400, "expected {\"key\": \"INSTANCE/ID\", \"note\": ...}");
	}
	if (json_object_object_get_ex(body, "note", &nv) && nv) {
		if (!json_object_is_type(nv, json_type_string) ||
		    strlen(json_object_get_string(nv)) > API_NOTE_MAX) {
			json_object_put(body);
			return reply_error(r, 400, "note: a string of at most 1000 bytes");
		}
		note = json_object_get_string(nv);
	}
	if (!st) {
		json_object_put(body);
		return reply_error(r, 500, "database unavailable");
	}
	rc = store_ack(st, &r->sess.user, key, note, &ack, district, sizeof(district));
	json_object_put(body);
	if (rc == -ENOENT)
		return reply_error(r, 404, "no such event");
	if (rc == -EEXIST) {
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string("acknowledged already"));
		json_object_object_add(o, "ack", ack);
		return reply_json(r, 409, o);
	}
	if (rc < 0)
		return reply_error(r, 500, "database error");
	fprintf(stderr, "vigil-console: %s acknowledged %s\n", r->sess.user.name,
		jstr(ack, "key"));
	hub_push(r->srv->hub, "ack", district,
		 json_object_to_json_string_ext(ack, JSON_C_TO_STRING_PLAIN));
	return reply_json(r, 200, ack);
}

static MHD_RESULT api_stats(struct req *r)
{
	struct store *st = http_store(r->srv);

	if (!st)
		return reply_error(r, 500, "database unavailable");
	return reply_json(r, 200, store_stats(st, &r->sess.user));
}

static MHD_RESULT api_cameras(struct req *r)
{
	struct store *st = http_store(r->srv);

	if (!st)
		return reply_error(r, 500, "database unavailable");
	return reply_json(r, 200, media_cameras(r->srv, st, &r->sess.user));
}

/* An event stream: the hub's events after its position that the user
 * may see, a comment every 15 s when quiet; it ends when the session
 * does. */
struct api_stream {
	struct server *srv;
	struct session sess;
	uint64_t pos;
	int greeted;
};

static ssize_t api_stream_read(void *cls, uint64_t off, char *buf, size_t max)
{
	struct api_stream *s = cls;
	struct session now;
	long n;

	(void)off;
	if (!s->greeted) {
		s->greeted = 1;
		return snprintf(buf, max, "retry: 2000\n: vigil-console\n\n");
	}
	if (session_find(s->srv->sessions, s->sess.token, &now) < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = hub_read(s->srv->hub, &s->sess.user, &s->pos, buf, max, SSE_HEARTBEAT_MS);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0)
		return snprintf(buf, max, ": heartbeat\n\n");
	return n;
}

static void api_stream_free(void *cls)
{
	struct api_stream *s = cls;

	atomic_fetch_sub(&s->srv->streams, 1);
	free(s);
}

static MHD_RESULT api_events(struct req *r)
{
	const char *last = api_header(r, "Last-Event-ID");
	struct MHD_Response *resp;
	struct api_stream *s;
	unsigned long long boot, id;
	uint64_t head = hub_head(r->srv->hub);

	if (atomic_fetch_add(&r->srv->streams, 1) >= r->srv->cfg->max_sse) {
		atomic_fetch_sub(&r->srv->streams, 1);
		return reply_error(r, 503, "too many event streams");
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		atomic_fetch_sub(&r->srv->streams, 1);
		return MHD_NO;
	}
	s->srv = r->srv;
	s->sess = r->sess;
	s->pos = head;
	/* Resume after the last event the browser saw, if this run sent it
	 * and the ring still holds what followed. */
	if (last && sscanf(last, "%llu-%llu", &boot, &id) == 2 &&
	    boot == hub_boot(r->srv->hub) && id <= head)
		s->pos = id;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, API_STREAM_BUF,
						 api_stream_read, s, api_stream_free);
	if (!resp) {
		api_stream_free(s);
		return MHD_NO;
	}
	/* A stream writes at least every 15 s; one that cannot write for a
	 * minute (a client that stopped reading) is closed. */
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)SSE_STALL_S);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	return reply(r, 200, resp);
}

struct api_route {
	const char *path, *method;
	MHD_RESULT (*fn)(struct req *r);
};

static const struct api_route api_routes[] = {
	{ "/api/logout", "POST", api_logout },
	{ "/api/me", "GET", api_me },
	{ "/api/alerts", "GET", api_alerts },
	{ "/api/events", "GET", api_events },
	{ "/api/ack", "POST", api_ack },
	{ "/api/stats/response", "GET", api_stats },
	{ "/api/cameras", "GET", api_cameras },
	{ NULL, NULL, NULL }
};

MHD_RESULT api_handle(struct req *r)
{
	const char *cookie, *csrf;
	int post = strcmp(r->method, "POST") == 0;
	const struct api_route *rt;

	if (r->too_big)
		return reply_error(r, 413, "request body too large (16 KiB at most)");
	if (strcmp(r->url, "/api/login") == 0) {
		if (!post)
			return reply_error(r, 405, "POST only");
		if (!api_origin_ok(r))
			return reply_error(r, 403, "cross-origin request refused");
		return api_login(r);
	}
	cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
	if (!cookie || session_find(r->srv->sessions, cookie, &r->sess) < 0)
		return reply_error(r, 401, "not logged in");
	r->has_session = 1;
	for (rt = api_routes; rt->path; rt++)
		if (strcmp(rt->path, r->url) == 0)
			break;
	if (!rt->path)
		return reply_error(r, 404, "no such API");
	if (strcmp(rt->method, r->method) != 0 &&
	    !(strcmp(rt->method, "GET") == 0 && strcmp(r->method, "HEAD") == 0))
		return reply_error(r, 405, "method not allowed");
	if (post) {
		csrf = api_header(r, "X-CSRF-Token");
		if (!csrf || strlen(csrf) != HTTP_TOKEN_HEX ||
		    sodium_memcmp(csrf, r->sess.csrf, HTTP_TOKEN_HEX) != 0)
			return reply_error(r, 403, "missing or wrong X-CSRF-Token");
		if (!api_origin_ok(r))
			return reply_error(r, 403, "cross-origin request refused");
	}
	return rt->fn(r);
}
