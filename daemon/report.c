/* Status reports; see report.h. */
#include "report.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One camera's figures, gathered from whichever child runs it. */
struct report_cam {
	const char *id;
	const struct report_child *child;   /* NULL: not running */
	const char *state;
	double fps_in, fps_analysed, decode_ms, kbps;
	int gated;                          /* the camera runs in "gated" mode */
	double gated_share, openings_per_hour, catchup_ms, catchup_median_ms;
	unsigned long long openings;
	int gate_open;
	unsigned long long packets, decoded, analysed, bytes, decode_us, reconnects;
	unsigned long long crossings[STATUS_MAX_LINES][2];
	struct status_text text;
};

/* The gate's figures of a slot ("gated" mode): share of the watched
 * stream time spent gated, openings per hour of it, catch-up times. */
static void report_gate(struct status_slot *sl, struct report_cam *rc)
{
	unsigned long long watched = atomic_load(&sl->watched_us);

	rc->openings = atomic_load(&sl->gate_openings);
	rc->gate_open = atomic_load(&sl->gate_open);
	rc->gated_share = watched ? (double)atomic_load(&sl->gated_us) / (double)watched : 0;
	rc->openings_per_hour = watched ? (double)rc->openings * 3.6e9 / (double)watched : 0;
	rc->catchup_ms = atomic_load(&sl->catchup_us) / 1000.0;
	rc->catchup_median_ms = atomic_load(&sl->catchup_median_us) / 1000.0;
}

static void report_camera(const struct report_view *v, const char *id, struct report_cam *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->id = id;
	rc->state = "stopped";
	for (int i = 0; i < v->nkids; i++) {
		const struct report_child *ch = &v->kids[i];
		unsigned n = atomic_load(&ch->page->nslots);
		if (ch->pid <= 0)
			continue;
		for (unsigned k = 0; k < n && k < ch->page->capacity; k++) {
			struct status_slot *sl = &ch->page->slots[k];
			if (!atomic_load(&sl->used) || strcmp(sl->id, id) != 0)
				continue;
			rc->child = ch;
			rc->state = camera_state_name(atomic_load(&sl->state));
			rc->fps_in = atomic_load(&sl->fps_in_milli) / 1000.0;
			rc->fps_analysed = atomic_load(&sl->fps_an_milli) / 1000.0;
			rc->kbps = atomic_load(&sl->kbps);
			rc->packets = atomic_load(&sl->packets);
			rc->decoded = atomic_load(&sl->frames_decoded);
			rc->analysed = atomic_load(&sl->frames_analysed);
			rc->bytes = atomic_load(&sl->bytes);
			rc->decode_us = atomic_load(&sl->decode_us);
			rc->reconnects = atomic_load(&sl->reconnects);
			for (int l = 0; l < STATUS_MAX_LINES; l++)
				for (int d = 0; d < 2; d++)
					rc->crossings[l][d] = atomic_load(&sl->crossings[l][d]);
			rc->decode_ms = rc->decoded ? rc->decode_us / 1000.0 / (double)rc->decoded : 0;
			report_gate(sl, rc);
			status_slot_get_text(sl, &rc->text);
			return;
		}
	}
}

/* A number with two decimals, printed as such (not 1.8200000000000001). */
static json_object *report_num(double v)
{
	char text[32];

	snprintf(text, sizeof(text), "%.2f", v);
	return json_object_new_double_s(v, text);
}

static json_object *report_str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

/* The time of last_alert ("motion start 2026-01-01T00:00:00.000Z"): its
 * last word; NULL when there is none. */
static json_object *report_alert_ts(const char *last_alert)
{
	const char *sp = strrchr(last_alert, ' ');

	return sp && sp[1] ? json_object_new_string(sp + 1) : NULL;
}

char *report_api_cameras(const struct report_view *v)
{
	json_object *o = json_object_new_object(), *cams = json_object_new_array();
	char *out;

	json_object_object_add(o, "instance", json_object_new_string(v->cfg->instance));
	for (size_t i = 0; i < v->cfg->ncameras; i++) {
		const struct vigil_camera *cam = &v->cfg->cameras[i];
		struct report_cam rc;
		json_object *c;
		if (!config_camera_local(v->cfg, i))
			continue;
		report_camera(v, cam->id, &rc);
		c = json_object_new_object();
		json_object_object_add(c, "id", json_object_new_string(cam->id));
		json_object_object_add(c, "name", report_str_or_null(cam->name));
		json_object_object_add(c, "district", report_str_or_null(cam->district));
		json_object_object_add(c, "grid", report_str_or_null(cam->grid));
		json_object_object_add(c, "site", report_str_or_null(cam->site));
		json_object_object_add(c, "state", json_object_new_string(rc.state));
		json_object_object_add(c, "fps", report_num(rc.fps_in));
		json_object_object_add(c, "fps_analysed", report_num(rc.fps_analysed));
		json_object_object_add(c, "kbps", report_num(rc.kbps));
		json_object_object_add(c, "reconnects", json_object_new_int64((int64_t)rc.reconnects));
		json_object_object_add(c, "last_alert", report_str_or_null(rc.text.last_alert));
		json_object_object_add(c, "last_alert_ts", report_alert_ts(rc.text.last_alert));
		json_object_object_add(c, "last_error", report_str_or_null(rc.text.last_error));
		json_object_array_add(cams, c);
	}
	json_object_object_add(o, "cameras", cams);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* A camera's lines and their crossings by direction since it started. */
static void report_lines(json_object *c, const struct vigil_camera *cam,
			 const struct report_cam *rc)
{
	json_object *lines;

	if (!cam->nlines)
		return;
	lines = json_object_new_array();
	for (int l = 0; l < cam->nlines && l < STATUS_MAX_LINES; l++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(cam->lines[l].name));
		json_object_object_add(o, "a_b", json_object_new_int64((int64_t)rc->crossings[l][0]));
		json_object_object_add(o, "b_a", json_object_new_int64((int64_t)rc->crossings[l][1]));
		json_object_array_add(lines, o);
	}
	json_object_object_add(c, "lines", lines);
}

char *report_json(const struct report_view *v)
{
	json_object *o = json_object_new_object(), *kids = json_object_new_array();
	json_object *cams = json_object_new_array();
	long long now = status_now_ms();
	char *out;

	json_object_object_add(o, "instance", json_object_new_string(v->cfg->instance));
	json_object_object_add(o, "node", json_object_new_int(v->cfg->node));
	json_object_object_add(o, "nodes", json_object_new_int(v->cfg->nodes));
	json_object_object_add(o, "uptime_s", json_object_new_int64((now - v->started_ms) / 1000));
	json_object_object_add(o, "ready", json_object_new_boolean(v->ready));
	for (int i = 0; i < v->nkids; i++) {
		const struct report_child *ch = &v->kids[i];
		json_object *k = json_object_new_object();
		json_object_object_add(k, "role", json_object_new_string(ch->role));
		json_object_object_add(k, "pid", json_object_new_int(ch->pid));
		json_object_object_add(k, "uptime_s", json_object_new_int64(
			ch->pid > 0 ? (now - ch->started_ms) / 1000 : 0));
		json_object_object_add(k, "restarts", json_object_new_int64(ch->restarts));
		json_object_object_add(k, "ready", json_object_new_boolean(
			ch->pid > 0 && atomic_load(&ch->page->ready)));
		json_object_array_add(kids, k);
	}
	json_object_object_add(o, "children", kids);
	for (size_t i = 0; i < v->cfg->ncameras; i++) {
		struct report_cam rc;
		json_object *c = json_object_new_object();
		if (!config_camera_local(v->cfg, i)) {
			json_object_put(c);
			continue;
		}
		report_camera(v, v->cfg->cameras[i].id, &rc);
		/* Cluster mode: the cameras this node runs or holds, not the
		 * whole inventory. */
		long long epoch = v->cluster ?
			owned_epoch(cluster_owned(v->cluster, NULL), rc.id) : 0;
		if (v->cluster && !rc.child && !epoch) {
			json_object_put(c);
			continue;
		}
		rc.gated = config_analysis_mode(&v->cfg->cameras[i]) == ANALYSIS_GATED;
		json_object_object_add(c, "id", json_object_new_string(rc.id));
		if (v->cluster)
			json_object_object_add(c, "owner_epoch", epoch ?
					       json_object_new_int64(epoch) : NULL);
		json_object_object_add(c, "child", report_str_or_null(rc.child ? rc.child->role : NULL));
		json_object_object_add(c, "pid", json_object_new_int(rc.child ? rc.child->pid : 0));
		json_object_object_add(c, "state", json_object_new_string(rc.state));
		json_object_object_add(c, "fps_in", report_num(rc.fps_in));
		json_object_object_add(c, "fps_analysed",
				       report_num(rc.fps_analysed));
		json_object_object_add(c, "decode_ms", report_num(rc.decode_ms));
		json_object_object_add(c, "kbps", report_num(rc.kbps));
		json_object_object_add(c, "packets", json_object_new_int64((int64_t)rc.packets));
		json_object_object_add(c, "frames_analysed", json_object_new_int64((int64_t)rc.analysed));
		json_object_object_add(c, "reconnects", json_object_new_int64((int64_t)rc.reconnects));
		if (rc.gated) {
			json_object *g = json_object_new_object();
			json_object_object_add(g, "open", json_object_new_boolean(rc.gate_open));
			json_object_object_add(g, "share", report_num(rc.gated_share));
			json_object_object_add(g, "openings", json_object_new_int64((int64_t)rc.openings));
			json_object_object_add(g, "openings_per_hour", report_num(rc.openings_per_hour));
			json_object_object_add(g, "catchup_ms", report_num(rc.catchup_ms));
			json_object_object_add(g, "catchup_median_ms", report_num(rc.catchup_median_ms));
			json_object_object_add(c, "gate", g);
		}
		json_object_object_add(c, "last_alert", report_str_or_null(rc.text.last_alert));
		json_object_object_add(c, "last_error", report_str_or_null(rc.text.last_error));
		report_lines(c, &v->cfg->cameras[i], &rc);
		json_object_array_add(cams, c);
	}
	json_object_object_add(o, "cameras", cams);
	if (v->cluster) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		if (f) {
			cluster_report_json(v->cluster, f);
			fclose(f);
			json_object_object_add(o, "cluster", json_tokener_parse(text));
			free(text);
		}
	}
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* Families from this index on are the gate's ("gated" mode only). */
#define REPORT_GATE_FAMILIES 10

/* One metric family: HELP and TYPE lines. */
static void report_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *report_metrics(const struct report_view *v)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "vigil_camera_streaming", "gauge", "1 while the camera streams" },
		{ "vigil_camera_fps_in", "gauge", "packets received per second" },
		{ "vigil_camera_fps_analysed", "gauge", "frames analysed per second" },
		{ "vigil_camera_decode_ms_per_frame", "gauge", "mean decode time per frame" },
		{ "vigil_camera_bitrate_kbps", "gauge", "input bitrate" },
		{ "vigil_camera_reconnects_total", "counter", "reconnect attempts" },
		{ "vigil_camera_packets_total", "counter", "packets received" },
		{ "vigil_camera_bytes_total", "counter", "bytes received" },
		{ "vigil_camera_frames_analysed_total", "counter", "frames analysed" },
		{ "vigil_camera_decode_seconds_total", "counter", "time spent decoding" },
		{ "vigil_camera_gated_ratio", "gauge",
		  "gated mode: share of stream time decoding keyframes only" },
		{ "vigil_camera_gate_openings_total", "counter", "gated mode: gate openings" },
		{ "vigil_camera_gate_openings_per_hour", "gauge",
		  "gated mode: gate openings per hour of stream" },
		{ "vigil_camera_gate_catchup_seconds", "gauge",
		  "gated mode: catch-up time of the newest opening" },
		{ "vigil_camera_gate_catchup_median_seconds", "gauge",
		  "gated mode: median catch-up time of recent openings" },
	};
	struct report_cam *rcs = calloc(v->cfg->ncameras + 1, sizeof(*rcs));
	const struct vigil_camera **cams = calloc(v->cfg->ncameras + 1, sizeof(*cams));
	long long now = status_now_ms();
	size_t n = 0, len = 0;
	char *out = NULL;
	FILE *f;

	if (!rcs || !cams) {
		free(rcs);
		free(cams);
		return NULL;
	}
	for (size_t i = 0; i < v->cfg->ncameras; i++)
		if (config_camera_local(v->cfg, i)) {
			cams[n] = &v->cfg->cameras[i];
			report_camera(v, v->cfg->cameras[i].id, &rcs[n]);
			rcs[n].gated = config_analysis_mode(&v->cfg->cameras[i]) == ANALYSIS_GATED;
			n++;
		}
	f = open_memstream(&out, &len);
	if (!f) {
		free(rcs);
		free(cams);
		return NULL;
	}
	for (size_t m = 0; m < sizeof(fam) / sizeof(fam[0]); m++) {
		report_family(f, fam[m].name, fam[m].type, fam[m].help);
		for (size_t i = 0; i < n; i++) {
			const struct report_cam *r = &rcs[i];
			if (m >= REPORT_GATE_FAMILIES && !r->gated)
				continue;   /* gate figures: gated cameras only */
			double v[] = { strcmp(r->state, "streaming") == 0, r->fps_in, r->fps_analysed,
				       r->decode_ms, r->kbps, (double)r->reconnects, (double)r->packets,
				       (double)r->bytes, (double)r->analysed, r->decode_us / 1e6,
				       r->gated_share, (double)r->openings, r->openings_per_hour,
				       r->catchup_ms / 1e3, r->catchup_median_ms / 1e3 };
			fprintf(f, "%s{camera=\"%s\"} %.12g\n", fam[m].name, r->id, v[m]);
		}
	}
	report_family(f, "vigil_line_crossings_total", "counter",
		      "objects that crossed a line, by direction");
	for (size_t i = 0; i < n; i++)
		for (int l = 0; l < cams[i]->nlines && l < STATUS_MAX_LINES; l++)
			for (int d = 0; d < 2; d++)
				fprintf(f, "vigil_line_crossings_total{camera=\"%s\",direction=\"%s\","
					"line=\"%s\"} %llu\n", rcs[i].id, d ? "b-a" : "a-b",
					cams[i]->lines[l].name, rcs[i].crossings[l][d]);
	report_family(f, "vigil_child_up", "gauge", "1 while the child process runs");
	for (int i = 0; i < v->nkids; i++)
		fprintf(f, "vigil_child_up{role=\"%s\"} %d\n", v->kids[i].role, v->kids[i].pid > 0);
	report_family(f, "vigil_child_uptime_seconds", "gauge", "time since the child started");
	for (int i = 0; i < v->nkids; i++)
		fprintf(f, "vigil_child_uptime_seconds{role=\"%s\"} %lld\n", v->kids[i].role,
			v->kids[i].pid > 0 ? (now - v->kids[i].started_ms) / 1000 : 0);
	report_family(f, "vigil_child_restarts_total", "counter", "restarts of the child");
	for (int i = 0; i < v->nkids; i++)
		fprintf(f, "vigil_child_restarts_total{role=\"%s\"} %u\n", v->kids[i].role,
			v->kids[i].restarts);
	if (v->cluster)
		cluster_report_metrics(v->cluster, f);
	fclose(f);
	free(rcs);
	free(cams);
	return out;
}
