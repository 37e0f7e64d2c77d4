/*
 * camsim - RTSP camera simulator for tests and demos.
 *
 *   camsim [--port P] [--address A] MOUNT=FILE[,ALT] [MOUNT=FILE[,ALT] ...]
 *
 * Serves every FILE (MP4 or MKV with H.264 or H.265 video) as
 * rtsp://A:P/MOUNT.  The compressed packets are read with libavformat and
 * handed unchanged to a GStreamer RTSP pipeline (appsrc ! parse ! pay),
 * paced in real time; at the end of the file it starts over with a
 * continuous time line, so the stream never ends.  All clients of a mount
 * share one media, created for the first client and torn down after the
 * last one has left.
 *
 * Lines written to stdout (tests parse them):
 *   camsim: ready port=P
 *   camsim: client connected id=N
 *   camsim: client closed id=N
 *   camsim: client id=N setup PATH transport=tcp|udp
 *   camsim: mount=M loop=N start_us=T
 *   camsim: mount=M VERB            (a fault command was applied)
 * where T is the wall clock (CLOCK_REALTIME, microseconds) at which the
 * first packet of loop N was pushed.
 *
 * With --control, commands are read from stdin, one per line, to inject
 * faults into one mount:
 *   stall M     connections stay open, nothing is sent (a hung camera)
 *   resume M    send again (ends stall, corrupt and truncate)
 *   corrupt M   flip bits inside the NAL units of every packet
 *   truncate M  send only the first half of every packet
 *   drop M      close the connections of every client of the mount
 *   refuse M    answer new clients 404 (the camera is gone)
 *   accept M    serve new clients again
 *   switch M    play the mount's other file (ALT, then FILE again) from
 *               its first packet, on the same connections and time line:
 *               the stream changes resolution (or any parameter) mid-way
 * Each command is confirmed on stdout as "camsim: mount=M VERB".
 *
 * Exit status: 0 after SIGINT/SIGTERM, 1 if the server cannot start,
 * 2 on bad arguments or unusable files.
 */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <libavformat/avformat.h>

#include "camsim.h"

#define CAMSIM_DEFAULT_PORT 8554
#define CAMSIM_DEFAULT_ADDRESS "127.0.0.1"

static GMutex camsim_out_lock;

/*
 * Print one status line to stdout and flush it at once: the lines come
 * from several threads and tests read them while the process runs.
 */
void camsim_say(const char *fmt, ...)
{
	va_list ap;

	g_mutex_lock(&camsim_out_lock);
	fputs("camsim: ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	g_mutex_unlock(&camsim_out_lock);
}

static void camsim_usage(FILE *out)
{
	fprintf(out,
		"usage: camsim [--port P] [--address A] MOUNT=FILE[,ALT] [MOUNT=FILE[,ALT] ...]\n"
		"\n"
		"Serve each FILE (MP4/MKV, H.264 or H.265 video) as rtsp://A:P/MOUNT,\n"
		"looping forever in real time without re-encoding. ALT, a second file of\n"
		"the same codec (another resolution, say), is played instead after the\n"
		"control command 'switch MOUNT'.\n"
		"\n"
		"  --port P      RTSP port (default %d; 0 picks a free port)\n"
		"  --address A   address to listen on (default %s)\n"
		"  --control     read fault commands from stdin, one per line:\n"
		"                stall|resume|corrupt|truncate|drop|refuse|accept|switch MOUNT\n"
		"  --help        show this help\n",
		CAMSIM_DEFAULT_PORT, CAMSIM_DEFAULT_ADDRESS);
}

/* client "closed": report the disconnect. */
static void camsim_on_client_closed(GstRTSPClient *client, gpointer data)
{
	(void)client;
	camsim_say("client closed id=%u", GPOINTER_TO_UINT(data));
}

/* client "setup-request": report the transport the client asked for. */
static void camsim_on_setup(GstRTSPClient *client, GstRTSPContext *ctx, gpointer data)
{
	gchar *trans = NULL;

	(void)client;
	gst_rtsp_message_get_header(ctx->request, GST_RTSP_HDR_TRANSPORT, &trans, 0);
	camsim_say("client id=%u setup %s transport=%s", GPOINTER_TO_UINT(data),
		ctx->uri && ctx->uri->abspath ? ctx->uri->abspath : "?",
		trans && strstr(trans, "/TCP") ? "tcp" : "udp");
}

/*
 * server "client-connected": report the connection and watch for its
 * end.  Clients are numbered in order of arrival.
 */
static void camsim_on_client_connected(GstRTSPServer *server,
	GstRTSPClient *client, gpointer data)
{
	static guint next_id;
	guint id = ++next_id;

	(void)server;
	(void)data;
	camsim_say("client connected id=%u", id);
	g_signal_connect(client, "closed", G_CALLBACK(camsim_on_client_closed),
		GUINT_TO_POINTER(id));
	g_signal_connect(client, "setup-request", G_CALLBACK(camsim_on_setup),
		GUINT_TO_POINTER(id));
}

/* SIGINT/SIGTERM: leave the main loop; main() then shuts down. */
static gboolean camsim_on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

/*
 * Parse the command line into port, address and mounts.  Returns 0 to
 * run, 1 after --help, 2 on a usage error (already reported).
 */
static int camsim_parse_args(int argc, char **argv, int *port,
	const char **address, gboolean *control, GPtrArray *mounts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		CamsimMount *m;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			camsim_usage(stdout);
			return 1;
		}
		if (!strcmp(a, "--control")) {
			*control = TRUE;
			continue;
		}
		if (!strcmp(a, "--port") || !strcmp(a, "--address")) {
			if (i + 1 >= argc) {
				g_printerr("camsim: %s needs a value\n", a);
				return 2;
			}
			if (!strcmp(a, "--address")) {
				*address = argv[++i];
			} else {
				char *end;
				long p;

				errno = 0;
				p = strtol(argv[++i], &end, 10);
				if (errno || *end || end == argv[i] || p < 0 || p > 65535) {
					g_printerr("camsim: bad port '%s'\n", argv[i]);
					return 2;
				}
				*port = (int)p;
			}
			continue;
		}
		if (a[0] == '-') {
			g_printerr("camsim: unknown option '%s'\n", a);
			camsim_usage(stderr);
			return 2;
		}
		eq = strchr(a, '=');
		if (!eq || eq == a || !eq[1]) {
			g_printerr("camsim: '%s' is not MOUNT=FILE\n", a);
			camsim_usage(stderr);
			return 2;
		}
		m = g_new0(CamsimMount, 1);
		m->name = g_strndup(a, eq - a);
		m->path = g_strdup(eq + 1);
		if (strchr(m->path, ',')) {
			char *comma = strchr(m->path, ',');

			m->alt = g_new0(CamsimMount, 1);
			m->alt->name = g_strdup(m->name);
			m->alt->path = g_strdup(comma + 1);
			*comma = '\0';
		}
		g_ptr_array_add(mounts, m);
		for (guint j = 0; j + 1 < mounts->len; j++) {
			if (!strcmp(((CamsimMount *)mounts->pdata[j])->name, m->name)) {
				g_printerr("camsim: mount %s given twice\n", m->name);
				return 2;
			}
		}
	}
	if (mounts->len == 0) {
		g_printerr("camsim: no MOUNT=FILE given\n");
		camsim_usage(stderr);
		return 2;
	}
	return 0;
}

static void camsim_mount_free(gpointer data)
{
	CamsimMount *m = data;

	if (m->alt)
		camsim_mount_free(m->alt);
	if (m->caps)
		gst_caps_unref(m->caps);
	g_free(m->header);
	g_free(m->name);
	g_free(m->path);
	g_free(m);
}

int main(int argc, char **argv)
{
	/* Static: the mounts live as long as the process (see the end). */
	static GPtrArray *mounts;
	const char *address = CAMSIM_DEFAULT_ADDRESS;
	int port = CAMSIM_DEFAULT_PORT, rc;
	gboolean control = FALSE;
	GstRTSPServer *server;
	GstRTSPMountPoints *points;
	GMainLoop *loop;
	char service[16];

	mounts = g_ptr_array_new_with_free_func(camsim_mount_free);
	rc = camsim_parse_args(argc, argv, &port, &address, &control, mounts);
	if (rc) {
		g_ptr_array_unref(mounts);
		return rc == 1 ? 0 : 2;
	}

	gst_init(NULL, NULL);
	av_log_set_level(AV_LOG_ERROR);
	for (guint i = 0; i < mounts->len; i++) {
		CamsimMount *m = mounts->pdata[i];
		char why[CAMSIM_WHY];

		if (!camsim_probe(m, why)) {
			g_printerr("camsim: mount %s: %s: %s\n", m->name, m->path, why);
			g_ptr_array_unref(mounts);
			return 2;
		}
		if (m->alt && !camsim_probe(m->alt, why)) {
			g_printerr("camsim: mount %s: %s: %s\n", m->name, m->alt->path, why);
			g_ptr_array_unref(mounts);
			return 2;
		}
		if (m->alt && (m->alt->hevc != m->hevc || m->alt->byte_stream != m->byte_stream)) {
			g_printerr("camsim: mount %s: %s and %s differ in codec or packaging\n",
				m->name, m->path, m->alt->path);
			g_ptr_array_unref(mounts);
			return 2;
		}
	}

	server = gst_rtsp_server_new();
	gst_rtsp_server_set_address(server, address);
	g_snprintf(service, sizeof(service), "%d", port);
	gst_rtsp_server_set_service(server, service);
	points = gst_rtsp_server_get_mount_points(server);
	for (guint i = 0; i < mounts->len; i++) {
		CamsimMount *m = mounts->pdata[i];
		char *path = g_strconcat("/", m->name, NULL);

		gst_rtsp_mount_points_add_factory(points, path, camsim_factory_new(m, address));
		g_free(path);
	}
	g_object_unref(points);
	g_signal_connect(server, "client-connected",
		G_CALLBACK(camsim_on_client_connected), NULL);

	loop = g_main_loop_new(NULL, FALSE);
	if (gst_rtsp_server_attach(server, NULL) == 0) {
		g_printerr("camsim: cannot listen on %s port %d\n", address, port);
		g_object_unref(server);
		g_main_loop_unref(loop);
		g_ptr_array_unref(mounts);
		return 1;
	}
	g_unix_signal_add(SIGINT, camsim_on_signal, loop);
	g_unix_signal_add(SIGTERM, camsim_on_signal, loop);
	if (control) {
		GIOChannel *in = g_io_channel_unix_new(0);
		g_io_channel_set_flags(in, G_IO_FLAG_NONBLOCK, NULL);
		static CamsimControl ctl;
		ctl = (CamsimControl){ .mounts = mounts, .server = server, .address = address };
		g_io_add_watch(in, G_IO_IN | G_IO_HUP | G_IO_ERR, camsim_on_stdin, &ctl);
		g_io_channel_unref(in);
	}
	camsim_say("ready port=%d", gst_rtsp_server_get_bound_port(server));

	g_main_loop_run(loop);

	camsim_stop_all_feeders();
	camsim_say("exit");
	g_main_loop_unref(loop);
	g_object_unref(server);
	/* The mounts stay: factories' handlers may still refer to them. */
	return 0;
}
