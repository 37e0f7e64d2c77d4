/* vigil-console's configuration file (libconfig); see docs/console.md. */
#include "console.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const site_names[SITE_COUNT] = { "key", "public", "normal" };

const char *site_name(enum site_class s)
{
	return s < SITE_COUNT ? site_names[s] : "normal";
}

int site_parse(const char *s)
{
	for (int i = 0; s && i < SITE_COUNT; i++)
		if (strcmp(s, site_names[i]) == 0)
			return i;
	return -1;
}

static int cconf_err(const char *path, config_setting_t *s, const char *what)
{
	fprintf(stderr, "%s:%d: %s\n", path, s ? config_setting_source_line(s) : 0, what);
	return -EINVAL;
}

/* A string setting, copied; def when absent. */
static int cconf_str(const char *path, config_setting_t *parent, const char *name,
		     const char *def, char **out)
{
	config_setting_t *s = config_setting_get_member(parent, name);

	if (!s) {
		*out = def ? strdup(def) : NULL;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s: expected a string", name);
		return cconf_err(path, s, msg);
	}
	*out = strdup(config_setting_get_string(s));
	return 0;
}

static int cconf_int(const char *path, config_setting_t *parent, const char *name, int def,
		     int min, int max, int *out)
{
	config_setting_t *s = config_setting_get_member(parent, name);
	char msg[128];

	*out = def;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT) {
		snprintf(msg, sizeof(msg), "%s: expected an integer", name);
		return cconf_err(path, s, msg);
	}
	*out = config_setting_get_int(s);
	if (*out < min || *out > max) {
		snprintf(msg, sizeof(msg), "%s: %d is out of range %d..%d", name, *out, min, max);
		return cconf_err(path, s, msg);
	}
	return 0;
}

/* "http://HOST:PORT" (a trailing slash allowed). */
static int cconf_http(struct console_node *n)
{
	const char *p;
	char *end;
	size_t hl;
	long port;

	if (strncmp(n->http, "http://", 7) != 0)
		return -1;
	p = n->http + 7;
	hl = strcspn(p, ":/");
	if (hl == 0 || hl >= sizeof(n->host) || p[hl] != ':')
		return -1;
	memcpy(n->host, p, hl);
	n->host[hl] = '\0';
	port = strtol(p + hl + 1, &end, 10);
	if (port < 1 || port > 65535 || (*end && strcmp(end, "/") != 0))
		return -1;
	n->port = (int)port;
	return 0;
}

int cconf_token(const struct console_node *n, char *buf, size_t size)
{
	FILE *f = n->token_file ? fopen(n->token_file, "r") : NULL;
	int ok;

	buf[0] = '\0';
	if (!f)
		return -errno;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\r\n \t")] = '\0';
	return ok && buf[0] ? 0 : -ENODATA;
}

/* The token is read at each request (vigild may make a new one); an
 * unreadable one now is worth a warning, not a refusal. */
static void cconf_check_token(const char *path, config_setting_t *s, struct console_node *n)
{
	char tok[256];
	int r = cconf_token(n, tok, sizeof(tok));

	if (r < 0)
		fprintf(stderr, "%s:%d: warning: node %s: cannot read token_file %s: %s; its clips "
			"and pictures are unavailable until it can\n", path,
			config_setting_source_line(s), n->name, n->token_file,
			r == -ENODATA ? "empty" : strerror(-r));
	explicit_bzero(tok, sizeof(tok));
}

static int cconf_node(const char *path, config_setting_t *s, struct console_config *c)
{
	struct console_node *n = &c->nodes[c->nnodes];
	char *name = NULL;
	int r = 0;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return cconf_err(path, s, "nodes: each node is a group { name = ...; alerts = ...; }");
	r |= cconf_str(path, s, "name", NULL, &name);
	r |= cconf_str(path, s, "alerts", NULL, &n->alerts);
	r |= cconf_str(path, s, "replay", NULL, &n->replay);
	r |= cconf_str(path, s, "server_key", NULL, &n->server_key);
	r |= cconf_str(path, s, "http", NULL, &n->http);
	r |= cconf_str(path, s, "token_file", NULL, &n->token_file);
	c->nnodes++;
	if (r) {
		free(name);
		return -EINVAL;
	}
	if (!name || !name_ok(name)) {
		free(name);
		return cconf_err(path, s, "node name: 1 to 32 letters, digits, _ or -");
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	free(name);
	for (int i = 0; i < c->nnodes - 1; i++)
		if (strcmp(c->nodes[i].name, n->name) == 0)
			return cconf_err(path, s, "node name used twice");
	if (!n->alerts)
		return cconf_err(path, s, "node: alerts (the publish endpoint) is required");
	if (n->server_key && !c->client_key)
		return cconf_err(path, s, "node: server_key needs client_key at the top level");
	if (n->http && cconf_http(n) < 0)
		return cconf_err(path, s, "node: http must be http://HOST:PORT");
	if (n->token_file)
		cconf_check_token(path, s, n);
	return 0;
}

/* cluster = { zookeeper = "h:p,..."; name = "default"; server_key; token_file; } */
static int cconf_cluster(const char *path, config_setting_t *s, struct console_config *c)
{
	struct console_cluster *k = &c->cluster;
	int r = 0;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return cconf_err(path, s, "cluster: a group { zookeeper = \"host:port,...\"; }");
	r |= cconf_str(path, s, "zookeeper", NULL, &k->zookeeper);
	r |= cconf_str(path, s, "name", "default", &k->name);
	r |= cconf_str(path, s, "server_key", NULL, &k->server_key);
	r |= cconf_str(path, s, "token_file", NULL, &k->token_file);
	if (r)
		return -EINVAL;
	if (!k->zookeeper || !k->zookeeper[0] || strchr(k->zookeeper, ' '))
		return cconf_err(path, s, "cluster: zookeeper = \"host:port,...\" is required");
	if (!name_ok(k->name))
		return cconf_err(path, s, "cluster: name: 1 to 32 letters, digits, _ or -");
	if (k->server_key && !c->client_key)
		return cconf_err(path, s, "cluster: server_key needs client_key at the top level");
	if (k->token_file) {
		struct console_node n = { .token_file = k->token_file };
		snprintf(n.name, sizeof(n.name), "(cluster)");
		cconf_check_token(path, s, &n);
	}
	return 0;
}

int cconf_add_member(struct console_config *c, const char *name, const char *alerts,
		     const char *replay, const char *http)
{
	int i = c->nnodes;
	struct console_node *n;

	if (!name_ok(name))
		return -EINVAL;
	for (int k = 0; k < i; k++)
		if (strcmp(c->nodes[k].name, name) == 0)
			return -EEXIST;
	if (i >= CONSOLE_MAX_NODES)
		return -ENOSPC;
	n = &c->nodes[i];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->alerts = strdup(alerts);
	n->replay = replay ? strdup(replay) : NULL;
	n->http = http ? strdup(http) : NULL;
	n->server_key = c->cluster.server_key ? strdup(c->cluster.server_key) : NULL;
	n->token_file = c->cluster.token_file ? strdup(c->cluster.token_file) : NULL;
	if (!n->alerts || (n->http && cconf_http(n) < 0)) {
		free(n->alerts);
		free(n->replay);
		free(n->http);
		free(n->server_key);
		free(n->token_file);
		memset(n, 0, sizeof(*n));
		return -EINVAL;
	}
	c->nnodes = i + 1;      /* publishes the node (atomic) */
	return 0;
}

int cconf_load(struct console_config *c, const char *path)
{
	config_setting_t *root, *listen, *targets, *nodes, *cluster;
	config_t lc;
	int r = 0;

	memset(c, 0, sizeof(*c));
	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		fprintf(stderr, "%s:%d: %s\n", config_error_file(&lc) ? config_error_file(&lc) : path,
			config_error_line(&lc), config_error_text(&lc));
		config_destroy(&lc);
		return -EINVAL;
	}
	root = config_root_setting(&lc);
	listen = config_setting_get_member(root, "listen");
	if (listen) {
		r |= cconf_str(path, listen, "bind", "127.0.0.1", &c->bind);
		r |= cconf_int(path, listen, "port", 8490, 1, 65535, &c->port);
		r |= cconf_str(path, listen, "tls_cert", "", &c->tls_cert);
		r |= cconf_str(path, listen, "tls_key", "", &c->tls_key);
		if (!r && !!c->tls_cert[0] != !!c->tls_key[0])
			r |= cconf_err(path, listen, "listen: tls_cert and tls_key go together");
	} else {
		c->bind = strdup("127.0.0.1");
		c->port = 8490;
		c->tls_cert = strdup("");
		c->tls_key = strdup("");
	}
	r |= cconf_str(path, root, "db", "/var/lib/vigil-console/console.db", &c->db);
	r |= cconf_str(path, root, "web_root", "/usr/share/vigil/web", &c->web_root);
	r |= cconf_str(path, root, "client_key", NULL, &c->client_key);
	r |= cconf_int(path, root, "max_streams", 200, 1, 10000, &c->max_sse);
	r |= cconf_int(path, root, "max_requests", 32, 1, 1000, &c->max_requests);
	r |= cconf_int(path, root, "request_timeout", 10, 1, 600, &c->request_timeout);
	targets = config_setting_get_member(root, "response_targets");
	c->targets[SITE_KEY] = 60;
	c->targets[SITE_PUBLIC] = 180;
	c->targets[SITE_NORMAL] = 600;
	if (targets)
		for (int i = 0; i < SITE_COUNT; i++)
			r |= cconf_int(path, targets, site_names[i], c->targets[i], 1, 86400 * 7,
				       &c->targets[i]);
	nodes = config_setting_get_member(root, "nodes");
	if (nodes && config_setting_type(nodes) != CONFIG_TYPE_LIST)
		r |= cconf_err(path, nodes, "nodes: a list ( { ... }, { ... } )");
	else if (nodes && config_setting_length(nodes) > CONSOLE_MAX_NODES)
		r |= cconf_err(path, nodes, "nodes: too many (at most 32)");
	else
		for (int i = 0; nodes && i < config_setting_length(nodes); i++)
			r |= cconf_node(path, config_setting_get_elem(nodes, (unsigned)i), c);
	cluster = config_setting_get_member(root, "cluster");
	if (cluster)
		r |= cconf_cluster(path, cluster, c);
	config_destroy(&lc);
	return r ? -EINVAL : 0;
}

void cconf_free(struct console_config *c)
{
	free(c->bind);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->db);
	free(c->web_root);
	free(c->client_key);
	free(c->cluster.zookeeper);
	free(c->cluster.name);
	free(c->cluster.server_key);
	free(c->cluster.token_file);
	for (int i = 0; i < c->nnodes; i++) {
		struct console_node *n = &c->nodes[i];
		free(n->alerts);
		free(n->replay);
		free(n->server_key);
		free(n->http);
		free(n->token_file);
	}
	memset(c, 0, sizeof(*c));
}
