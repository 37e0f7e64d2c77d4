/* The loaded configuration as data: freeing it, copying and comparing
 * cameras (for reloads), and what is asked of it (worker count, the
 * cameras of this node's shard). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_detect.h"
#include "shard.h"

static void cfg_camera_free(struct vigil_camera *c)
{
	free(c->id);
	free(c->name);
	free(c->district);
	free(c->grid);
	free(c->site);
	free(c->url);
	free(c->detect_url);
	free(c->record_url);
	free(c->transport);
	free(c->analysis_mode);
	cfg_camera_free_detect(c);
}

void config_free(struct vigil_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->ncameras; i++)
		cfg_camera_free(&cfg->cameras[i]);
	cfg_camera_free(&cfg->defaults);
	free(cfg->cameras);
	free(cfg->file);
	free(cfg->instance);
	free(cfg->data_dir);
	free(cfg->plugin_dir);
	free(cfg->publish);
	free(cfg->replay);
	free(cfg->curve_secret_key_file);
	free(cfg->curve_clients_dir);
	free(cfg->http_bind);
	free(cfg->http_token_file);
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		struct vigil_endpoint *ep = &cfg->endpoints[i];
		for (size_t j = 0; j < ep->nclients; j++)
			free(ep->clients[j]);
		for (size_t j = 0; j < ep->ntopics; j++)
			free(ep->topics[j]);
		free(ep->clients);
		free(ep->topics);
		free(ep->bind);
	}
	free(cfg->endpoints);
	free(cfg->recording.quota);
	free(cfg->zk_hosts);
	free(cfg->zk_node);
	free(cfg->zk_cluster);
	memset(cfg, 0, sizeof(*cfg));
}

int config_worker_count(const struct vigil_config *cfg)
{
	long n = cfg->workers;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	return (int)n;
}

int config_camera_local(const struct vigil_config *cfg, size_t i)
{
	return config_zk_mode(cfg) || cfg->nodes <= 1 || shard_owner(cfg->cameras[i].id, cfg->nodes) == cfg->node;
}

size_t config_local_count(const struct vigil_config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->ncameras; i++)
		n += config_camera_local(cfg, i) != 0;
	return n;
}

static int cfg_str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int cfg_strings_equal(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!cfg_str_equal(a[i], b[i]))
			return 0;
	return 1;
}

int config_relay_equal(const struct vigil_config *a, const struct vigil_config *b)
{
	if (!cfg_str_equal(a->publish, b->publish) || !cfg_str_equal(a->replay, b->replay) ||
	    !cfg_str_equal(a->instance, b->instance) || !cfg_str_equal(a->data_dir, b->data_dir) ||
	    !cfg_str_equal(a->curve_secret_key_file, b->curve_secret_key_file) ||
	    !cfg_str_equal(a->curve_clients_dir, b->curve_clients_dir) ||
	    a->insecure != b->insecure || a->journal_days != b->journal_days ||
	    a->nendpoints != b->nendpoints)
		return 0;
	for (size_t i = 0; i < a->nendpoints; i++) {
		const struct vigil_endpoint *x = &a->endpoints[i], *y = &b->endpoints[i];
		if (!cfg_str_equal(x->bind, y->bind) ||
		    !cfg_strings_equal(x->clients, x->nclients, y->clients, y->nclients) ||
		    !cfg_strings_equal(x->topics, x->ntopics, y->topics, y->ntopics))
			return 0;
	}
	return 1;
}

int config_camera_equal(const struct vigil_camera *a, const struct vigil_camera *b)
{
	return cfg_str_equal(a->id, b->id) && cfg_str_equal(a->name, b->name) &&
	       cfg_str_equal(a->district, b->district) && cfg_str_equal(a->grid, b->grid) &&
	       cfg_str_equal(a->site, b->site) && cfg_str_equal(a->url, b->url) &&
	       cfg_str_equal(a->detect_url, b->detect_url) &&
	       cfg_str_equal(a->record_url, b->record_url) &&
	       cfg_str_equal(a->transport, b->transport) &&
	       cfg_str_equal(a->analysis_mode, b->analysis_mode) &&
	       a->open_timeout == b->open_timeout && a->read_timeout == b->read_timeout &&
	       a->loop == b->loop && a->pace == b->pace && a->analysis_fps == b->analysis_fps &&
	       a->analysis_width == b->analysis_width && a->analysis_hold == b->analysis_hold &&
	       a->analysis_skip_repeats == b->analysis_skip_repeats &&
	       a->max_width == b->max_width && a->max_height == b->max_height &&
	       a->recording.pre_seconds == b->recording.pre_seconds &&
	       a->recording.post_seconds == b->recording.post_seconds &&
	       a->recording.max_seconds == b->recording.max_seconds &&
	       cfg_camera_detect_equal(a, b);
}

static char *cfg_dup_or_null(const char *s, int *failed)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*failed = 1;
	return d;
}

struct vigil_camera *config_camera_dup(const struct vigil_camera *c)
{
	struct vigil_camera *d = calloc(1, sizeof(*d));
	int failed = 0;

	if (!d)
		return NULL;
	d->id = cfg_dup_or_null(c->id, &failed);
	d->name = cfg_dup_or_null(c->name, &failed);
	d->district = cfg_dup_or_null(c->district, &failed);
	d->grid = cfg_dup_or_null(c->grid, &failed);
	d->site = cfg_dup_or_null(c->site, &failed);
	d->url = cfg_dup_or_null(c->url, &failed);
	d->detect_url = cfg_dup_or_null(c->detect_url, &failed);
	d->record_url = cfg_dup_or_null(c->record_url, &failed);
	d->transport = cfg_dup_or_null(c->transport, &failed);
	d->analysis_mode = cfg_dup_or_null(c->analysis_mode, &failed);
	d->open_timeout = c->open_timeout;
	d->read_timeout = c->read_timeout;
	d->loop = c->loop;
	d->pace = c->pace;
	d->analysis_fps = c->analysis_fps;
	d->analysis_width = c->analysis_width;
	d->analysis_hold = c->analysis_hold;
	d->analysis_skip_repeats = c->analysis_skip_repeats;
	d->max_width = c->max_width;
	d->max_height = c->max_height;
	memcpy(d->owner_node, c->owner_node, sizeof(d->owner_node));
	d->owner_epoch = c->owner_epoch;
	d->recording = c->recording;
	d->recording.quota = NULL;      /* global only */
	d->line = c->line;
	if (cfg_camera_dup_detect(d, c) < 0)
		failed = 1;
	if (failed) {
		config_camera_free(d);
		return NULL;
	}
	return d;
}

void config_camera_free(struct vigil_camera *c)
{
	if (!c)
		return;
	cfg_camera_free(c);
	free(c);
}
