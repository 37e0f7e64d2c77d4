/* The HTTP API (docs/http.md): what the monitoring-room console reads
 * from a vigild. GET and HEAD only, every request with the bearer token
 * of http.token_file:
 *
 *   /api/v1/cameras                      the cameras and their state
 *   /api/v1/clips?camera=&from=&to=&limit=   the clip index, newest first
 *   /clips/<path>                        a clip (video/mp4) or snapshot
 *                                        (image/jpeg), with byte ranges
 *   /api/v1/cameras/<id>/picture.jpg     the camera's next analysed picture
 *
 * It runs in the supervisor's loop (see httpd.h). A picture is asked of
 * the worker through the camera's status slot (status.h): the camera
 * thread writes DATA_DIR/pictures/<id>.jpg from its next analysed frame
 * and says so; the request waits suspended, never holding the loop, for
 * at most HTTPAPI_PICTURE_MS. Nothing is done while nobody asks. */
#ifndef VIGIL_HTTPAPI_H
#define VIGIL_HTTPAPI_H

#include "config.h"
#include "status.h"

/* How long a picture request waits for the camera's next analysed frame. */
#define HTTPAPI_PICTURE_MS 2000
/* Idle timeout of a connection that is sent a file: a player that
 * stops reading for a while (its buffer is full) keeps its connection. */
#define HTTPAPI_FILE_IDLE_SECONDS 30
/* Deadline for a request's headers (from the accept, or the end of the
 * previous reply). */
#define HTTPAPI_DEADLINE_MS 10000
#define HTTPAPI_IDLE_SECONDS 5
/* Longest clip path accepted (the index keeps fewer bytes). */
#define HTTPAPI_PATH_MAX 255
#define HTTPAPI_LIMIT_DEFAULT 100
#define HTTPAPI_LIMIT_MAX 1000

/* What the API needs of the supervisor; lent for the API's lifetime. */
struct httpapi_host {
	const struct vigil_config *cfg;   /* current (changes on reload) */
	/* The /api/v1/cameras body (malloc'd JSON), NULL on failure. */
	char *(*cameras)(void *arg);
	/* The status slot of a camera a running child reports, or NULL. */
	struct status_slot *(*slot)(void *arg, const char *camera);
	void *arg;
};

struct httpapi;

/* Load (or create) the token and listen on http.bind:http.port. NULL
 * (logged) when off or on failure: the daemon runs on without the API. */
struct httpapi *httpapi_open(const struct httpapi_host *host);
int httpapi_pollfd(const struct httpapi *a);
/* Serve what is ready and answer pictures that came in or timed out. */
void httpapi_run(struct httpapi *a);
/* How soon the loop should call httpapi_run again, in ms: -1 when it may
 * sleep, 0 while a reply can go out at once, a few ms while pictures are
 * awaited. */
int httpapi_timeout_ms(const struct httpapi *a);
/* Takes NULL. */
void httpapi_close(struct httpapi *a);

/* The token file's path for cfg, in buf. */
void httpapi_token_path(const struct vigil_config *cfg, char *buf, size_t len);
/* Read the token of path into tok (NUL-terminated), creating the file
 * (64 hex digits, mode 0600) when missing. Returns 0, or -1 with the
 * reason in why: not a regular file, not the daemon user's, readable or
 * writable by others, no token in it. */
int httpapi_token_load(const char *path, char *tok, size_t len, char *why, size_t whylen);

#endif
