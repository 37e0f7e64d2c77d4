/* Open events on disk; see evstore.h. */
#include "evstore.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

void evstore_init(struct evstore *s, const char *data_dir, const char *camera)
{
	memset(s, 0, sizeof(*s));
	s->who = camera;
	if (data_dir)
		snprintf(s->dir, sizeof(s->dir), "%s/events/%s", data_dir, camera);
}

/* Path of an event's file: its id, with anything but [A-Za-z0-9._-]
 * replaced, never starting with a dot (those are temporary files). */
static void evstore_path(const struct evstore *s, const char *id, const char *suffix,
			 char *buf, size_t len)
{
	char name[sizeof(((struct evstore_event *)0)->id)];
	size_t i;

	for (i = 0; id[i] && i < sizeof(name) - 1; i++) {
		char c = id[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || c == '_' || (c == '.' && i > 0);
		name[i] = ok ? c : '_';
	}
	name[i] = '\0';
	snprintf(buf, len, "%s/%s%s%s", s->dir, suffix ? "." : "", name, suffix ? suffix : "");
}

/* One "key value" line; line breaks in the value would break the format. */
static int evstore_put(FILE *f, const char *key, const char *value)
{
	if (fprintf(f, "%s ", key) < 0)
		return -1;
	for (; *value; value++)
		if (fputc(*value == '\n' || *value == '\r' ? ' ' : *value, f) == EOF)
			return -1;
	return fputc('\n', f) == EOF ? -1 : 0;
}

int evstore_mkdir(const struct evstore *s)
{
	char parent[sizeof(s->dir)];

	if (!s->dir[0])
		return -1;
	if (mkdir(s->dir, 0750) == 0 || errno == EEXIST)
		return 0;
	snprintf(parent, sizeof(parent), "%s", s->dir);
	*strrchr(parent, '/') = '\0';
	if ((mkdir(parent, 0750) < 0 && errno != EEXIST) ||
	    (mkdir(s->dir, 0750) < 0 && errno != EEXIST))
		return -1;
	return 0;
}

void evstore_save(struct evstore *s, const struct evstore_event *ev)
{
	char path[4400], tmp[4400], start[32];
	FILE *f;
	int ok;

	if (!s->dir[0])
		return;
	if (evstore_mkdir(s) < 0) {
		log_warn(s->who, "cannot create %s: %s; event %s will not be ended if "
			 "the worker dies", s->dir, strerror(errno), ev->id);
		return;
	}
	evstore_path(s, ev->id, NULL, path, sizeof(path));
	evstore_path(s, ev->id, ".tmp", tmp, sizeof(tmp));
	f = fopen(tmp, "w");
	if (!f) {
		log_warn(s->who, "cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	snprintf(start, sizeof(start), "%lld", (long long)ev->start_us);
	ok = evstore_put(f, "id", ev->id) == 0 && evstore_put(f, "type", ev->type) == 0 &&
	     evstore_put(f, "zone", ev->zone) == 0 &&
	     evstore_put(f, "severity", ev->severity) == 0 &&
	     evstore_put(f, "clip", ev->clip) == 0 && evstore_put(f, "start_us", start) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		log_warn(s->who, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

void evstore_remove(struct evstore *s, const char *id)
{
	char path[4400];

	if (!s->dir[0])
		return;
	evstore_path(s, id, NULL, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn(s->who, "cannot remove %s: %s", path, strerror(errno));
}

/* Copy the value of a "key value" line into buf when the key matches. */
static void evstore_field(const char *line, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k) == 0 && line[k] == ' ')
		snprintf(buf, len, "%.*s", (int)strcspn(line + k + 1, "\n"), line + k + 1);
}

/* Read one event file; 0, or -1 when it is not a whole event. */
static int evstore_read(const char *path, struct evstore_event *ev)
{
	char line[512], start[32] = "";
	char *end;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	memset(ev, 0, sizeof(*ev));
	for (int n = 0; n < 16 && fgets(line, sizeof(line), f); n++) {
		evstore_field(line, "id", ev->id, sizeof(ev->id));
		evstore_field(line, "type", ev->type, sizeof(ev->type));
		evstore_field(line, "zone", ev->zone, sizeof(ev->zone));
		evstore_field(line, "severity", ev->severity, sizeof(ev->severity));
		evstore_field(line, "clip", ev->clip, sizeof(ev->clip));
		evstore_field(line, "start_us", start, sizeof(start));
	}
	fclose(f);
	ev->start_us = strtoll(start, &end, 10);
	if (!ev->id[0] || !ev->type[0] || !ev->severity[0] || !start[0] || *end ||
	    ev->start_us <= 0)
		return -1;
	return 0;
}

int evstore_drain(struct evstore *s, void (*fn)(void *arg, const struct evstore_event *ev),
		  void *arg)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (!s->dir[0])
		return 0;
	d = opendir(s->dir);
	if (!d) {
		if (errno != ENOENT)
			log_warn(s->who, "cannot read %s: %s", s->dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		struct evstore_event ev;
		char path[sizeof(s->dir) + 260];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
		/* A temporary file: the save it belonged to never finished. */
		if (de->d_name[0] != '.') {
			if (evstore_read(path, &ev) == 0) {
				fn(arg, &ev);
				n++;
			} else {
				log_warn(s->who, "%s: not an open event, removed", path);
			}
		}
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn(s->who, "cannot remove %s: %s", path, strerror(errno));
	}
	closedir(d);
	return n;
}
