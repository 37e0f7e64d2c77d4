/* What the supervisor tells the outside: systemd (READY=1 once every
 * child reported in, STATUS= with the cameras streaming, WATCHDOG=1 while
 * every running child beats) and the status endpoints (the control
 * socket and /metrics), which get the reports of report.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "control.h"
#include "httpapi.h"
#include "httpd.h"
#include "log.h"
#include "notify.h"
#include "report.h"
#include "supervisor_int.h"

/* Run a report (report.h) on what the supervisor knows now. */
static char *sup_report_on(const struct supervisor *s,
			   char *(*report)(const struct report_view *v))
{
	struct report_child *kids = calloc((size_t)s->nkids + 1, sizeof(*kids));
	struct report_view v = { .cfg = s->cfg, .started_ms = s->started_ms,
				 .ready = s->ready_sent, .kids = kids, .nkids = s->nkids,
				 .cluster = s->cluster };
	char *out;

	if (!kids)
		return NULL;
	for (int i = 0; i < s->nkids; i++) {
		const struct sup_child *ch = &s->kids[i];
		kids[i] = (struct report_child){ .role = ch->role, .pid = ch->pid,
						 .started_ms = ch->started_ms,
						 .restarts = ch->restarts, .page = ch->page };
	}
	out = report(&v);
	free(kids);
	return out;
}

static char *sup_metrics(void *arg)
{
	return sup_report_on(arg, report_metrics);
}

static char *sup_status(void *arg)
{
	return sup_report_on(arg, report_json);
}

static char *sup_api_cameras(void *arg)
{
	return sup_report_on(arg, report_api_cameras);
}

/* The status slot of a camera that a running child reports. */
static struct status_slot *sup_camera_slot(void *arg, const char *camera)
{
	const struct supervisor *s = arg;

	for (int i = 0; i < s->nkids; i++) {
		struct status_page *p = s->kids[i].page;
		unsigned n = atomic_load(&p->nslots);
		if (s->kids[i].pid <= 0)
			continue;
		for (unsigned k = 0; k < n && k < p->capacity; k++)
			if (atomic_load(&p->slots[k].used) && strcmp(p->slots[k].id, camera) == 0)
				return &p->slots[k];
	}
	return NULL;
}

/* The status endpoints: the control socket, /metrics and the HTTP API
 * when configured. */
void sup_endpoints_open(struct supervisor *s)
{
	struct httpapi_host host = { .cfg = s->cfg, .cameras = sup_api_cameras,
				     .slot = sup_camera_slot, .arg = s };

	s->control = control_open(s->cfg->data_dir, sup_status, s);
	if (s->cfg->metrics_port > 0)
		s->httpd = httpd_open_metrics(s->cfg->metrics_port, sup_metrics, s);
	s->httpapi = httpapi_open(&host);
}

void sup_endpoints_close(struct supervisor *s)
{
	control_close(s->control);
	s->control = NULL;
	httpd_close(s->httpd);
	s->httpd = NULL;
	httpapi_close(s->httpapi);
	s->httpapi = NULL;
}

/* A running child is ready once it reported in (and applied every reload
 * asked of it). A child waiting for its restart after dying does not hold
 * READY back: its restarts are the supervisor's business, and a camera
 * that crash-loops must not keep the whole service from starting. */
static int sup_child_ready(const struct sup_child *ch)
{
	if (ch->pid <= 0)
		return ch->restarts > 0;
	return atomic_load(&ch->page->ready) &&
	       (ch->kind == SUP_RELAY || atomic_load(&ch->page->reloads) >= ch->hups);
}

/* READY=1 once every child reported in (again, after a reload). */
void sup_check_ready(struct supervisor *s)
{
	if (s->ready_sent)
		return;
	for (int i = 0; i < s->nkids; i++)
		if (!sup_child_ready(&s->kids[i]))
			return;
	s->ready_sent = 1;
	s->next_status_ms = 0;
	log_info(NULL, s->reloading ? "reload complete" : "all %d children ready", s->nkids);
	s->reloading = 0;
	notify_ready();
}

/* STATUS= when it changes; WATCHDOG=1 while every running child beats. */
void sup_report(struct supervisor *s, long long now)
{
	unsigned streaming = 0;
	char line[160];

	if (now >= s->next_status_ms) {
		s->next_status_ms = now + 1000;
		for (int i = 0; i < s->nkids; i++) {
			struct status_page *p = s->kids[i].page;
			unsigned n = atomic_load(&p->nslots);
			if (s->kids[i].pid <= 0)
				continue;
			for (unsigned k = 0; k < n && k < p->capacity; k++) {
				if (!atomic_load(&p->slots[k].used))
					continue;
				streaming += atomic_load(&p->slots[k].state) == CAMERA_STREAMING;
			}
		}
		/* Cluster mode: of the cameras this node holds now. */
		size_t mine = s->cluster ? cluster_owned(s->cluster, NULL)->n :
			      config_local_count(s->cfg);
		snprintf(line, sizeof(line), "%u/%zu cameras streaming, %d worker(s)%s",
			 streaming, mine, s->nkids - 1, s->cluster ? ", cluster member" : "");
		if (strcmp(line, s->status_line) != 0) {
			snprintf(s->status_line, sizeof(s->status_line), "%s", line);
			notify_status(line);
		}
	}
	if (s->watchdog_us && now >= s->next_watchdog_ms) {
		const char *stale = NULL;
		long long age = 0;
		s->next_watchdog_ms = now + (long long)(s->watchdog_us / 2000);
		for (int i = 0; i < s->nkids && !stale; i++) {
			const struct sup_child *ch = &s->kids[i];
			long long hb = atomic_load(&ch->page->heartbeat_ms);
			if (ch->pid <= 0 || now - ch->started_ms < SUP_HEARTBEAT_STALE_MS)
				continue;
			age = now - hb;
			if (!hb || age > SUP_HEARTBEAT_STALE_MS)
				stale = ch->role;
		}
		if (!stale) {
			notify_watchdog();
			if (s->watchdog_withheld)
				log_info(NULL, "every child reports again, watchdog resumed");
			s->watchdog_withheld = 0;
		} else if (!s->watchdog_withheld) {
			log_warn(stale, "no heartbeat for %lld ms, withholding the watchdog", age);
			s->watchdog_withheld = 1;
		}
	}
}
