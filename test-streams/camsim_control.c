/* camsim's fault commands (see camsim.c): read from stdin, one per line,
 * each acting on one mount. */
#include <stdio.h>
#include <string.h>

#include "camsim.h"

/* Session medias of a session that play the given mount path. */
static GstRTSPFilterResult camsim_match_media(GstRTSPSession *sess,
	GstRTSPSessionMedia *sm, gpointer path)
{
	gint matched;

	(void)sess;
	return gst_rtsp_session_media_matches(sm, path, &matched) ?
		GST_RTSP_FILTER_REF : GST_RTSP_FILTER_KEEP;
}

/* Sessions of a client that play the given mount path. */
static GstRTSPFilterResult camsim_match_session(GstRTSPClient *client,
	GstRTSPSession *sess, gpointer path)
{
	GList *media = gst_rtsp_session_filter(sess, camsim_match_media, path);
	gboolean hit = media != NULL;

	(void)client;
	g_list_free_full(media, g_object_unref);
	return hit ? GST_RTSP_FILTER_REF : GST_RTSP_FILTER_KEEP;
}

/* Server client filter: close the clients playing the mount path. */
static GstRTSPFilterResult camsim_drop_client(GstRTSPServer *server,
	GstRTSPClient *client, gpointer path)
{
	GList *sessions = gst_rtsp_client_session_filter(client, camsim_match_session, path);
	gboolean hit = sessions != NULL;

	(void)server;
	g_list_free_full(sessions, g_object_unref);
	return hit ? GST_RTSP_FILTER_REMOVE : GST_RTSP_FILTER_KEEP;
}

/*
 * One fault command from stdin (see the head of this file).  Unknown
 * commands and mounts are reported on stderr and ignored.
 */
static void camsim_command(CamsimControl *ctl, const char *line)
{
	char verb[16], name[128], path[130];
	CamsimMount *m = NULL;
	GstRTSPMountPoints *points;

	if (sscanf(line, "%15s %127s", verb, name) != 2) {
		g_printerr("camsim: bad command '%s'\n", line);
		return;
	}
	for (guint i = 0; i < ctl->mounts->len; i++)
		if (!strcmp(((CamsimMount *)ctl->mounts->pdata[i])->name, name))
			m = ctl->mounts->pdata[i];
	if (!m) {
		g_printerr("camsim: no mount '%s'\n", name);
		return;
	}
	g_snprintf(path, sizeof(path), "/%s", m->name);
	if (!strcmp(verb, "stall")) {
		g_atomic_int_set(&m->stalled, 1);
	} else if (!strcmp(verb, "resume")) {
		g_atomic_int_set(&m->stalled, 0);
		g_atomic_int_set(&m->damage, CAMSIM_INTACT);
	} else if (!strcmp(verb, "corrupt")) {
		g_atomic_int_set(&m->damage, CAMSIM_CORRUPT);
	} else if (!strcmp(verb, "truncate")) {
		g_atomic_int_set(&m->damage, CAMSIM_TRUNCATE);
	} else if (!strcmp(verb, "switch")) {
		if (!m->alt) {
			g_printerr("camsim: mount %s has no other file to switch to\n", m->name);
			return;
		}
		g_atomic_int_set(&m->use_alt, !g_atomic_int_get(&m->use_alt));
	} else if (!strcmp(verb, "drop")) {
		gst_rtsp_server_client_filter(ctl->server, camsim_drop_client, path);
	} else if (!strcmp(verb, "refuse") || !strcmp(verb, "accept")) {
		points = gst_rtsp_server_get_mount_points(ctl->server);
		gst_rtsp_mount_points_remove_factory(points, path);
		if (verb[0] == 'a')
			gst_rtsp_mount_points_add_factory(points, path,
				camsim_factory_new(m, ctl->address));
		g_object_unref(points);
	} else {
		g_printerr("camsim: unknown command '%s'\n", verb);
		return;
	}
	camsim_say("mount=%s %s", m->name, verb);
}

/* stdin readable: run the complete lines; stop watching at end of file. */
gboolean camsim_on_stdin(GIOChannel *ch, GIOCondition cond, gpointer data)
{
	gchar *line = NULL;
	gsize len = 0;
	GIOStatus st;

	(void)cond;
	while ((st = g_io_channel_read_line(ch, &line, &len, NULL, NULL)) == G_IO_STATUS_NORMAL) {
		g_strstrip(line);
		if (*line)
			camsim_command(data, line);
		g_free(line);
	}
	return st != G_IO_STATUS_EOF && st != G_IO_STATUS_ERROR;
}

