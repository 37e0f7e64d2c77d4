/* Replay endpoint of the relay: answers subscribers that missed alerts.
 *
 * A client (REQ or DEALER) sends one frame:
 *
 *     since <epoch> <seq> [prefix ...]
 *
 * and gets one multipart reply:
 *
 *     "alerts", topic, payload, topic, payload, ..., "end", {json}
 *
 * with the stored alerts after <seq> whose topic starts with one of the
 * prefixes (all when none), at most REPLAY_BATCH of them and about
 * REPLAY_MAX_BYTES. The end marker
 * carries instance, epoch, "seq" (the newest stored seq), "last" (the
 * newest seq this reply covers: when last < seq the client asks again
 * from last), "count" and "first" (the oldest seq still stored: older
 * alerts are past the journal's retention). An <epoch> that is not the journal's means the client's
 * position belongs to a lost journal, so the answer starts from the
 * oldest stored alert. Bad requests get "error", text; so do clients
 * asking faster than the rate limit allows. A CURVE client only ever
 * gets the topics its key may read (see zap.h). */
#ifndef VIGIL_REPLAY_H
#define VIGIL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "journal.h"

#define REPLAY_BATCH        500     /* alerts per reply */
#define REPLAY_SCAN         5000    /* journal rows examined per reply */
#define REPLAY_MAX_BYTES    (256 * 1024) /* topics and payloads per reply */
#define REPLAY_PEER_QUEUE   4       /* replies queued per peer, then dropped */
#define REPLAY_MAX_REQUEST  4096    /* bytes */
#define REPLAY_MAX_PREFIXES 16

struct replay;

struct replay *replay_new(const struct vigil_config *cfg);
void replay_free(struct replay *rp);

/* Set up the replay ROUTER before it binds: a small queue per peer, and
 * sends that fail rather than queue when it is full. 0 or -errno. */
int replay_socket(void *router);

/* Read and answer every request waiting on the ROUTER socket.
 * published is the newest seq published: more than the journal holds
 * while the relay holds alerts it could not journal yet (a position up
 * to it is this journal's, a later one is not). */
void replay_serve(struct replay *rp, void *router, struct journal *j, uint64_t published);

/* Parse a request. Returns 0, or -EINVAL with a reason in err. prefixes
 * point into buf, which is modified. */
int replay_parse(char *buf, int64_t *epoch, uint64_t *seq, const char **prefixes,
		 int *nprefixes, const char **err);

#endif
