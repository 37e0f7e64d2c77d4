/* Internals of the HTTP API shared by httpapi.c (listener, token,
 * routing, cameras, pictures) and httpapi_clips.c (the clip index and
 * clip files). Not for use outside the API. */
#ifndef VIGIL_HTTPAPI_INT_H
#define VIGIL_HTTPAPI_INT_H

#include <microhttpd.h>
#include <sqlite3.h>

#include "httpapi.h"

struct httpapi_req;

struct httpapi {
	struct httpapi_host host;
	struct httpd *httpd;
	char token[513];
	size_t token_len;
	char clip_dir[4096];
	char db_path[4200];
	char picture_dir[4200];
	sqlite3 *db;                   /* the clip index, read-only; opened on demand */
	struct httpapi_req *waiting;   /* picture requests, suspended */
};

/* Reply with a JSON body (o is consumed) or {"error": msg}. */
enum MHD_Result httpapi_json(struct MHD_Connection *c, unsigned code, struct json_object *o);
enum MHD_Result httpapi_error(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* httpapi_clips.c: GET /api/v1/clips and GET /clips/<rel>. */
enum MHD_Result httpapi_clips_list(struct httpapi *a, struct MHD_Connection *c);
enum MHD_Result httpapi_clip_file(struct httpapi *a, struct MHD_Connection *c, const char *rel);
/* Serve the regular file open at fd (taken over) as type, with byte
 * ranges over its first size bytes. */
enum MHD_Result httpapi_send_fd(struct MHD_Connection *c, int fd, int64_t size,
				const char *type, int growing);

#endif
