/* The console's database: every alert received (once, by instance, epoch
 * and seq), one row per event with its acknowledgement, and the users
 * (userdb.c). SQLite in WAL mode: the ingest thread writes while the
 * HTTP threads read; each thread has its own connection. */
#include "console.h"
#include "tail.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_SCHEMA \
	"CREATE TABLE IF NOT EXISTS alerts (" \
	" id INTEGER PRIMARY KEY, node TEXT NOT NULL, instance TEXT NOT NULL," \
	" epoch INTEGER NOT NULL, seq INTEGER NOT NULL, ekey TEXT NOT NULL," \
	" phase TEXT, type TEXT, severity TEXT, camera TEXT, district TEXT, grid TEXT," \
	" site TEXT, ts_us INTEGER, received_us INTEGER NOT NULL, clip TEXT, snapshot TEXT," \
	" payload TEXT NOT NULL, UNIQUE (instance, epoch, seq));" \
	"CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts_us);" \
	"CREATE INDEX IF NOT EXISTS alerts_ekey ON alerts (ekey);" \
	"CREATE INDEX IF NOT EXISTS alerts_camera ON alerts (node, camera);" \
	"CREATE INDEX IF NOT EXISTS alerts_clip ON alerts (node, clip);" \
	"CREATE INDEX IF NOT EXISTS alerts_snapshot ON alerts (node, snapshot);" \
	"CREATE TABLE IF NOT EXISTS events (" \
	" ekey TEXT PRIMARY KEY, district TEXT, site TEXT, start_us INTEGER NOT NULL," \
	" ack_user TEXT, ack_us INTEGER, ack_note TEXT, response_s REAL);" \
	"CREATE INDEX IF NOT EXISTS events_start ON events (start_us);"

int store_open(struct store *s, const char *path, const struct console_config *cfg)
{
	char *msg = NULL;

	s->cfg = cfg;
	if (userdb_open(path, &s->db) < 0)
		return -EIO;
	if (sqlite3_exec(s->db, STORE_SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "vigil-console: %s: %s\n", path, msg);
		sqlite3_free(msg);
		sqlite3_close(s->db);
		s->db = NULL;
		return -EIO;
	}
	return 0;
}

void store_close(struct store *s)
{
	if (s && s->db) {
		sqlite3_close(s->db);
		s->db = NULL;
	}
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int store_target(const struct store *s, const char *site)
{
	int i = site_parse(site);
	return s->cfg->targets[i < 0 ? SITE_NORMAL : i];
}

static json_object *store_ack_object(const char *key, const char *user, int64_t at_us,
				     const char *note, double response_s)
{
	json_object *o = json_object_new_object();
	char t[40];

	if (key)
		json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "user", json_object_new_string(user));
	json_object_object_add(o, "at", json_object_new_string(iso_time(at_us, t, sizeof(t))));
	json_object_object_add(o, "note", json_object_new_string(note ? note : ""));
	json_object_object_add(o, "response_s",
			       json_object_new_double(round(response_s * 1000) / 1000));
	return o;
}

/* The alert as the API shows it, from a row of
 *   payload, node, received_us, ekey, start_us, site, ack_user, ack_us,
 *   ack_note, response_s
 * starting at column c. */
static json_object *store_view_row(const struct store *s, sqlite3_stmt *st, int c)
{
	json_object *a = json_tokener_parse(col(st, c));
	char t[40];

	if (!a || !json_object_is_type(a, json_type_object)) {
		json_object_put(a);
		return NULL;
	}
	json_object_object_add(a, "node", json_object_new_string(col(st, c + 1)));
	json_object_object_add(a, "key", json_object_new_string(col(st, c + 3)));
	json_object_object_add(a, "received", json_object_new_string(
		iso_time(sqlite3_column_int64(st, c + 2), t, sizeof(t))));
	json_object_object_add(a, "due", json_object_new_string(
		iso_time(sqlite3_column_int64(st, c + 4) +
			 (int64_t)store_target(s, col(st, c + 5)) * 1000000, t, sizeof(t))));
	if (sqlite3_column_type(st, c + 6) == SQLITE_NULL)
		json_object_object_add(a, "ack", NULL);
	else
		json_object_object_add(a, "ack", store_ack_object(
			NULL, col(st, c + 6), sqlite3_column_int64(st, c + 7), col(st, c + 8),
			sqlite3_column_double(st, c + 9)));
	return a;
}

#define STORE_VIEW_COLS "a.payload, a.node, a.received_us, a.ekey, e.start_us, e.site," \
	" e.ack_user, e.ack_us, e.ack_note, e.response_s"

static char *store_view_of(struct store *s, sqlite3_int64 rowid)
{
	sqlite3_stmt *st;
	char *r = NULL;

	if (sqlite3_prepare_v2(s->db, "SELECT " STORE_VIEW_COLS " FROM alerts a JOIN events e"
			       " ON e.ekey = a.ekey WHERE a.id = ?", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, rowid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_object *a = store_view_row(s, st, 0);
		if (a)
			r = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
		json_object_put(a);
	}
	sqlite3_finalize(st);
	return r;
}

static int store_exec(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int store_alert(struct store *s, const char *node, json_object *a, const char *payload,
		char **view, char *district, size_t dn)
{
	const char *inst = jstr(a, "instance"), *id = jstr(a, "id"), *phase = jstr(a, "phase");
	const char *site = jstr(a, "site"), *dist = jstr(a, "district");
	int64_t ts = parse_time(jstr(a, "ts")), start = ts, now = now_us();
	sqlite3_stmt *st = NULL;
	char ekey[512];
	int rc, r = -EIO;

	*view = NULL;
	if (!inst || !id)
		return -EINVAL;
	if (ts < 0)
		ts = start = now;
	if (phase && strcmp(phase, "start") != 0 && parse_time(jstr(a, "started")) >= 0)
		start = parse_time(jstr(a, "started"));
	snprintf(ekey, sizeof(ekey), "%s/%s", inst, id);
	if (store_exec(s, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO alerts (node, instance, epoch, seq,"
			       " ekey, phase, type, severity, camera, district, grid, site, ts_us,"
			       " received_us, clip, snapshot, payload) VALUES (?1, ?2, ?3, ?4, ?5,"
			       " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, jint(a, "epoch", 0));
	sqlite3_bind_int64(st, 4, jint(a, "seq", 0));
	sqlite3_bind_text(st, 5, ekey, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, phase, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, jstr(a, "type"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, jstr(a, "severity"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, jstr(a, "camera"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, dist, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, jstr(a, "grid"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, ts);
	sqlite3_bind_int64(st, 14, now);
	sqlite3_bind_text(st, 15, jstr(a, "clip"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, jstr(a, "snapshot"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, payload, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		r = 0;
		goto out;
	}
	{
		sqlite3_int64 rowid = sqlite3_last_insert_rowid(s->db);
		if (sqlite3_prepare_v2(s->db, "INSERT INTO events (ekey, district, site, start_us)"
				       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (ekey) DO UPDATE SET"
				       " start_us = MIN(start_us, excluded.start_us)", -1, &st,
				       NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(st, 1, ekey, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, dist, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, start);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE || store_exec(s, "COMMIT") < 0)
			goto out;
		snprintf(district, dn, "%s", dist ? dist : "");
		*view = store_view_of(s, rowid);
		sqlite3_finalize(st);
		return 1;
	}
out:
	sqlite3_finalize(st);
	if (r < 0)
		fprintf(stderr, "vigil-console: storing alert %s seq %lld: %s\n", ekey,
			(long long)jint(a, "seq", 0), sqlite3_errmsg(s->db));
	store_exec(s, r < 0 ? "ROLLBACK" : "COMMIT");
	return r;
}

int store_positions(struct store *s, struct tail_cursor **out, int *n)
{
	sqlite3_stmt *st;
	int cap = 16;

	*n = 0;
	*out = calloc((size_t)cap, sizeof(**out));
	if (!*out || sqlite3_prepare_v2(s->db, "SELECT instance, epoch, MAX(seq) FROM alerts a"
					" WHERE epoch = (SELECT MAX(epoch) FROM alerts b WHERE"
					" b.instance = a.instance) GROUP BY instance", -1, &st,
					NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			struct tail_cursor *m = realloc(*out, sizeof(**out) * (size_t)cap * 2);
			if (!m)
				break;
			*out = m;
			cap *= 2;
		}
		snprintf((*out)[*n].instance, sizeof((*out)[*n].instance), "%s", col(st, 0));
		(*out)[*n].epoch = sqlite3_column_int64(st, 1);
		(*out)[*n].seq = sqlite3_column_int64(st, 2);
		(*n)++;
	}
	sqlite3_finalize(st);
	return 0;
}

/* " AND <column> IN (?, ?, ...)" for an operator's districts; binds
 * from index *i. */
static void store_district_sql(const struct user *u, const char *column, char *sql, size_t n)
{
	size_t len = strlen(sql);

	if (u->supervisor)
		return;
	len += (size_t)snprintf(sql + len, n - len, " AND %s IN (", column);
	for (int i = 0; i < u->ndistricts && len < n; i++)
		len += (size_t)snprintf(sql + len, n - len, "%s?", i ? ", " : "");
	if (u->ndistricts == 0 && len < n)
		len += (size_t)snprintf(sql + len, n - len, "NULL");
	snprintf(sql + len, n - len, ")");
}

static void store_district_bind(sqlite3_stmt *st, const struct user *u, int *i)
{
	for (int d = 0; !u->supervisor && d < u->ndistricts; d++)
		sqlite3_bind_text(st, (*i)++, u->districts[d], -1, SQLITE_STATIC);
}

json_object *store_alerts(struct store *s, const struct user *u, const struct alert_query *q)
{
	char sql[4096] = "SELECT " STORE_VIEW_COLS " FROM alerts a JOIN events e"
			 " ON e.ekey = a.ekey WHERE 1";
	const char *eq[5][2] = { { "a.district", q->district }, { "a.grid", q->grid },
				 { "a.severity", q->severity }, { "a.type", q->type },
				 { "a.camera", q->camera } };
	json_object *r, *list;
	sqlite3_stmt *st;
	int i = 1;

	for (int k = 0; k < 5; k++)
		if (eq[k][1] && *eq[k][1])
			snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND %s = ?", eq[k][0]);
	if (q->unacked)
		strcat(sql, " AND e.ack_user IS NULL");
	if (q->from >= 0)
		strcat(sql, " AND a.ts_us >= ?");
	if (q->to >= 0)
		strcat(sql, " AND a.ts_us <= ?");
	store_district_sql(u, "a.district", sql, sizeof(sql));
	strcat(sql, " ORDER BY a.ts_us DESC, a.id DESC LIMIT ?");
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "vigil-console: alerts query: %s\n", sqlite3_errmsg(s->db));
		return NULL;
	}
	for (int k = 0; k < 5; k++)
		if (eq[k][1] && *eq[k][1])
			sqlite3_bind_text(st, i++, eq[k][1], -1, SQLITE_STATIC);
	if (q->from >= 0)
		sqlite3_bind_int64(st, i++, q->from);
	if (q->to >= 0)
		sqlite3_bind_int64(st, i++, q->to);
	store_district_bind(st, u, &i);
	sqlite3_bind_int(st, i++, q->limit);
	r = json_object_new_object();
	list = json_object_new_array();
	json_object_object_add(r, "alerts", list);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_object *a = store_view_row(s, st, 0);
		if (a)
			json_object_array_add(list, a);
	}
	sqlite3_finalize(st);
	return r;
}

int store_ack(struct store *s, const struct user *u, const char *key, const char *note,
	      json_object **ack, char *district, size_t dn)
{
	sqlite3_stmt *st = NULL;
	int64_t now = now_us(), start;
	int r = -EIO;

	*ack = NULL;
	if (store_exec(s, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	if (sqlite3_prepare_v2(s->db, "SELECT district, start_us, ack_user, ack_us, ack_note,"
			       " response_s FROM events WHERE ekey = ?", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW || !user_may_see(u, col(st, 0))) {
		r = -ENOENT;
		goto out;
	}
	snprintf(district, dn, "%s", col(st, 0) ? col(st, 0) : "");
	start = sqlite3_column_int64(st, 1);
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		*ack = store_ack_object(key, col(st, 2), sqlite3_column_int64(st, 3), col(st, 4),
					sqlite3_column_double(st, 5));
		r = -EEXIST;
		goto out;
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db, "UPDATE events SET ack_user = ?, ack_us = ?, ack_note = ?,"
			       " response_s = ? WHERE ekey = ? AND ack_user IS NULL", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, note ? note : "", -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, (double)(now - start) / 1e6);
	sqlite3_bind_text(st, 5, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (store_exec(s, "COMMIT") < 0)
		goto out;
	*ack = store_ack_object(key, u->name, now, note, (double)(now - start) / 1e6);
	return 0;
out:
	sqlite3_finalize(st);
	store_exec(s, "ROLLBACK");
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* n, median_s, p90_s, within_target of the acknowledged events of a
 * site class that started since `since`. */
static json_object *store_stats_one(struct store *s, const struct user *u, int site,
				    int64_t since)
{
	char sql[2048] = "SELECT response_s FROM events WHERE ack_user IS NOT NULL"
			 " AND site = ? AND start_us >= ?";
	json_object *o = json_object_new_object();
	double *v = NULL;
	size_t n = 0, cap = 0, within = 0;
	sqlite3_stmt *st;
	int i = 3;

	store_district_sql(u, "district", sql, sizeof(sql));
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, site_name(site), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, since);
		store_district_bind(st, u, &i);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				double *m = realloc(v, sizeof(*v) * (cap = cap ? cap * 2 : 64));
				if (!m)
					break;
				v = m;
			}
			v[n] = sqlite3_column_double(st, 0);
			within += v[n] <= s->cfg->targets[site];
			n++;
		}
		sqlite3_finalize(st);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_double);
	json_object_object_add(o, "n", json_object_new_int64((int64_t)n));
	/* Nearest rank: the smallest value with at least p of the values at
	 * or below it. */
	json_object_object_add(o, "median_s", n ? json_object_new_double(
		round(v[(size_t)ceil(0.5 * (double)n) - 1] * 1000) / 1000) : NULL);
	json_object_object_add(o, "p90_s", n ? json_object_new_double(
		round(v[(size_t)ceil(0.9 * (double)n) - 1] * 1000) / 1000) : NULL);
	json_object_object_add(o, "within_target", n ? json_object_new_double(
		round((double)within / (double)n * 1000) / 1000) : NULL);
	free(v);
	return o;
}

json_object *store_stats(struct store *s, const struct user *u)
{
	int64_t now = now_us(), since[2];
	time_t t = (time_t)(now / 1000000);
	struct tm tm;

	/* Today: since the last local midnight (the server's time zone). */
	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	since[0] = (int64_t)mktime(&tm) * 1000000;
	since[1] = now - 7 * 86400LL * 1000000;
	const char *names[2] = { "today", "week" };
	json_object *r = json_object_new_object();

	for (int w = 0; w < 2; w++) {
		json_object *o = json_object_new_object();
		for (int site = 0; site < SITE_COUNT; site++)
			json_object_object_add(o, site_name(site), store_stats_one(s, u, site,
										   since[w]));
		json_object_object_add(r, names[w], o);
	}
	return r;
}

json_object *store_last_alert(struct store *s, const struct user *u, const char *node,
			      const char *camera)
{
	char sql[2048] = "SELECT " STORE_VIEW_COLS " FROM alerts a JOIN events e"
			 " ON e.ekey = a.ekey WHERE a.node = ? AND a.camera = ?";
	sqlite3_stmt *st;
	json_object *a = NULL;
	int i = 3;

	store_district_sql(u, "a.district", sql, sizeof(sql));
	strcat(sql, " ORDER BY a.id DESC LIMIT 1");
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, camera, -1, SQLITE_STATIC);
	store_district_bind(st, u, &i);
	if (sqlite3_step(st) == SQLITE_ROW)
		a = store_view_row(s, st, 0);
	sqlite3_finalize(st);
	return a;
}

int store_media_visible(struct store *s, const struct user *u, const char *node,
			const char *path)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT district FROM alerts WHERE node = ?1"
			       " AND (clip = ?2 OR snapshot = ?2)", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	while (!ok && sqlite3_step(st) == SQLITE_ROW)
		ok = user_may_see(u, col(st, 0));
	sqlite3_finalize(st);
	return ok;
}

int store_camera_district(struct store *s, const char *node, const char *camera, char *buf,
			  size_t n)
{
	sqlite3_stmt *st;
	int r = -ENOENT;

	if (sqlite3_prepare_v2(s->db, "SELECT district FROM alerts WHERE node = ? AND camera = ?"
			       " ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, camera, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && col(st, 0)) {
		snprintf(buf, n, "%s", col(st, 0));
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}
