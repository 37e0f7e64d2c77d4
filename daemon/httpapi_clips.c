/* The HTTP API's clip index and clip files; see httpapi.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipdb.h"
#include "clippath.h"
#include "httpapi_int.h"
#include "httprange.h"
#include "log.h"
#include "mp4frag.h"
#include "topic.h"

/* The index opened read-only on first use (it appears with the first
 * clip); NULL while there is none. */
static sqlite3 *httpapi_db(struct httpapi *a)
{
	if (a->db)
		return a->db;
	if (access(a->db_path, R_OK) < 0)
		return NULL;
	if (clipdb_open(&a->db, a->db_path, 1) < 0) {
		log_warn(NULL, "http: cannot open the clip index %s: %s", a->db_path,
			 a->db ? sqlite3_errmsg(a->db) : "out of memory");
		clipdb_close(a->db);
		a->db = NULL;
		return NULL;
	}
	/* Readers of a WAL database wait only on its recovery: never long. */
	sqlite3_busy_timeout(a->db, 200);
	return a->db;
}

/* A whole decimal number in [0, max]; -1 otherwise. */
static int64_t httpapi_number(const char *s, int64_t max)
{
	int64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Query parameters of /api/v1/clips: only known names, each once. */
struct httpapi_args {
	const char *bad;       /* first unknown or repeated name */
	int seen[4];
};

static const char *const httpapi_clip_args[] = { "camera", "from", "to", "limit" };

static enum MHD_Result httpapi_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct httpapi_args *g = cls;

	(void)kind;
	(void)value;
	for (int i = 0; i < 4; i++) {
		if (strcmp(key, httpapi_clip_args[i]) != 0)
			continue;
		if (g->seen[i]++ && !g->bad)
			g->bad = httpapi_clip_args[i];
		return MHD_YES;
	}
	if (!g->bad)
		g->bad = key;
	return MHD_YES;
}

static json_object *httpapi_clip_json(const struct clipdb_row *r)
{
	json_object *o = json_object_new_object(), *ev = json_object_new_array();
	char events[sizeof(r->events)], *save = NULL;

	json_object_object_add(o, "id", json_object_new_int64(r->id));
	json_object_object_add(o, "path", json_object_new_string(r->path));
	json_object_object_add(o, "camera", json_object_new_string(r->camera));
	json_object_object_add(o, "event_id", json_object_new_string(r->event_id));
	json_object_object_add(o, "type", json_object_new_string(r->type));
	json_object_object_add(o, "start_us", json_object_new_int64(r->start_us));
	json_object_object_add(o, "end_us", r->end_us ? json_object_new_int64(r->end_us) : NULL);
	json_object_object_add(o, "size", json_object_new_int64(r->size));
	json_object_object_add(o, "state", json_object_new_string(r->state));
	memcpy(events, r->events, sizeof(events));
	for (char *t = strtok_r(events, " ", &save); t; t = strtok_r(NULL, " ", &save))
		json_object_array_add(ev, json_object_new_string(t));
	json_object_object_add(o, "events", ev);
	return o;
}

enum MHD_Result httpapi_clips_list(struct httpapi *a, struct MHD_Connection *c)
{
	static const char sql[] =
		"SELECT " CLIPDB_COLUMNS " FROM clips"
		" WHERE (?1 IS NULL OR camera = ?1)"
		" AND (?2 IS NULL OR coalesce(end_us, 0) = 0 OR end_us >= ?2)"
		" AND (?3 IS NULL OR start_us <= ?3)"
		" ORDER BY start_us DESC, id DESC LIMIT ?4";
	struct httpapi_args g = { 0 };
	const char *camera = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "camera");
	const char *from_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
	const char *to_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
	const char *limit_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	int64_t from = -1, to = -1, limit = HTTPAPI_LIMIT_DEFAULT;
	json_object *o, *list;
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int r;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, httpapi_arg, &g);
	if (g.bad)
		return httpapi_error(c, MHD_HTTP_BAD_REQUEST,
				     "parameter '%.64s' is unknown or repeated (known: camera, "
				     "from, to, limit)", g.bad);
	if (camera && !topic_token_ok(camera))
		return httpapi_error(c, MHD_HTTP_BAD_REQUEST,
				     "parameter 'camera' must be a camera id");
	if (from_s && (from = httpapi_number(from_s, INT64_MAX)) < 0)
		return httpapi_error(c, MHD_HTTP_BAD_REQUEST, "parameter 'from' must be "
				     "microseconds since 1970 (a whole number)");
	if (to_s && (to = httpapi_number(to_s, INT64_MAX)) < 0)
		return httpapi_error(c, MHD_HTTP_BAD_REQUEST, "parameter 'to' must be "
				     "microseconds since 1970 (a whole number)");
	if (from >= 0 && to >= 0 && to < from)
		return httpapi_error(c, MHD_HTTP_BAD_REQUEST,
				     "parameter 'to' must not be before 'from'");
	if (limit_s && ((limit = httpapi_number(limit_s, HTTPAPI_LIMIT_MAX)) < 1))
		return httpapi_error(c, MHD_HTTP_BAD_REQUEST,
				     "parameter 'limit' must be a whole number from 1 to %d",
				     HTTPAPI_LIMIT_MAX);
	list = json_object_new_array();
	db = httpapi_db(a);
	if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warn(NULL, "http: clip index query: %s", sqlite3_errmsg(db));
		json_object_put(list);
		return httpapi_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "cannot read the clip index");
	}
	if (st) {
		if (camera)
			sqlite3_bind_text(st, 1, camera, -1, SQLITE_STATIC);
		if (from >= 0)
			sqlite3_bind_int64(st, 2, from);
		if (to >= 0)
			sqlite3_bind_int64(st, 3, to);
		sqlite3_bind_int64(st, 4, limit);
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			struct clipdb_row row;
			clipdb_row_read(st, &row);
			json_object_array_add(list, httpapi_clip_json(&row));
		}
		sqlite3_finalize(st);
		if (r != SQLITE_DONE) {
			log_warn(NULL, "http: clip index query: %s", sqlite3_errmsg(db));
			json_object_put(list);
			return httpapi_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					     "cannot read the clip index");
		}
	}
	o = json_object_new_object();
	json_object_object_add(o, "clips", list);
	return httpapi_json(c, MHD_HTTP_OK, o);
}

/* Whether rel has the shape of a clip or snapshot path: letters, digits,
 * '.', '_', '-' in components separated by single slashes, none of them
 * "." or "..", ending in .mp4 or .jpg. Returns the type, or NULL. The
 * walk in clippath_open_inside checks again, on the files. */
static const char *httpapi_clip_type(const char *rel)
{
	size_t n = strlen(rel);
	const char *comp = rel;

	if (n < 5 || n > HTTPAPI_PATH_MAX)
		return NULL;
	for (const char *p = rel;; p++) {
		if (*p == '/' || !*p) {
			size_t k = (size_t)(p - comp);
			if (k == 0 || (k == 1 && comp[0] == '.') ||
			    (k == 2 && comp[0] == '.' && comp[1] == '.'))
				return NULL;
			if (!*p)
				break;
			comp = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return NULL;
	}
	if (strcmp(rel + n - 4, ".mp4") == 0)
		return "video/mp4";
	if (strcmp(rel + n - 4, ".jpg") == 0)
		return "image/jpeg";
	return NULL;
}

/* The index state of the clip at rel. */
enum httpapi_clip_state { CLIP_COMPLETE, CLIP_RECORDING, CLIP_TRUNCATED };

/* The state of the clip at rel (enum httpapi_clip_state), -ENOENT when
 * it is not a clip of the index, or another -errno. */
static int httpapi_clip_state(struct httpapi *a, const char *rel)
{
	sqlite3 *db = httpapi_db(a);
	sqlite3_stmt *st;
	int r;

	if (!db)
		return -ENOENT;
	if (sqlite3_prepare_v2(db, "SELECT state FROM clips WHERE path = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		r = !state ? CLIP_TRUNCATED :
		    strcmp(state, CLIPDB_COMPLETE) == 0 ? CLIP_COMPLETE :
		    strcmp(state, CLIPDB_RECORDING) == 0 ? CLIP_RECORDING : CLIP_TRUNCATED;
	} else {
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

enum MHD_Result httpapi_send_fd(struct MHD_Connection *c, int fd, int64_t size,
				const char *type, int growing)
{
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	int64_t start = 0, len = size;
	enum httprange_result rr = httprange_parse(range, size, &start, &len);
	struct MHD_Response *resp;
	unsigned code = MHD_HTTP_OK;
	char cr[96];
	enum MHD_Result ret;

	if (rr == HTTPRANGE_UNSATISFIABLE) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		snprintf(cr, sizeof(cr), "bytes */%lld", (long long)size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
		ret = MHD_queue_response(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	/* The descriptor belongs to the response from here on. */
	resp = MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)start);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	if (rr == HTTPRANGE_PARTIAL) {
		code = MHD_HTTP_PARTIAL_CONTENT;
		snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)start,
			 (long long)(start + len - 1), (long long)size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	/* A clip still being recorded grows: never cache what was served. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				growing ? "no-store" : "private, max-age=60");
	/* A player may pause reading while its buffer is full. */
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
				  (unsigned)HTTPAPI_FILE_IDLE_SECONDS);
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result httpapi_clip_file(struct httpapi *a, struct MHD_Connection *c, const char *rel)
{
	const char *type = httpapi_clip_type(rel), *why;
	int state = CLIP_COMPLETE, fd;
	struct stat st;
	int64_t size;

	if (!type)
		return httpapi_error(c, MHD_HTTP_NOT_FOUND, "no such clip or snapshot");
	/* A clip must be one of the index (its state says how much of it
	 * is whole); a snapshot has no row of its own. */
	if (strcmp(type, "video/mp4") == 0) {
		state = httpapi_clip_state(a, rel);
		if (state == -ENOENT)
			return httpapi_error(c, MHD_HTTP_NOT_FOUND, "no such clip or snapshot");
		if (state < 0)
			return httpapi_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					     "cannot read the clip index");
	}
	fd = clippath_open_inside(a->clip_dir, rel, &why);
	if (fd < 0) {
		if (fd == -EPERM)
			log_warn(NULL, "http: refused clip path '%s': it %s", rel, why);
		return httpapi_error(c, MHD_HTTP_NOT_FOUND, "no such clip or snapshot");
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return httpapi_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the file");
	}
	size = st.st_size;
	if (state != CLIP_COMPLETE) {
		/* Only whole fragments: a player stops cleanly at their end. A
		 * clip still being written grows; one cut short (truncated) may
		 * end in half a box. */
		size = mp4frag_complete_end(fd, size);
		if (size <= 0) {
			close(fd);
			return httpapi_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					     "the clip has no complete fragment yet");
		}
	}
	return httpapi_send_fd(c, fd, size, type, state == CLIP_RECORDING);
}
