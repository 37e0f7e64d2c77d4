/* Activity baseline; see activity.h. */
#include "activity.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "anomaly.h"
#include "log.h"

void activity_init(struct activity *ac, const struct vigil_camera *conf)
{
	memset(ac, 0, sizeof(*ac));
	ac->conf = conf;
	ac->enabled = conf->activity.enabled;
	ac->nzones = conf->nzones ? conf->nzones : 1;
	if (ac->nzones > ACTIVITY_MAX_ZONES)
		ac->nzones = ACTIVITY_MAX_ZONES;
}

double activity_tail_high(double m, unsigned k)
{
	double sum = 0;

	if (k == 0)
		return 1;
	if (m <= 0)
		return 0;
	/* Sum the terms from k up (exact for the small tails that matter). */
	for (unsigned i = k; i < k + 2000; i++) {
		double p = exp(-m + i * log(m) - lgamma(i + 1.0));
		sum += p;
		if (i > m && p < sum * 1e-12)
			break;
	}
	return sum > 1 ? 1 : sum;
}

double activity_tail_low(double m, unsigned k)
{
	double sum = 0;

	if (m <= 0)
		return 1;
	for (unsigned i = 0; i <= k; i++)
		sum += exp(-m + i * log(m) - lgamma(i + 1.0));
	return sum > 1 ? 1 : sum;
}

int activity_slot(int64_t us, int stream_clock)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (stream_clock)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	return ((tm.tm_wday + 6) % 7) * 24 + tm.tm_hour;
}

/* The file: one line per zone and learned slot: "zone slot n sum". */
static void activity_save(const struct activity *ac)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	if (!ac->path[0] || snprintf(tmp, sizeof(tmp), "%s.tmp", ac->path) >= (int)sizeof(tmp))
		return;
	f = fopen(tmp, "w");
	if (!f) {
		log_warn(ac->conf->id, "cannot keep the activity baseline in %s: %s", tmp,
			 strerror(errno));
		return;
	}
	for (int z = 0; z < ac->nzones; z++)
		for (int s = 0; s < ACTIVITY_SLOTS; s++)
			if (ac->z[z].n[s])
				fprintf(f, "%s %d %u %.17g\n", ac->conf->nzones ? ac->conf->zones[z].name
						: "-", s, ac->z[z].n[s], ac->z[z].sum[s]);
	if (fclose(f) != 0 || rename(tmp, ac->path) != 0)
		log_warn(ac->conf->id, "cannot keep the activity baseline in %s: %s", ac->path,
			 strerror(errno));
}

void activity_recover(struct activity *ac, const char *data_dir)
{
	char dir[PATH_MAX], name[64];
	unsigned n;
	double sum;
	int slot, loaded = 0;
	FILE *f;

	if (!ac->enabled || !data_dir)
		return;
	if (snprintf(dir, sizeof(dir), "%s/activity", data_dir) >= (int)sizeof(dir) ||
	    snprintf(ac->path, sizeof(ac->path), "%s/%s.txt", dir, ac->conf->id) >=
		    (int)sizeof(ac->path)) {
		ac->path[0] = '\0';
		return;
	}
	mkdir(dir, 0750);
	f = fopen(ac->path, "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %d %u %lg", name, &slot, &n, &sum) == 4) {
		for (int z = 0; z < ac->nzones; z++) {
			const char *zn = ac->conf->nzones ? ac->conf->zones[z].name : "-";
			if (strcmp(zn, name) != 0 || slot < 0 || slot >= ACTIVITY_SLOTS)
				continue;
			ac->z[z].n[slot] = n;
			ac->z[z].sum[slot] = sum;
			loaded++;
		}
	}
	fclose(f);
	log_info(ac->conf->id, "activity baseline: %d learned hour(s) of the week loaded", loaded);
}

/* Count the tracks that entered each zone (once per track). */
static void activity_count(struct activity *ac, const struct tracker *tk)
{
	for (int z = 0; z < ac->nzones; z++) {
		struct activity_zone *az = &ac->z[z];
		int keep = 0;

		for (int i = 0; i < tk->n; i++) {
			const struct vigil_track *t = &tk->t[i];
			int known = 0;
			if (t->hidden)
				continue;
			for (int k = 0; k < az->ninside && !known; k++)
				known = az->inside[k] == t->id;
			if (known || az->ninside == TRACK_MAX)
				continue;
			if (ac->conf->nzones &&
			    !anomaly_inside(ac->conf->zones[z].z.points, ac->conf->zones[z].z.npoints,
					    t->box.x + t->box.w / 2, t->box.y + t->box.h / 2))
				continue;
			az->inside[az->ninside++] = t->id;
			az->count++;
		}
		/* Forget tracks that ended. */
		for (int k = 0; k < az->ninside; k++) {
			int alive = 0;
			for (int i = 0; i < tk->n && !alive; i++)
				alive = tk->t[i].id == az->inside[k];
			if (alive)
				az->inside[keep++] = az->inside[k];
		}
		az->ninside = keep;
	}
}

static void activity_alert(struct activity *ac, struct engine *e, int z, const char *phase,
			   int64_t now_us, const char *detail, double score)
{
	struct activity_zone *az = &ac->z[z];
	struct alert al = {
		.type = az->active > 0 ? "activity.high" : "activity.low", .phase = phase,
		.id = az->id, .ts_us = now_us, .start_us = strcmp(phase, "end") ? 0 : az->start_us,
		.score = (float)score, .detail = detail, .clip_duration = -1, .clip_size = -1,
	};

	engine_send(e, &al, ac->conf->nzones ? z : -1);
	if (!strcmp(phase, "start"))
		engine_event_open(e, &al);
	else
		engine_event_closed(e, az->id);
}

/* The interval [start, start + 15 min) is over: judge and learn it. */
static void activity_close(struct activity *ac, struct engine *e, int64_t start, int64_t now)
{
	const struct vigil_activity_conf *c = &ac->conf->activity;
	int slot = activity_slot(start, c->stream_clock);
	uint32_t need = (uint32_t)(c->learn_days * 4 / 7);   /* intervals a slot needs */
	double p = pow(10, -c->tail);

	if (need < 1)
		need = 1;
	for (int z = 0; z < ac->nzones; z++) {
		struct activity_zone *az = &ac->z[z];
		double m = (az->sum[slot] + 0.5) / (az->n[slot] + 1.0);
		double hi = activity_tail_high(m, az->count), lo = activity_tail_low(m, az->count);
		int odd = 0;
		char detail[160];

		if (az->n[slot] >= need) {
			odd = hi < p ? 1 : lo < p ? -1 : 0;
			az->run = odd == 0 ? 0 : (odd > 0) == (az->run > 0) ? az->run + odd : odd;
		}
		snprintf(detail, sizeof(detail), "%u object(s) in 15 min, usually %.1f", az->count,
			 m);
		log_debug(ac->conf->id, "activity: zone %s, quarter %lld s, hour %d of the week: %s%s",
			  ac->conf->nzones ? ac->conf->zones[z].name : "-", (long long)(start / 1000000),
			  slot, detail, az->n[slot] < need ? " (learning)" : odd ? " (improbable)" : "");
		if (az->active && (odd == 0 || odd != az->active)) {
			activity_alert(ac, e, z, "end", now, detail, 0);
			az->active = 0;
		}
		if (!az->active && odd && abs(az->run) >= c->consecutive) {
			az->active = odd;
			az->start_us = now;
			snprintf(az->id, sizeof(az->id), "%s-%s-%s-%lld", ac->conf->id,
				 odd > 0 ? "activity.high" : "activity.low",
				 ac->conf->nzones ? ac->conf->zones[z].name : "all",
				 (long long)(now / 1000));
			activity_alert(ac, e, z, "start", now, detail, 1 - (odd > 0 ? hi : lo));
		}
		if (!odd) {
			/* Only the ordinary is learned. */
			az->sum[slot] += az->count;
			az->n[slot]++;
		}
		az->count = 0;
	}
	activity_save(ac);
}

void activity_frame(struct activity *ac, struct engine *e, const struct tracker *tk,
		    int64_t wall_us, int64_t pts_us)
{
	int64_t now = ac->conf->activity.stream_clock ? pts_us : wall_us;
	int64_t start = now - now % ACTIVITY_INTERVAL_US;

	if (!ac->enabled || now <= 0)
		return;
	if (ac->interval_us && start != ac->interval_us) {
		/* A gap of whole intervals (camera down, clock jump) is not an
		 * empty street: only the interval that just ended counts. */
		if (start > ac->interval_us)
			activity_close(ac, e, ac->interval_us, now);
		for (int z = 0; z < ac->nzones; z++)
			ac->z[z].count = 0;
	}
	ac->interval_us = start;
	activity_count(ac, tk);
}
