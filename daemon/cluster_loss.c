/* Open video_loss events follow their camera from node to node.
 *
 * A camera keeps its open video_loss event in DATA_DIR/events/<camera>
 * .video_loss ("ID START_US", see camera.c), so that a restarted camera
 * ends the same event rather than opening another. In cluster mode the
 * owner also mirrors that file into a persistent node
 * /vigil/<name>/losses/<camera> (it survives the owner's session). The
 * next owner writes it back to its own file before its worker starts the
 * camera: the event is taken over, not duplicated, when a node dies or
 * hands the camera over. The mirror runs at every scan (1 s), so an event
 * opened less than a second before its node died is raised again. */
#include "cluster_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static void cl_loss_file(const struct cluster *c, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/events/%s.video_loss", c->cfg->data_dir, c->cfg->cameras[i].id);
}

static void cl_loss_node(const struct cluster *c, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/losses/%s", c->root, c->cfg->cameras[i].id);
}

/* The file's first line, "" when there is none. */
static void cl_loss_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

void cl_loss_adopt(struct cluster *c, size_t i)
{
	char node[512], file[4300], tmp[4310], data[sizeof(c->cams[i].loss)];
	int len = sizeof(data) - 1, rc;
	FILE *f;

	cl_loss_node(c, i, node, sizeof(node));
	cl_loss_file(c, i, file, sizeof(file));
	rc = zoo_get(c->zh, node, 0, data, &len, NULL);
	if (rc != ZOK || len <= 0) {
		/* Nothing open: a file left from an earlier ownership is stale. */
		if (unlink(file) < 0 && errno != ENOENT)
			log_warn(c->cfg->cameras[i].id, "cannot remove %s: %s", file, strerror(errno));
		c->cams[i].loss[0] = '\0';
		return;
	}
	data[len] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/events", c->cfg->data_dir);
	if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
		log_warn(c->cfg->cameras[i].id, "cannot create %s: %s", tmp, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", data) < 0 || fclose(f) != 0 || rename(tmp, file) < 0) {
		log_warn(c->cfg->cameras[i].id, "cannot write %s: %s; its open video_loss "
			 "event will be raised again", file, strerror(errno));
		unlink(tmp);
		return;
	}
	snprintf(c->cams[i].loss, sizeof(c->cams[i].loss), "%s", data);
	log_info(c->cfg->cameras[i].id, "taking over open video_loss event %s", data);
}

void cl_loss_mirror(struct cluster *c, size_t i)
{
	char node[512], file[4300], now[sizeof(c->cams[i].loss)];
	int rc;

	cl_loss_file(c, i, file, sizeof(file));
	cl_loss_read(file, now, sizeof(now));
	if (strcmp(now, c->cams[i].loss) == 0)
		return;
	cl_loss_node(c, i, node, sizeof(node));
	if (now[0]) {
		rc = zoo_set(c->zh, node, now, (int)strlen(now), -1);
		if (rc == ZNONODE)
			rc = zoo_create(c->zh, node, now, (int)strlen(now), &ZOO_OPEN_ACL_UNSAFE,
					ZOO_PERSISTENT, NULL, 0);
	} else {
		rc = zoo_delete(c->zh, node, -1);
		if (rc == ZNONODE)
			rc = ZOK;
	}
	if (rc != ZOK) {
		log_warn(c->cfg->cameras[i].id, "cannot record the video_loss state in %s: %s, "
			 "retrying", node, zerror(rc));
		return;
	}
	snprintf(c->cams[i].loss, sizeof(c->cams[i].loss), "%s", now);
}

void cl_loss_release(struct cluster *c, size_t i)
{
	char file[4300];

	/* The worker has stopped the camera: its file is final. */
	cl_loss_mirror(c, i);
	cl_loss_file(c, i, file, sizeof(file));
	if (unlink(file) < 0 && errno != ENOENT)
		log_warn(c->cfg->cameras[i].id, "cannot remove %s: %s", file, strerror(errno));
}

/* Open events other than video_loss (motion, tamper, ...) are files under
 * DATA_DIR/events/<camera>/ (evstore.h): a camera that starts ends every
 * event left there. The owner mirrors the directory into the persistent
 * node /vigil/<name>/open/<camera> ("@NAME" line, then the file, per
 * file); the next owner writes the files back before the camera starts,
 * so the events a dead node left open are ended (reason worker_restart)
 * by their new owner, once. */

#define CL_OPEN_MAX 65536

static int cl_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory as one text, files in name order; its length. */
static size_t cl_open_read(const char *dir, char *buf, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *names[256], path[4600];
	size_t n = 0, len = 0;

	buf[0] = '\0';
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < sizeof(names) / sizeof(names[0]))
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cl_name_cmp);
	for (size_t i = 0; i < n; i++) {
		FILE *f;
		size_t r;
		if (!names[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((f = fopen(path, "re")) && len + strlen(names[i]) + 3 < cap) {
			len += (size_t)snprintf(buf + len, cap - len, "@%s\n", names[i]);
			r = fread(buf + len, 1, cap - len - 1, f);
			len += r;
			buf[len] = '\0';
		}
		if (f)
			fclose(f);
		free(names[i]);
	}
	return len;
}

/* Remove the files of dir (not dir itself). */
static void cl_open_clear(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4600];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

static uint64_t cl_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ n;
}

static void cl_open_paths(const struct cluster *c, size_t i, char *dir, size_t dlen,
			  char *node, size_t nlen)
{
	snprintf(dir, dlen, "%s/events/%s", c->cfg->data_dir, c->cfg->cameras[i].id);
	snprintf(node, nlen, "%s/open/%s", c->root, c->cfg->cameras[i].id);
}

void cl_open_adopt(struct cluster *c, size_t i)
{
	char dir[4300], node[512], path[4700], *buf = malloc(CL_OPEN_MAX);
	int len = CL_OPEN_MAX - 1, rc, files = 0;

	if (!buf)
		return;
	cl_open_paths(c, i, dir, sizeof(dir), node, sizeof(node));
	/* Local files are from an earlier ownership: their events were
	 * ended by whoever took the camera then. */
	cl_open_clear(dir);
	c->cams[i].open_hash = 0;
	rc = zoo_get(c->zh, node, 0, buf, &len, NULL);
	if (rc != ZOK || len <= 0) {
		free(buf);
		return;
	}
	buf[len] = '\0';
	snprintf(path, sizeof(path), "%s/events", c->cfg->data_dir);
	mkdir(path, 0750);
	mkdir(dir, 0750);
	for (char *p = buf; p && *p == '@';) {
		char *nl = strchr(p, '\n'), *next;
		FILE *f;
		if (!nl)
			break;
		*nl = '\0';
		next = strstr(nl + 1, "\n@");
		if (next)
			*next++ = '\0';
		if (!strchr(p + 1, '/') && p[1] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, p + 1);
			f = fopen(path, "we");
			if (f) {
				fprintf(f, "%s%s", nl + 1, next ? "\n" : "");
				fclose(f);
				files++;
			}
		}
		p = next;
	}
	if (files)
		log_info(c->cfg->cameras[i].id, "taking over %d open event(s) of its previous "
			 "owner: they end when the camera starts", files);
	free(buf);
}

void cl_open_mirror(struct cluster *c, size_t i)
{
	char dir[4300], node[512], *buf = malloc(CL_OPEN_MAX);
	size_t len;
	uint64_t h;
	int rc;

	if (!buf)
		return;
	cl_open_paths(c, i, dir, sizeof(dir), node, sizeof(node));
	len = cl_open_read(dir, buf, CL_OPEN_MAX);
	h = len ? cl_hash(buf, len) : 0;
	if (h != c->cams[i].open_hash) {
		if (len) {
			rc = zoo_set(c->zh, node, buf, (int)len, -1);
			if (rc == ZNONODE)
				rc = zoo_create(c->zh, node, buf, (int)len, &ZOO_OPEN_ACL_UNSAFE,
						ZOO_PERSISTENT, NULL, 0);
		} else {
			rc = zoo_delete(c->zh, node, -1);
			if (rc == ZNONODE)
				rc = ZOK;
		}
		if (rc == ZOK)
			c->cams[i].open_hash = h;
		else
			log_warn(c->cfg->cameras[i].id, "cannot record its open events in %s: %s, "
				 "retrying", node, zerror(rc));
	}
	free(buf);
}

void cl_open_release(struct cluster *c, size_t i)
{
	char dir[4300], node[512];

	cl_open_mirror(c, i);
	cl_open_paths(c, i, dir, sizeof(dir), node, sizeof(node));
	cl_open_clear(dir);
}
