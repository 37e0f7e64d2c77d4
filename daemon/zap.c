/* ZAP handler and CURVE server sockets; see zap.h. */
#include "zap.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "log.h"
#include "status.h"

/* Declared only under libzmq's draft API, honoured by 4.3 all the same. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define ZAP_MAX_CLIENTS 4096
#define ZAP_LOG_WINDOW_MS 10000   /* at most one refusal line a peer per window */
#define ZAP_LOG_PEERS 64          /* peers followed; the others share a slot */

struct zap_client {
	char name[128];
	unsigned char key[32];
};

/* Refusals of one peer (a client name or "a client from ADDR") since its
 * last log line: the first is logged, the rest only counted until the
 * window ends. */
struct zap_refusals {
	char peer[160];         /* "": slot free */
	int64_t since_ms;       /* the window started */
	unsigned long more;     /* refusals not logged in the window */
};

struct zap {
	const struct vigil_config *cfg;
	void *sock;             /* REP at inproc://zeromq.zap.01 */
	pthread_t thread;
	int running;
	struct zap_client *clients;
	size_t nclients;
	struct timespec dir_mtime;
	int loaded;
	/* Last slot: every peer that found the others taken. */
	struct zap_refusals refused[ZAP_LOG_PEERS + 1];
};

/* Log how many refusals a window hid; a window that hid some starts a
 * new one (the peer is still at it), one that hid none frees the slot. */
static void zap_refusals_flush(struct zap *z, int64_t now, int all)
{
	for (int i = 0; i <= ZAP_LOG_PEERS; i++) {
		struct zap_refusals *r = &z->refused[i];

		if (!r->peer[0] || (!all && now - r->since_ms < ZAP_LOG_WINDOW_MS))
			continue;
		if (r->more)
			log_warn(NULL, "curve: %lu more refusals of %s in the last %.0f s", r->more,
				 r->peer, (double)(now - r->since_ms) / 1000);
		if (r->more && !all) {
			r->since_ms = now;
			r->more = 0;
		} else {
			memset(r, 0, sizeof(*r));
		}
	}
}

/* Should the refusal of peer be logged now, or only counted? */
static int zap_refusal_logged(struct zap *z, const char *peer)
{
	int64_t now = status_now_ms();
	struct zap_refusals *r = NULL, *overflow = &z->refused[ZAP_LOG_PEERS];

	zap_refusals_flush(z, now, 0);
	for (int i = 0; i < ZAP_LOG_PEERS && !r; i++)
		if (strcmp(z->refused[i].peer, peer) == 0)
			r = &z->refused[i];
	for (int i = 0; i < ZAP_LOG_PEERS && !r; i++)
		if (!z->refused[i].peer[0]) {
			r = &z->refused[i];
			snprintf(r->peer, sizeof(r->peer), "%s", peer);
			r->since_ms = now;
			return 1;
		}
	if (!r && !overflow->peer[0]) {
		snprintf(overflow->peer, sizeof(overflow->peer), "other peers");
		overflow->since_ms = now;
		return 1;
	}
	if (!r)
		r = overflow;
	r->more++;
	return 0;
}

int zap_read_key(const char *path, char key[ZAP_KEY_Z85_LEN + 1])
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%40s", key) == 1 && strlen(key) == ZAP_KEY_Z85_LEN;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

int zap_server_socket(void *sock, const char *secret_z85, const char *domain)
{
	int one = 1;

	if (zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_z85, ZAP_KEY_Z85_LEN) < 0)
		return -errno;
	return 0;
}

/* Is name in the clients list of an endpoint? */
static int zap_named(const struct vigil_endpoint *ep, const char *name)
{
	for (size_t i = 0; i < ep->nclients; i++)
		if (strcmp(ep->clients[i], name) == 0)
			return 1;
	return 0;
}

static int zap_restricted(const struct vigil_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nendpoints; i++)
		if (zap_named(&cfg->endpoints[i], name))
			return 1;
	return 0;
}

int zap_client_may_read(const struct vigil_config *cfg, const char *client,
			const char *topic)
{
	int named = 0;

	if (!client || !*client)
		return 1;
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		const struct vigil_endpoint *ep = &cfg->endpoints[i];
		if (!zap_named(ep, client))
			continue;
		named = 1;
		if (ep->ntopics == 0)
			return 1;
		for (size_t j = 0; j < ep->ntopics; j++)
			if (strncmp(topic, ep->topics[j], strlen(ep->topics[j])) == 0)
				return 1;
	}
	return !named;
}

/* Does the domain admit the client called name? */
static int zap_domain_admits(const struct vigil_config *cfg, const char *domain,
			     const char *name)
{
	unsigned long n;
	char *end;

	if (strcmp(domain, "replay") == 0)
		return 1;
	if (strcmp(domain, "publish") == 0)
		return !zap_restricted(cfg, name);
	if (strncmp(domain, "ep", 2) != 0)
		return 0;
	n = strtoul(domain + 2, &end, 10);
	if (*end || n >= cfg->nendpoints)
		return 0;
	if (cfg->endpoints[n].nclients == 0)
		return !zap_restricted(cfg, name);
	return zap_named(&cfg->endpoints[n], name);
}

/* Read the *.pub files of the clients directory when it changed. */
static void zap_load_clients(struct zap *z)
{
	const char *dir = z->cfg->curve_clients_dir;
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (stat(dir, &st) < 0) {
		if (z->loaded || z->nclients)
			log_err(NULL, "curve: clients directory %s: %s; no client is allowed", dir,
				strerror(errno));
		z->nclients = 0;
		z->loaded = 0;
		return;
	}
	if (z->loaded && st.st_mtim.tv_sec == z->dir_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == z->dir_mtime.tv_nsec)
		return;
	d = opendir(dir);
	if (!d)
		return;
	z->nclients = 0;
	while ((de = readdir(d)) && z->nclients < ZAP_MAX_CLIENTS) {
		size_t len = strlen(de->d_name);
		struct zap_client *c = &z->clients[z->nclients];
		char path[4096], z85[ZAP_KEY_Z85_LEN + 1];

		if (len < 5 || len - 4 >= sizeof(c->name) || strcmp(de->d_name + len - 4, ".pub") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (zap_read_key(path, z85) < 0 || !zmq_z85_decode(c->key, z85)) {
			log_warn(NULL, "curve: %s is not a Z85 public key, ignoring", path);
			continue;
		}
		memcpy(c->name, de->d_name, len - 4);
		c->name[len - 4] = '\0';
		z->nclients++;
	}
	closedir(d);
	z->dir_mtime = st.st_mtim;
	z->loaded = 1;
	log_info(NULL, "curve: %zu client key(s) in %s", z->nclients, dir);
}

static const char *zap_lookup(struct zap *z, const unsigned char *key)
{
	zap_load_clients(z);
	for (size_t i = 0; i < z->nclients; i++)
		if (memcmp(z->clients[i].key, key, 32) == 0)
			return z->clients[i].name;
	return NULL;
}

/* Answer one ZAP request (RFC 27): version, request id, domain, address,
 * identity, mechanism, then credentials (one frame for CURVE, none for
 * NULL). */
static void zap_answer(struct zap *z, zmq_msg_t *f, int n)
{
	char domain[64] = "", mech[16] = "";
	const char *name = NULL, *status = "400", *text = "unknown key";

	if ((n == 6 || n == 7) && zmq_msg_size(&f[2]) < sizeof(domain) &&
	    zmq_msg_size(&f[5]) < sizeof(mech)) {
		memcpy(domain, zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
		memcpy(mech, zmq_msg_data(&f[5]), zmq_msg_size(&f[5]));
		if (strcmp(mech, "CURVE") == 0 && n == 7 && zmq_msg_size(&f[6]) == 32)
			name = zap_lookup(z, zmq_msg_data(&f[6]));
		if (strcmp(domain, ZAP_DOMAIN_WORKERS) == 0 && strcmp(mech, "NULL") == 0 && n == 6) {
			/* The workers' ipc socket: its file mode is the check. */
			status = "200";
			text = "OK";
		} else if (name && zap_domain_admits(z->cfg, domain, name)) {
			status = "200";
			text = "OK";
		} else if (name) {
			text = "client not allowed on this endpoint";
		}
	}
	if (strcmp(status, "200") != 0) {
		char addr[64] = "?", peer[160];
		if (n >= 4 && zmq_msg_size(&f[3]) < sizeof(addr)) {
			memcpy(addr, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
			addr[zmq_msg_size(&f[3])] = '\0';
		}
		snprintf(peer, sizeof(peer), "%s%s", name ? "client " : "a client from ",
			 name ? name : addr);
		if (zap_refusal_logged(z, peer))
			log_warn(NULL, "curve: refused %s on %s: %s", peer,
				 domain[0] ? domain : "?", text);
	}
	zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(z->sock, n >= 2 ? zmq_msg_data(&f[1]) : "", n >= 2 ? zmq_msg_size(&f[1]) : 0,
		 ZMQ_SNDMORE);
	zmq_send(z->sock, status, 3, ZMQ_SNDMORE);
	zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(z->sock, name && status[0] == '2' ? name : "",
		 name && status[0] == '2' ? strlen(name) : 0, ZMQ_SNDMORE);
	zmq_send(z->sock, "", 0, 0);
}

static void *zap_thread(void *arg)
{
	struct zap *z = arg;
	zmq_msg_t f[8];

	log_name_thread("zap", NULL);
	for (;;) {
		zmq_pollitem_t item = { .socket = z->sock, .events = ZMQ_POLLIN };
		int n = 0, more = 1, failed = 0;

		/* Wake at least once a second to report counted refusals. */
		if (zmq_poll(&item, 1, 1000) < 0 && errno == ETERM)
			break;
		zap_refusals_flush(z, status_now_ms(), 0);
		if (!(item.revents & ZMQ_POLLIN))
			continue;
		while (more) {
			zmq_msg_t *m = &f[n < 8 ? n : 7];
			if (n >= 8)
				zmq_msg_close(m);
			zmq_msg_init(m);
			if (zmq_msg_recv(m, z->sock, 0) < 0) {
				failed = errno;
				zmq_msg_close(m);
				break;
			}
			more = zmq_msg_more(m);
			if (n < 8)
				n++;
		}
		if (failed) {
			for (int i = 0; i < n; i++)
				zmq_msg_close(&f[i]);
			if (failed == ETERM)
				break;
			continue;
		}
		zap_answer(z, f, n);
		for (int i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
	}
	zap_refusals_flush(z, status_now_ms(), 1);
	zmq_close(z->sock);
	return NULL;
}

int zap_start(struct zap **zp, void *ctx, const struct vigil_config *cfg)
{
	struct zap *z = calloc(1, sizeof(*z));
	int linger = 0;

	*zp = NULL;
	if (!z || !(z->clients = calloc(ZAP_MAX_CLIENTS, sizeof(*z->clients)))) {
		free(z);
		return -ENOMEM;
	}
	z->cfg = cfg;
	z->sock = zmq_socket(ctx, ZMQ_REP);
	zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(z->sock, "inproc://zeromq.zap.01") < 0) {
		int e = errno;
		zmq_close(z->sock);
		free(z->clients);
		free(z);
		return -e;
	}
	zap_load_clients(z);
	if (pthread_create(&z->thread, NULL, zap_thread, z) != 0) {
		zmq_close(z->sock);
		free(z->clients);
		free(z);
		return -EAGAIN;
	}
	z->running = 1;
	*zp = z;
	return 0;
}

void zap_join(struct zap *z)
{
	if (!z)
		return;
	if (z->running)
		pthread_join(z->thread, NULL);
	free(z->clients);
	free(z);
}
