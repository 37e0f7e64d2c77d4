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

#include <errno.h>
#include <stdio.h>
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
