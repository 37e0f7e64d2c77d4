/* A worker's running cameras; see camset.h. */
#include "camset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shard.h"

int camset_wants(const struct camset_filter *f, const struct vigil_config *cfg, size_t i)
{
	const char *id = cfg->cameras[i].id;

	if (!config_camera_local(cfg, i))
		return 0;
	if (f->owned && !owned_epoch(f->owned, id))
		return 0;
	if (f->isolate)
		return strcmp(f->isolate, id) == 0;
	for (size_t k = 0; k < f->nexcluded; k++)
		if (strcmp(f->excluded[k], id) == 0)
			return 0;
	return shard_owner(id, f->count) == f->index;
}

/* Stop a camera, then what it fed: the record-stream reader and the
 * recorder (which closes the open clip). */
static void camset_entry_free(struct camset_entry *e)
{
	if (!e)
		return;
	camera_stop(&e->cam);
	recreader_stop(e->reader);
	recorder_stop(e->rec);
	status_slot_release(e->slot);
	config_camera_free(e->conf);
	free(e);
}

static int camset_start(struct camset *s, const struct vigil_camera *def,
			const struct camset_filter *f)
{
	struct camset_entry *e = calloc(1, sizeof(*e));

	if (!e || !(e->conf = config_camera_dup(def))) {
		free(e);
		log_err(def->id, "cannot start camera: out of memory");
		return -1;
	}
	if (f->owned) {
		e->conf->owner_epoch = owned_epoch(f->owned, def->id);
		snprintf(e->conf->owner_node, sizeof(e->conf->owner_node), "%s",
			 f->node ? f->node : "");
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct camset_entry **items = realloc(s->items, cap * sizeof(*items));
		if (!items) {
			camset_entry_free(e);
			return -1;
		}
		s->items = items;
		s->cap = cap;
	}
	if (s->page && !(e->slot = status_slot_claim(s->page, def->id)))
		log_warn(def->id, "status page full, camera not reported");
	if (recorder_start(&e->rec, e->conf, s->data_dir) < 0)
		e->rec = NULL;
	if (camera_start(&e->cam, e->conf, s->plugin_dir, s->data_dir, s->alerts, e->rec,
			 e->slot) < 0) {
		camset_entry_free(e);
		return -1;
	}
	/* A separate record stream gets its own reader. */
	if (e->rec && strcmp(e->conf->record_url, e->conf->detect_url) != 0)
		recreader_start(&e->reader, e->conf, e->rec);
	s->items[s->n++] = e;
	return 0;
}

/* Index of the wanted camera of cfg with this id, or -1. */
static long camset_find(const struct vigil_config *cfg, const struct camset_filter *f,
			const char *id)
{
	for (size_t i = 0; i < cfg->ncameras; i++)
		if (strcmp(cfg->cameras[i].id, id) == 0)
			return camset_wants(f, cfg, i) ? (long)i : -1;
	return -1;
}

static int camset_running(const struct camset *s, const char *id)
{
	for (size_t k = 0; k < s->n; k++)
		if (strcmp(s->items[k]->conf->id, id) == 0)
			return 1;
	return 0;
}

/* Wait for the given cameras (already asked to stop) and free them,
 * keeping the heartbeat going: stopping hundreds takes a while. */
static void camset_reap(struct camset *s, struct camset_entry **doomed, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		camset_entry_free(doomed[k]);
		status_beat(s->page);
	}
}

int camset_apply(struct camset *s, const struct vigil_config *cfg,
		 const struct camset_filter *f)
{
	size_t kept = 0, added = 0, removed = 0, changed = 0, w = 0, nd = 0;
	struct camset_entry **doomed = calloc(s->n + 1, sizeof(*doomed));

	/* Stop what is gone or changed, compacting the array. All of them
	 * are asked first, so that they wind down in parallel. */
	for (size_t k = 0; k < s->n; k++) {
		struct camset_entry *e = s->items[k];
		long i = camset_find(cfg, f, e->conf->id);

		/* A camera claimed again (a new epoch) starts afresh. */
		if (i >= 0 && config_camera_equal(e->conf, &cfg->cameras[i]) &&
		    (!f->owned || owned_epoch(f->owned, e->conf->id) == e->conf->owner_epoch)) {
			s->items[w++] = e;
			kept++;
			continue;
		}
		log_info(e->conf->id, i < 0 ? "removed, stopping" : "changed, restarting");
		if (i < 0)
			removed++;
		else
			changed++;
		camera_request_stop(&e->cam);
		if (doomed)
			doomed[nd++] = e;
		else
			camset_entry_free(e);   /* out of memory: one at a time */
	}
	s->n = w;
	camset_reap(s, doomed, nd);
	free(doomed);
	for (size_t i = 0; i < cfg->ncameras; i++) {
		if (!camset_wants(f, cfg, i) || camset_running(s, cfg->cameras[i].id))
			continue;
		if (camset_start(s, &cfg->cameras[i], f) == 0)
			added++;
	}
	added -= changed < added ? changed : added;
	log_info(NULL, "running %zu camera(s): %zu unchanged, %zu added, %zu removed, %zu restarted",
		 s->n, kept, added, removed, changed);
	return (int)(added + removed + changed);
}

static unsigned camset_rate_milli(unsigned long long now, unsigned long long prev,
				  long long ms)
{
	return ms > 0 && now >= prev ? (unsigned)((now - prev) * 1000000ULL / (unsigned long long)ms) : 0;
}

void camset_publish(struct camset *s)
{
	long long now = status_now_ms(), ms = s->sampled_ms ? now - s->sampled_ms : 0;

	for (size_t k = 0; k < s->n; k++) {
		struct camset_entry *e = s->items[k];
		const struct camera_stats *st = &e->cam.stats;
		struct status_slot *sl = e->slot;
		unsigned long long pk = atomic_load(&st->packets_in);
		unsigned long long an = atomic_load(&e->cam.an.frames_analysed);
		unsigned long long by = atomic_load(&st->bytes_in);

		if (!sl)
			continue;
		atomic_store(&sl->state, atomic_load(&st->state));
		atomic_store(&sl->packets, pk);
		atomic_store(&sl->frames_decoded, atomic_load(&st->frames_decoded));
		atomic_store(&sl->frames_analysed, an);
		atomic_store(&sl->bytes, by);
		atomic_store(&sl->decode_us, atomic_load(&st->decode_us));
		atomic_store(&sl->reconnects, atomic_load(&st->reconnects));
		for (int l = 0; l < e->cam.an.anomaly.nlines && l < STATUS_MAX_LINES; l++)
			for (int d = 0; d < 2; d++)
				atomic_store(&sl->crossings[l][d],
					     atomic_load(&e->cam.an.anomaly.lines[l].total[d]));
		atomic_store(&sl->gated_us, atomic_load(&st->gated_us));
		atomic_store(&sl->gate_open, atomic_load(&st->gate_open));
		atomic_store(&sl->watched_us, atomic_load(&st->watched_us));
		atomic_store(&sl->gate_openings, atomic_load(&st->openings));
		atomic_store(&sl->catchup_us, atomic_load(&st->catchup_us));
		atomic_store(&sl->catchup_median_us, atomic_load(&st->catchup_median_us));
		if (ms > 0) {
			atomic_store(&sl->fps_in_milli, camset_rate_milli(pk, e->prev_packets, ms));
			atomic_store(&sl->fps_an_milli, camset_rate_milli(an, e->prev_analysed, ms));
			atomic_store(&sl->kbps, camset_rate_milli(by, e->prev_bytes, ms) * 8 / 1000000);
		}
		e->prev_packets = pk;
		e->prev_analysed = an;
		e->prev_bytes = by;
		status_slot_set_text(sl, st->last_error, e->cam.an.engine.last_alert);
	}
	s->sampled_ms = now;
}

void camset_log_stats(const struct camset *s, double secs)
{
	for (size_t k = 0; k < s->n; k++) {
		const struct camera *c = &s->items[k]->cam;
		const struct camera_stats *st = &c->stats;
		unsigned long dec = atomic_load(&st->frames_decoded);
		log_info(c->conf->id,
			 "stats: %s, packets %lu, decoded %lu, analysed %lu, corrupt %lu, "
			 "repeats %lu, %.2f ms/frame, %.0f kbit/s, reconnects %lu, clip packets dropped %lu%s%s",
			 camera_state_name(atomic_load(&st->state)),
			 atomic_load(&st->packets_in), dec,
			 atomic_load(&c->an.frames_analysed), atomic_load(&c->an.frames_corrupt),
			 atomic_load(&c->an.frames_repeated),
			 dec ? (double)atomic_load(&st->decode_us) / 1000.0 / (double)dec : 0.0,
			 secs > 0 ? (double)atomic_load(&st->bytes_in) * 8 / 1000 / secs : 0.0,
			 atomic_load(&st->reconnects), recorder_dropped(s->items[k]->rec),
			 st->last_error[0] ? ", last error: " : "",
			 st->last_error);
	}
}

void camset_free(struct camset *s)
{
	if (!s)
		return;
	for (size_t k = 0; k < s->n; k++)
		camera_request_stop(&s->items[k]->cam);
	camset_reap(s, s->items, s->n);
	free(s->items);
	s->items = NULL;
	s->n = s->cap = 0;
}
