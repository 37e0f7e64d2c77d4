/* vigilctl clips: find, show, play and export recorded clips.
 *
 *   vigilctl clips list [--camera ID] [--type T] [--since TIME]
 *                       [--until TIME] [--json] [-c CONFIG]
 *   vigilctl clips show ID [--json] [-c CONFIG]
 *   vigilctl clips play ID [-c CONFIG]
 *   vigilctl clips export ID --out FILE [--copy] [-c CONFIG]
 *
 * Reads the clip index (DATA_DIR/clips.db, read-only) of the daemon
 * configured in CONFIG. ID is the clip's number or the id of an event it
 * holds. TIME is UTC: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], or Unix
 * seconds.
 *
 * The index is not trusted: it is written by the daemon's user and this
 * tool may run as root. Every path taken from it must lead to a regular
 * file inside the clip directory (see clippath_open_inside). */
#define _GNU_SOURCE   /* strptime, timegm */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "clipdb.h"
#include "clippath.h"
#include "config.h"
#include "recorder.h"
#include "vigilctl.h"

struct clips_opts {
	const char *config, *camera, *type, *out;
	int64_t since_us, until_us;
	int json, copy;
	char clip_dir[4096];
	sqlite3 *db;
};

static void clips_usage(FILE *f)
{
	fprintf(f,
		"usage: vigilctl clips list [--camera ID] [--type T] [--since TIME] [--until TIME]\n"
		"                           [--json] [-c CONFIG]\n"
		"       vigilctl clips show ID [--json] [-c CONFIG]\n"
		"       vigilctl clips play ID [-c CONFIG]\n"
		"       vigilctl clips export ID --out FILE [--copy] [-c CONFIG]\n"
		"ID: clip number or event id; TIME (UTC): YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z]\n"
		"or Unix seconds. CONFIG defaults to /etc/vigil/vigil.conf.\n");
}

/* Parse TIME into microseconds; -EINVAL when it is none of the forms. */
static int clips_parse_time(const char *s, int64_t *us)
{
	static const char *const forms[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ",
		"%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", NULL
	};
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s && !*end) {
		*us = v * 1000000LL;
		return 0;
	}
	for (int i = 0; forms[i]; i++) {
		struct tm tm = { 0 };
		const char *rest = strptime(s, forms[i], &tm);
		if (rest && !*rest) {
			*us = (int64_t)timegm(&tm) * 1000000LL;
			return 0;
		}
	}
	return -EINVAL;
}

static int clips_open(struct clips_opts *o)
{
	struct vigil_config cfg;
	char db[4200];
	int errors = config_load(o->config, &cfg, stderr);

	if (errors) {
		fprintf(stderr, "vigilctl: %s: %d error(s)\n", o->config, errors);
		config_free(&cfg);
		return 2;
	}
	recorder_clip_dir(cfg.data_dir, o->clip_dir, sizeof(o->clip_dir));
	recorder_db_path(cfg.data_dir, db, sizeof(db));
	config_free(&cfg);
	if (access(db, R_OK) < 0) {
		fprintf(stderr, "vigilctl: no clip index at %s: %s\n", db, strerror(errno));
		return 1;
	}
	if (clipdb_open(&o->db, db, 1) < 0) {
		fprintf(stderr, "vigilctl: cannot open %s: %s\n", db,
			o->db ? sqlite3_errmsg(o->db) : "out of memory");
		return 1;
	}
	return 0;
}

/* Whether rel may be shown or used: inside the clip directory, or not
 * there at all (a clip deleted since). Prints why not. */
static int clips_path_ok(const struct clips_opts *o, const struct clipdb_row *r,
			 const char *rel)
{
	const char *why;
	int fd = clippath_open_inside(o->clip_dir, rel, &why);

	if (fd >= 0)
		close(fd);
	if (fd != -EPERM)
		return 1;
	fprintf(stderr, "vigilctl: clip %lld: refusing path '%s' from the index: it %s "
		"(clips are files inside %s)\n", (long long)r->id, rel, why, o->clip_dir);
	return 0;
}

static json_object *clips_row_json(const struct clips_opts *o, const struct clipdb_row *r)
{
	json_object *j = json_object_new_object(), *ev = json_object_new_array();
	json_object *snaps = json_object_new_array();
	const char *slash = strrchr(r->path, '/');
	int dirlen = slash ? (int)(slash - r->path) : 0;
	char ts[40], file[sizeof(o->clip_dir) + 1024 + 2], buf[512], *save = NULL;

	json_object_object_add(j, "id", json_object_new_int64(r->id));
	json_object_object_add(j, "camera", json_object_new_string(r->camera));
	json_object_object_add(j, "event_id", json_object_new_string(r->event_id));
	json_object_object_add(j, "type", json_object_new_string(r->type));
	snprintf(buf, sizeof(buf), "%s", r->events);
	for (char *e = strtok_r(buf, " ", &save); e; e = strtok_r(NULL, " ", &save)) {
		const char *why;
		char rel[1024];
		int fd;

		json_object_array_add(ev, json_object_new_string(e));
		/* Snapshots of the clip's events sit beside it. */
		snprintf(rel, sizeof(rel), "%.*s%s%s.jpg", dirlen, r->path, dirlen ? "/" : "", e);
		fd = clippath_open_inside(o->clip_dir, rel, &why);
		if (fd < 0) {
			if (fd == -EPERM)
				clips_path_ok(o, r, rel);
			continue;
		}
		close(fd);
		snprintf(file, sizeof(file), "%s/%s", o->clip_dir, rel);
		json_object_array_add(snaps, json_object_new_string(file));
	}
	json_object_object_add(j, "events", ev);
	json_object_object_add(j, "snapshots", snaps);
	alert_format_time(r->start_us, ts, sizeof(ts));
	json_object_object_add(j, "start", json_object_new_string(ts));
	if (r->end_us) {
		alert_format_time(r->end_us, ts, sizeof(ts));
		json_object_object_add(j, "end", json_object_new_string(ts));
		json_object_object_add(j, "duration",
				       json_object_new_double((double)(r->end_us - r->start_us) / 1e6));
	}
	json_object_object_add(j, "path", json_object_new_string(r->path));
	snprintf(file, sizeof(file), "%s/%s", o->clip_dir, r->path);
	json_object_object_add(j, "file", json_object_new_string(file));
	json_object_object_add(j, "size", json_object_new_int64(r->size));
	json_object_object_add(j, "state", json_object_new_string(r->state));
	return j;
}

static void clips_row_line(const struct clipdb_row *r)
{
	char ts[40];

	alert_format_time(r->start_us, ts, sizeof(ts));
	printf("%-6lld %-12s %-10s %s %7.1f s %10lld  %-9s %s\n", (long long)r->id, r->camera,
	       r->type, ts, r->end_us ? (double)(r->end_us - r->start_us) / 1e6 : 0.0,
	       (long long)r->size, r->state, r->path);
}

static int clips_list(struct clips_opts *o)
{
	sqlite3_stmt *st;
	json_object *arr = json_object_new_array();
	struct clipdb_row row;
	int r;

	if (sqlite3_prepare_v2(o->db, "SELECT " CLIPDB_COLUMNS " FROM clips"
			       " WHERE (?1 IS NULL OR camera = ?1) AND (?2 IS NULL OR type = ?2)"
			       " AND coalesce(end_us, start_us) >= ?3 AND start_us <= ?4"
			       " ORDER BY start_us, id", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "vigilctl: %s\n", sqlite3_errmsg(o->db));
		return 1;
	}
	if (o->camera)
		sqlite3_bind_text(st, 1, o->camera, -1, SQLITE_STATIC);
	if (o->type)
		sqlite3_bind_text(st, 2, o->type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, o->since_us);
	sqlite3_bind_int64(st, 4, o->until_us);
	if (!o->json)
		printf("%-6s %-12s %-10s %-24s %9s %10s  %-9s %s\n", "ID", "CAMERA", "TYPE",
		       "START", "DURATION", "BYTES", "STATE", "PATH");
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		clipdb_row_read(st, &row);
		if (o->json)
			json_object_array_add(arr, clips_row_json(o, &row));
		else
			clips_row_line(&row);
	}
	sqlite3_finalize(st);
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return r == SQLITE_DONE ? 0 : 1;
}

/* "% ID %" for LIKE, with LIKE's own characters in ID escaped by a backslash,
 * so that ID matches one event id literally. NULL when out of memory. */
static char *clips_like_word(const char *id)
{
	char *pat = malloc(2 * strlen(id) + 5), *p = pat;

	if (!pat)
		return NULL;
	*p++ = '%';
	*p++ = ' ';
	for (; *id; id++) {
		if (*id == '%' || *id == '_' || *id == '\\')
			*p++ = '\\';
		*p++ = *id;
	}
	*p++ = ' ';
	*p++ = '%';
	*p = '\0';
	return pat;
}

/* The clip named by ID (number or event id). */
static int clips_find(struct clips_opts *o, const char *id, struct clipdb_row *row)
{
	sqlite3_stmt *st;
	char *like = clips_like_word(id);
	int r;

	if (!like || sqlite3_prepare_v2(o->db, "SELECT " CLIPDB_COLUMNS " FROM clips"
			       " WHERE CAST(id AS TEXT) = ?1 OR event_id = ?1"
			       " OR ' ' || events || ' ' LIKE ?2 ESCAPE '\\'"
			       " ORDER BY start_us LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		free(like);
		return -EIO;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, like, -1, free);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		clipdb_row_read(st, row);
	sqlite3_finalize(st);
	if (r != SQLITE_ROW) {
		fprintf(stderr, "vigilctl: no clip '%s'\n", id);
		return -ENOENT;
	}
	return 0;
}

static int clips_show(struct clips_opts *o, const struct clipdb_row *r)
{
	json_object *j = clips_row_json(o, r);

	if (o->json) {
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		json_object_object_foreach(j, key, val) {
			printf("%-9s", key);
			if (json_object_get_type(val) != json_type_array) {
				printf(" %s\n", json_object_get_string(val));
				continue;
			}
			for (size_t i = 0; i < json_object_array_length(val); i++)
				printf(" %s", json_object_get_string(json_object_array_get_idx(val, i)));
			printf("\n");
		}
	}
	json_object_put(j);
	return 0;
}

/* First of ffplay, mpv found on PATH, or NULL. */
static const char *clips_player(char *buf, size_t len)
{
	static const char *const players[] = { "ffplay", "mpv", NULL };
	const char *path = getenv("PATH");

	for (int i = 0; players[i] && path; i++) {
		char dirs[4096], *save = NULL;
		snprintf(dirs, sizeof(dirs), "%s", path);
		for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			snprintf(buf, len, "%s/%s", d, players[i]);
			if (access(buf, X_OK) == 0)
				return players[i];
		}
	}
	return NULL;
}

static int clips_play(const char *file)
{
	char player[4200];
	const char *name = clips_player(player, sizeof(player));

	if (!name) {
		printf("%s\n", file);
		return 0;
	}
	execl(player, name, file, (char *)NULL);
	fprintf(stderr, "vigilctl: cannot run %s: %s\n", player, strerror(errno));
	printf("%s\n", file);
	return 1;
}

/* Copy the open clip in (closed here) to the file to. */
static int clips_copy(int in, const char *to)
{
	char buf[65536];
	ssize_t n;
	int out, r = 0;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			r = -errno;
			break;
		}
	if (n < 0)
		r = -errno;
	close(in);
	if (close(out) < 0 && !r)
		r = -errno;
	return r;
}

/* Stream copy into a plain (not fragmented) MP4 with the index first. */
static int clips_remux(const char *from, const char *to)
{
	AVFormatContext *in = NULL, *out = NULL;
	AVDictionary *opts = NULL;
	AVPacket *pkt = av_packet_alloc();
	int r;

	if (!pkt)
		return AVERROR(ENOMEM);
	r = avformat_open_input(&in, from, NULL, NULL);
	if (r >= 0)
		r = avformat_find_stream_info(in, NULL);
	if (r >= 0)
		r = avformat_alloc_output_context2(&out, NULL, "mp4", to);
	for (unsigned i = 0; r >= 0 && i < in->nb_streams; i++) {
		AVStream *st = avformat_new_stream(out, NULL);
		r = st ? avcodec_parameters_copy(st->codecpar, in->streams[i]->codecpar)
		       : AVERROR(ENOMEM);
		if (st)
			st->codecpar->codec_tag = 0;
	}
	if (r >= 0)
		r = avio_open(&out->pb, to, AVIO_FLAG_WRITE);
	av_dict_set(&opts, "movflags", "+faststart", 0);
	if (r >= 0)
		r = avformat_write_header(out, &opts);
	av_dict_free(&opts);
	while (r >= 0 && (r = av_read_frame(in, pkt)) >= 0) {
		av_packet_rescale_ts(pkt, in->streams[pkt->stream_index]->time_base,
				     out->streams[pkt->stream_index]->time_base);
		pkt->pos = -1;
		r = av_interleaved_write_frame(out, pkt);
	}
	if (r == AVERROR_EOF)
		r = av_write_trailer(out);
	if (out)
		avio_closep(&out->pb);
	avformat_free_context(out);
	avformat_close_input(&in);
	av_packet_free(&pkt);
	return r;
}

/* Export the clip open as fd (closed here); file names it in messages. */
static int clips_export(struct clips_opts *o, int fd, const char *file)
{
	char err[AV_ERROR_MAX_STRING_SIZE], self[64];
	int r;

	if (!o->out) {
		fprintf(stderr, "vigilctl: clips export needs --out FILE\n");
		close(fd);
		return 2;
	}
	/* FFmpeg reads the very file checked, through its descriptor. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (o->copy) {
		r = clips_copy(fd, o->out);
	} else {
		r = clips_remux(self, o->out);
		close(fd);
	}
	if (r < 0) {
		if (o->copy)
			snprintf(err, sizeof(err), "%s", strerror(-r));
		else
			av_make_error_string(err, sizeof(err), r);
		fprintf(stderr, "vigilctl: exporting %s to %s: %s\n", file, o->out, err);
		return 1;
	}
	printf("%s\n", o->out);
	return 0;
}

static int clips_parse(struct clips_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "camera", required_argument, NULL, 'C' }, { "type", required_argument, NULL, 'T' },
		{ "since", required_argument, NULL, 'S' }, { "until", required_argument, NULL, 'U' },
		{ "json", no_argument, NULL, 'j' }, { "out", required_argument, NULL, 'o' },
		{ "copy", no_argument, NULL, 'p' }, { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int opt;

	av_log_set_level(AV_LOG_ERROR);
	o->config = "/etc/vigil/vigil.conf";
	o->until_us = INT64_MAX;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'C': o->camera = optarg; break;
		case 'T': o->type = optarg; break;
		case 'S':
		case 'U':
			if (clips_parse_time(optarg, opt == 'S' ? &o->since_us : &o->until_us) < 0) {
				fprintf(stderr, "vigilctl: bad time '%s'\n", optarg);
				return 2;
			}
			break;
		case 'j': o->json = 1; break;
		case 'o': o->out = optarg; break;
		case 'p': o->copy = 1; break;
		case 'c': o->config = optarg; break;
		case 'h': clips_usage(stdout); return 1;
		default: clips_usage(stderr); return 2;
		}
	}
	return 0;
}

int ctl_clips(int argc, char **argv)
{
	struct clips_opts o = { 0 };
	struct clipdb_row row;
	const char *action = argc > 1 ? argv[1] : NULL;
	int r;

	if (!action || action[0] == '-') {
		clips_usage(action && strcmp(action, "--help") == 0 ? stdout : stderr);
		return action && strcmp(action, "--help") == 0 ? 0 : 2;
	}
	r = clips_parse(&o, argc - 1, argv + 1);
	if (r)
		return r == 1 ? 0 : r;
	if (strcmp(action, "list") && strcmp(action, "show") && strcmp(action, "play") &&
	    strcmp(action, "export")) {
		fprintf(stderr, "vigilctl: unknown clips action '%s'\n", action);
		clips_usage(stderr);
		return 2;
	}
	if (optind + 1 != argc - (strcmp(action, "list") == 0 ? 0 : 1)) {
		fprintf(stderr, "vigilctl: clips %s takes %s\n", action,
			strcmp(action, "list") == 0 ? "no ID" : "one ID");
		clips_usage(stderr);
		return 2;
	}
	r = clips_open(&o);
	if (r)
		return r;
	if (strcmp(action, "list") == 0) {
		r = clips_list(&o);
	} else if (clips_find(&o, argv[optind + 1], &row) < 0) {
		r = 1;
	} else if (!clips_path_ok(&o, &row, row.path)) {
		r = 1;
	} else if (strcmp(action, "show") == 0) {
		r = clips_show(&o, &row);
	} else {
		char file[4400];
		const char *why;
		int fd = clippath_open_inside(o.clip_dir, row.path, &why);

		snprintf(file, sizeof(file), "%s/%s", o.clip_dir, row.path);
		if (fd < 0) {
			fprintf(stderr, "vigilctl: %s: %s\n", file, strerror(-fd));
			r = 1;
		} else if (strcmp(action, "play") == 0) {
			close(fd);
			r = clips_play(file);
		} else {
			r = clips_export(&o, fd, file);
		}
	}
	clipdb_close(o.db);
	return r;
}
