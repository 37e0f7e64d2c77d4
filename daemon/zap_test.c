/* Tests of the CURVE server setup: without a ZAP handler nobody gets in
 * (libzmq alone would accept any key); with the handler, a key from the
 * clients directory does, and a key that is not there does not. Real
 * sockets on loopback TCP. */
#include "zap.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "testing.h"

struct keys {
	char pub[41], sec[41];
};

/* Publish for up to ms milliseconds; returns 1 as soon as the client
 * receives a message, 0 when it never does. */
static int delivered(void *pub, void *sub, int ms)
{
	for (int waited = 0; waited < ms; waited += 50) {
		zmq_pollitem_t item = { .socket = sub, .events = ZMQ_POLLIN };
		char buf[16];

		zmq_send(pub, "hb", 2, ZMQ_DONTWAIT);
		if (zmq_poll(&item, 1, 50) > 0 && zmq_recv(sub, buf, sizeof(buf), 0) >= 0)
			return 1;
	}
	return 0;
}

/* A CURVE server PUB in ctx (domain "publish") and a client SUB with
 * the given key, connected to it. */
static void pair(void *ctx, const struct keys *server, const struct keys *client,
		 void **pub, void **sub)
{
	char ep[128];
	size_t len = sizeof(ep);
	int zero = 0;

	*pub = zmq_socket(ctx, ZMQ_PUB);
	zmq_setsockopt(*pub, ZMQ_LINGER, &zero, sizeof(zero));
	CHECK(zap_server_socket(*pub, server->sec, "publish") == 0);
	CHECK(zmq_bind(*pub, "tcp://127.0.0.1:*") == 0);
	zmq_getsockopt(*pub, ZMQ_LAST_ENDPOINT, ep, &len);
	*sub = zmq_socket(ctx, ZMQ_SUB);
	zmq_setsockopt(*sub, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(*sub, ZMQ_CURVE_SERVERKEY, server->pub, 40);
	zmq_setsockopt(*sub, ZMQ_CURVE_PUBLICKEY, client->pub, 40);
	zmq_setsockopt(*sub, ZMQ_CURVE_SECRETKEY, client->sec, 40);
	zmq_setsockopt(*sub, ZMQ_SUBSCRIBE, "", 0);
	CHECK(zmq_connect(*sub, ep) == 0);
}

static void test_no_handler_fails_closed(void)
{
	struct keys server, client;
	void *ctx = zmq_ctx_new(), *pub, *sub;

	zmq_curve_keypair(server.pub, server.sec);
	zmq_curve_keypair(client.pub, client.sec);
	pair(ctx, &server, &client, &pub, &sub);
	CHECK(!delivered(pub, sub, 1500));
	zmq_close(pub);
	zmq_close(sub);
	zmq_ctx_term(ctx);
}

static void test_handler_checks_the_directory(void)
{
	char dir[] = "/tmp/vigil-zap-test-XXXXXX", path[256];
	struct vigil_config cfg = { 0 };
	struct keys server, allowed, unknown;
	void *ctx = zmq_ctx_new(), *pub, *sub, *pub2, *sub2;
	struct zap *z = NULL;
	FILE *f;

	zmq_curve_keypair(server.pub, server.sec);
	zmq_curve_keypair(allowed.pub, allowed.sec);
	zmq_curve_keypair(unknown.pub, unknown.sec);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/room.pub", dir);
	f = fopen(path, "w");
	fprintf(f, "%s\n", allowed.pub);
	fclose(f);
	cfg.curve_clients_dir = dir;
	CHECK(zap_start(&z, ctx, &cfg) == 0);
	pair(ctx, &server, &allowed, &pub, &sub);
	pair(ctx, &server, &unknown, &pub2, &sub2);
	CHECK(delivered(pub, sub, 5000));
	CHECK(!delivered(pub2, sub2, 1000));
	zmq_close(pub);
	zmq_close(sub);
	zmq_close(pub2);
	zmq_close(sub2);
	zmq_ctx_term(ctx);
	zap_join(z);
	unlink(path);
	rmdir(dir);
}

static void test_topic_rules(void)
{
	char *clients[] = { "patrol1" }, *topics[] = { "alert.critical.x." };
	struct vigil_endpoint ep = { .bind = "tcp://127.0.0.1:1", .clients = clients,
				     .nclients = 1, .topics = topics, .ntopics = 1 };
	struct vigil_config cfg = { .endpoints = &ep, .nendpoints = 1 };

	CHECK(zap_client_may_read(&cfg, "patrol1", "alert.critical.x.g1.c1.motion"));
	CHECK(!zap_client_may_read(&cfg, "patrol1", "alert.high.x.g1.c1.motion"));
	CHECK(!zap_client_may_read(&cfg, "patrol1", "alert.critical.y.g1.c1.motion"));
	CHECK(zap_client_may_read(&cfg, "room", "alert.high.y.g1.c1.motion"));
	CHECK(zap_client_may_read(&cfg, NULL, "alert.high.y.g1.c1.motion"));
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_no_handler_fails_closed),
		TEST(test_handler_checks_the_directory),
		TEST(test_topic_rules),
		{ NULL, NULL }
	};
	return test_run("zap", cases);
}
