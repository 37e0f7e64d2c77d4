/* CURVE security of the relay's TCP endpoints: keys and the ZAP handler.
 *
 * Every CURVE server socket gets a ZAP domain and ZMQ_ZAP_ENFORCE_DOMAIN,
 * so that libzmq refuses clients when no handler answers (without it, a
 * CURVE server with no handler accepts any key). The handler runs in its
 * own thread, bound at inproc://zeromq.zap.01 in the relay's context
 * before any server socket exists. It allows a client when its public
 * key is one of the "*.pub" files of the clients directory and the
 * domain admits that client:
 *
 *   "publish"  every key not named in some alerts.endpoints clients list
 *   "replay"   every key (replay applies the client's topic restriction)
 *   "ep<N>"    the keys named in alerts.endpoints #N's clients (or, when
 *              it names none, the same keys as "publish")
 *
 * The user id of an allowed client is its key file's name, without
 * ".pub". The directory is read again when it changes, so adding or
 * removing a .pub file takes effect at the next connection.
 *
 * Refusals are logged at once for a peer the handler has not refused in
 * the last 10 s; later ones within those 10 s are counted and reported
 * in one line when the window ends (or at shutdown), so a client that
 * reconnects in a loop cannot flood the log. */
#ifndef VIGIL_ZAP_H
#define VIGIL_ZAP_H

#include <stddef.h>

#include "config.h"

#define ZAP_KEY_Z85_LEN 40

/* Domain of the workers' ipc socket. With a handler present libzmq may
 * ask it about NULL-mechanism peers too; in this domain they are allowed
 * (the socket file's mode decides who connects), in no other. */
#define ZAP_DOMAIN_WORKERS "workers"

struct zap;

/* Bind the handler in ctx and start its thread. Returns 0 or -errno. */
int zap_start(struct zap **zp, void *ctx, const struct vigil_config *cfg);
/* Join the handler; call after zmq_ctx_term() of its context. */
void zap_join(struct zap *z);

/* Make sock a CURVE server with this secret key (Z85) in domain. */
int zap_server_socket(void *sock, const char *secret_z85, const char *domain);

/* Read the first Z85 key (40 characters) of a key file. */
int zap_read_key(const char *path, char key[ZAP_KEY_Z85_LEN + 1]);

/* May this client (a user id; NULL or "" for an unauthenticated local
 * peer) receive this topic? A client named by endpoints receives the
 * union of their topics; other clients receive everything. */
int zap_client_may_read(const struct vigil_config *cfg, const char *client,
			const char *topic);

#endif
