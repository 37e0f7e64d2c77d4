/* The console's HTTP side: the server (http.c), sessions and login
 * throttling (auth.c), the JSON API (api.c), static files (static.c) and
 * the media proxy and camera list (media.c). */
#ifndef VIGIL_CONSOLE_HTTP_H
#define VIGIL_CONSOLE_HTTP_H

#include <microhttpd.h>
#include <stdatomic.h>

#include "console.h"

#define HTTP_BODY_MAX     (16 * 1024)
#define HTTP_TOKEN_HEX    64        /* session and csrf tokens: 32 random bytes */
#define SESSION_MAX       4096
#define SESSION_IDLE_S    (12 * 3600)
#define SSE_HEARTBEAT_MS  15000
#define SSE_STALL_S       60        /* a stream that cannot write this long ends */
#define COOKIE_NAME       "vigil_session"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

struct session {
	char token[HTTP_TOKEN_HEX + 1];
	char csrf[HTTP_TOKEN_HEX + 1];
	struct user user;
	double last_used;       /* monotonic seconds */
};

struct sessions;
struct throttle;
struct watch;

struct server {
	const struct console_config *cfg;
	struct hub *hub;
	struct MHD_Daemon *mhd;
	struct sessions *sessions;
	struct throttle *throttle;
	struct watch *watch;
	atomic_int requests;    /* non-stream requests being answered */
	atomic_int streams;     /* event streams open */
	int tls;
	char *tls_mem[2];       /* certificate and key (PEM) under TLS */
	pthread_key_t store_key;
	pthread_mutex_t cam_lock;
	char *cam_cache[CONSOLE_MAX_NODES];     /* cameras JSON of each node */
	double cam_time[CONSOLE_MAX_NODES];
};

/* One request being answered. */
struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	const char *method, *url;
	char *body;
	size_t len;
	int too_big, counted, stream;
	struct session sess;    /* a copy of the caller's session, if any */
	int has_session;
};

/* http.c */
int http_start(struct server *s, const struct console_config *c, struct hub *h);
void http_stop(struct server *s);
struct store *http_store(struct server *s);
MHD_RESULT reply_json(struct req *r, unsigned status, json_object *o);
/* The same with one more header (name and value). */
MHD_RESULT reply_json_with(struct req *r, unsigned status, json_object *o, const char *name,
			   const char *value);
MHD_RESULT reply_error(struct req *r, unsigned status, const char *msg);
MHD_RESULT reply(struct req *r, unsigned status, struct MHD_Response *resp);
void random_hex(char *out, size_t bytes);

/* auth.c */
struct sessions *sessions_new(void);
void sessions_free(struct sessions *s);
/* Create a session for u; its copy into *out. */
int session_create(struct sessions *s, const struct user *u, struct session *out);
/* Look up (and touch) the session of token; 0 and *out, or -ENOENT. */
int session_find(struct sessions *s, const char *token, struct session *out);
void session_drop(struct sessions *s, const char *token);
struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);
/* Seconds until a login for user from addr may be tried (0: now). */
double throttle_wait(struct throttle *t, const char *user, const char *addr);
/* Record a failed (ok = 0) or good login; returns the delay to add to a
 * failed answer. */
double throttle_note(struct throttle *t, const char *user, const char *addr, int ok);
/* Passwords are checked at most a few at once (Argon2id takes 64 MiB),
 * the throttle consulted and updated under the same lock, so parallel
 * tries cannot slip past a wait. */
void auth_lock(void);
void auth_unlock(void);
int auth_check(struct store *st, const char *name, const char *password, struct user *u);

/* watch.c: the deadline for a whole request (request_timeout). */
struct watch *watch_start(int slots, double limit);
void watch_stop(struct watch *w);
void watch_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode code);
void watch_busy(struct watch *w, struct MHD_Connection *c, int busy);

/* api.c */
MHD_RESULT api_handle(struct req *r);
/* static.c */
MHD_RESULT static_handle(struct req *r);
/* media.c */
MHD_RESULT media_handle(struct req *r);
json_object *media_cameras(struct server *s, struct store *st, const struct user *u);

#endif
