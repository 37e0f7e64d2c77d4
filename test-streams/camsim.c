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
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#define CAMSIM_DEFAULT_PORT 8554
#define CAMSIM_DEFAULT_ADDRESS "127.0.0.1"
#define CAMSIM_QUEUE_BYTES (8 * 1024 * 1024)
#define CAMSIM_MAX_LATE_US 500000       /* re-base pacing when this late */
#define CAMSIM_RETRY_US 1000000         /* wait before reopening a bad file */
#define CAMSIM_WHY 160                  /* size of error message buffers */

/* One MOUNT=FILE pair and what was learnt from probing the file. */
typedef struct CamsimMountS {
	char *name;             /* mount name, without the leading '/' */
	char *path;
	gboolean hevc;
	gboolean byte_stream;   /* packets are Annex B rather than length-prefixed */
	guint8 *header;         /* Annex B parameter sets to send first, or NULL */
	int header_size;
	GstCaps *caps;          /* caps for the appsrc */
	gint stalled;           /* fault: send nothing while set (atomic) */
	gint damage;            /* fault: CAMSIM_CORRUPT or CAMSIM_TRUNCATE (atomic) */
	struct CamsimMountS *alt;  /* the ALT file, probed like the main one, or NULL */
	gint use_alt;           /* fault: play alt instead of path (atomic) */
} CamsimMount;

enum { CAMSIM_INTACT, CAMSIM_CORRUPT, CAMSIM_TRUNCATE };

/* What fault commands act on. */
typedef struct {
	GPtrArray *mounts;
	GstRTSPServer *server;
	const char *address;
} CamsimControl;

/* The thread feeding one media's appsrc. */
typedef struct {
	CamsimMount *mount;
	GstElement *appsrc;
	GThread *thread;
	GMutex lock;
	GCond cond;
	gboolean started;       /* the pipeline asked for data */
	gboolean stop;
	const struct CamsimMountS *source;  /* file of the current loop (caps sent) */
} CamsimFeeder;

/* Feeders currently running, so the exit path can stop them. */
static GMutex camsim_feeders_lock;
static GList *camsim_feeders;
static GMutex camsim_out_lock;

/*
 * Print one status line to stdout and flush it at once: the lines come
 * from several threads and tests read them while the process runs.
 */
static void camsim_say(const char *fmt, ...)
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

/*
 * Open FILE with libavformat and locate its video stream.  Shared by the
 * start-up probe and the feeder, so both see the file the same way.
 * Returns the stream index, or -1 with the reason in why[CAMSIM_WHY].
 */
static int camsim_open(const char *path, AVFormatContext **out, char *why)
{
	AVFormatContext *fmt = NULL;
	int idx, err;

	*out = NULL;
	err = avformat_open_input(&fmt, path, NULL, NULL);
	if (err < 0) {
		av_strerror(err, why, CAMSIM_WHY);
		return -1;
	}
	if (avformat_find_stream_info(fmt, NULL) < 0) {
		g_strlcpy(why, "cannot read stream information", CAMSIM_WHY);
		avformat_close_input(&fmt);
		return -1;
	}
	idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (idx < 0) {
		g_strlcpy(why, "no video stream", CAMSIM_WHY);
		avformat_close_input(&fmt);
		return -1;
	}
	*out = fmt;
	return idx;
}

/*
 * Probe a mount's file once at start-up: check the codec and derive the
 * appsrc caps.  MP4/MKV carry avcC/hvcC extradata (first byte 1), which
 * becomes codec_data; otherwise the stream is sent as Annex B byte-stream
 * with any extradata parameter sets put in front of the first packet.
 */
static gboolean camsim_probe(CamsimMount *m, char *why)
{
	AVFormatContext *fmt;
	AVCodecParameters *par;
	AVRational fps;
	int idx = camsim_open(m->path, &fmt, why);

	if (idx < 0)
		return FALSE;
	par = fmt->streams[idx]->codecpar;
	if (par->codec_id != AV_CODEC_ID_H264 && par->codec_id != AV_CODEC_ID_HEVC) {
		g_snprintf(why, CAMSIM_WHY, "video codec %s is neither H.264 nor H.265",
			avcodec_get_name(par->codec_id));
		avformat_close_input(&fmt);
		return FALSE;
	}
	m->hevc = par->codec_id == AV_CODEC_ID_HEVC;
	m->byte_stream = !(par->extradata_size > 0 && par->extradata[0] == 1);
	m->caps = gst_caps_new_simple(m->hevc ? "video/x-h265" : "video/x-h264",
		"stream-format", G_TYPE_STRING,
		m->byte_stream ? "byte-stream" : (m->hevc ? "hvc1" : "avc"),
		"alignment", G_TYPE_STRING, "au",
		"width", G_TYPE_INT, par->width,
		"height", G_TYPE_INT, par->height, NULL);
	fps = fmt->streams[idx]->avg_frame_rate;
	if (fps.num > 0 && fps.den > 0)
		gst_caps_set_simple(m->caps, "framerate", GST_TYPE_FRACTION,
			fps.num, fps.den, NULL);
	if (!m->byte_stream) {
		GstBuffer *cd = gst_buffer_new_memdup(par->extradata, par->extradata_size);

		gst_caps_set_simple(m->caps, "codec_data", GST_TYPE_BUFFER, cd, NULL);
		gst_buffer_unref(cd);
	} else if (par->extradata_size > 0) {
		m->header = g_memdup2(par->extradata, par->extradata_size);
		m->header_size = par->extradata_size;
	}
	avformat_close_input(&fmt);
	return TRUE;
}

/*
 * Sleep until monotonic time `until` or until the feeder is told to stop.
 * Returns FALSE when stopping.  Caller holds f->lock.
 */
static gboolean camsim_feeder_sleep(CamsimFeeder *f, gint64 until)
{
	while (!f->stop && g_get_monotonic_time() < until)
		g_cond_wait_until(&f->cond, &f->lock, until);
	return !f->stop;
}

/*
 * Fault injection on one outgoing buffer: flip one bit in every 512 bytes
 * after the first 16 (NAL headers and length prefixes mostly survive, the
 * slice data does not), or cut the packet to half its size.
 */
static void camsim_damage(CamsimMount *m, GstBuffer *buf, int skip)
{
	static guint32 seed = 12345;
	int how = g_atomic_int_get(&m->damage);
	gsize size = gst_buffer_get_size(buf);
	GstMapInfo map;

	if (how == CAMSIM_TRUNCATE && size > (gsize)skip + 16) {
		gst_buffer_resize(buf, 0, skip + (size - skip) / 2);
		return;
	}
	if (how != CAMSIM_CORRUPT || !gst_buffer_map(buf, &map, GST_MAP_WRITE))
		return;
	for (gsize i = skip + 16; i < map.size; i += 512) {
		seed = seed * 1103515245u + 12345u;
		map.data[i + (seed >> 16) % MIN(512, map.size - i)] ^= (guint8)(1u << (seed % 8));
	}
	gst_buffer_unmap(buf, &map);
}

/*
 * Wrap one packet in a GstBuffer and push it.  Its decode time stamp is
 * the pipeline running time at which the packet was due (now, minus how
 * late the feeder woke up), so thread scheduling jitter does not reach
 * the stream; the presentation time stamp adds the file's pts-dts offset
 * so B-frames keep their display order.  Without a clock yet, appsrc
 * (do-timestamp) stamps the buffer itself.  Duration and key/delta flag
 * come from the file.
 */
static void camsim_feeder_push(CamsimFeeder *f, const CamsimMount *src, const AVPacket *pkt,
	gint64 dur_us, gint64 late_us, gint64 reorder_us, gboolean with_header)
{
	CamsimMount *m = f->mount;
	int extra = with_header ? src->header_size : 0;
	GstBuffer *buf = gst_buffer_new_allocate(NULL, extra + pkt->size, NULL);
	GstClock *clock = gst_element_get_clock(f->appsrc);

	if (clock) {
		GstClockTime now = gst_clock_get_time(clock);
		GstClockTime due = gst_element_get_base_time(f->appsrc) + late_us * GST_USECOND;

		if (now > due) {
			GST_BUFFER_DTS(buf) = now - due;
			GST_BUFFER_PTS(buf) = now - due + reorder_us * GST_USECOND;
		}
		gst_object_unref(clock);
	}
	if (extra)
		gst_buffer_fill(buf, 0, src->header, extra);
	gst_buffer_fill(buf, extra, pkt->data, pkt->size);
	camsim_damage(m, buf, extra);
	GST_BUFFER_DURATION(buf) = dur_us * GST_USECOND;
	if (!(pkt->flags & AV_PKT_FLAG_KEY))
		GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
	/* FLUSHING while the media shuts down is expected; we are stopped soon. */
	gst_app_src_push_buffer(GST_APP_SRC(f->appsrc), buf);
}

/*
 * Play the file once, from its first packet to the end.  Packet n is
 * pushed at monotonic time *origin + base_us + (dts_n - dts_0), so loops
 * follow each other on one continuous time line.  *origin is set by the
 * very first packet of the media (0 means unset).  If we fall far behind
 * (a stalled machine), *origin moves forward instead of bursting.
 * Returns the loop's length in microseconds, or -1 if nothing was read.
 */
static gint64 camsim_feeder_play_once(CamsimFeeder *f, guint loop,
	gint64 *origin, gint64 base_us)
{
	char why[CAMSIM_WHY];
	AVFormatContext *fmt;
	AVPacket *pkt;
	AVStream *st;
	AVRational us = { 1, 1000000 };
	gint64 first = AV_NOPTS_VALUE;
	gint64 rel_us = 0, next_us = 0, end_us = -1, frame_us = 40000;
	gint alt = f->mount->alt && g_atomic_int_get(&f->mount->use_alt);
	CamsimMount *src = alt ? f->mount->alt : f->mount;
	int idx = camsim_open(src->path, &fmt, why);

	if (idx < 0) {
		g_printerr("camsim: mount %s: %s: %s\n", f->mount->name, src->path, why);
		return -1;
	}
	/* The other file's caps (size, parameter sets) go downstream first. */
	if (src != f->source) {
		gst_app_src_set_caps(GST_APP_SRC(f->appsrc), src->caps);
		f->source = src;
	}
	st = fmt->streams[idx];
	if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
		frame_us = av_rescale(1000000, st->avg_frame_rate.den, st->avg_frame_rate.num);
	pkt = av_packet_alloc();

	g_mutex_lock(&f->lock);
	while (!f->stop) {
		gint64 ts, dur_us, reorder_us = 0, now, target;
		int err;

		g_mutex_unlock(&f->lock);
		err = av_read_frame(fmt, pkt);
		g_mutex_lock(&f->lock);
		if (err == AVERROR(EAGAIN))
			continue;
		if (err < 0)
			break;          /* end of file (or a read error): loop again */
		if (f->mount->alt && g_atomic_int_get(&f->mount->use_alt) != alt) {
			av_packet_unref(pkt);
			break;          /* switched: the other file from its start */
		}
		if (pkt->stream_index != idx || pkt->size <= 0) {
			av_packet_unref(pkt);
			continue;
		}

		/*
		 * Time of this packet since the loop's first one.  A packet
		 * without time stamps follows the previous one after its
		 * duration; time never goes backwards.
		 */
		ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
		dur_us = pkt->duration > 0 ? av_rescale_q(pkt->duration, st->time_base, us)
			: frame_us;
		if (ts != AV_NOPTS_VALUE && first == AV_NOPTS_VALUE)
			first = ts - av_rescale_q(next_us, us, st->time_base);
		rel_us = ts != AV_NOPTS_VALUE
			? MAX(rel_us, av_rescale_q(ts - first, st->time_base, us)) : next_us;
		next_us = rel_us + dur_us;
		if (pkt->pts != AV_NOPTS_VALUE && pkt->dts != AV_NOPTS_VALUE && pkt->pts > pkt->dts)
			reorder_us = av_rescale_q(pkt->pts - pkt->dts, st->time_base, us);

		/* Fault injection: hold the packet while the mount is stalled,
		 * then carry on from now rather than bursting. */
		if (g_atomic_int_get(&f->mount->stalled)) {
			gint64 held = g_get_monotonic_time();
			while (g_atomic_int_get(&f->mount->stalled) &&
			       camsim_feeder_sleep(f, g_get_monotonic_time() + 50000))
				;
			if (*origin)
				*origin += g_get_monotonic_time() - held;
		}
		now = g_get_monotonic_time();
		if (*origin == 0)
			*origin = now;
		target = *origin + base_us + rel_us;
		if (now - target > CAMSIM_MAX_LATE_US) {
			*origin += now - target;
			target = now;
		}
		if (!camsim_feeder_sleep(f, target)) {
			av_packet_unref(pkt);
			break;
		}

		if (end_us < 0)
			camsim_say("mount=%s loop=%u start_us=%" G_GINT64_FORMAT,
				f->mount->name, loop, g_get_real_time());
		camsim_feeder_push(f, src, pkt, dur_us, MAX(0, g_get_monotonic_time() - target),
			reorder_us, end_us < 0 && src->header);
		end_us = MAX(end_us, rel_us + dur_us);
		av_packet_unref(pkt);
	}
	g_mutex_unlock(&f->lock);

	av_packet_free(&pkt);
	avformat_close_input(&fmt);
	return end_us;
}

/*
 * Feeder thread: wait until the pipeline first asks for data, then play
 * the file over and over until told to stop.  The server prerolls a live
 * pipeline by setting it PLAYING while it answers the first client's
 * DESCRIBE, so loop 0 starts as that client begins to play; packets
 * pushed before its PLAY wait in the pipeline and keep their time stamps.
 */
static gpointer camsim_feeder_run(gpointer data)
{
	CamsimFeeder *f = data;
	gint64 origin = 0, base_us = 0;
	guint loop = 0;
	gboolean stop;

	g_mutex_lock(&f->lock);
	while (!f->started && !f->stop)
		g_cond_wait(&f->cond, &f->lock);
	g_mutex_unlock(&f->lock);

	do {
		gint64 len = camsim_feeder_play_once(f, loop, &origin, base_us);

		if (len > 0) {
			base_us += len;
			loop++;
		}
		g_mutex_lock(&f->lock);
		/* Unreadable now: do not spin; try again a little later. */
		if (len <= 0)
			camsim_feeder_sleep(f, g_get_monotonic_time() + CAMSIM_RETRY_US);
		stop = f->stop;
		g_mutex_unlock(&f->lock);
	} while (!stop);
	return NULL;
}

/* appsrc "need-data": the first call releases the feeder thread. */
static void camsim_on_need_data(GstAppSrc *src, guint length, gpointer data)
{
	CamsimFeeder *f = data;

	(void)src;
	(void)length;
	g_mutex_lock(&f->lock);
	if (!f->started) {
		f->started = TRUE;
		g_cond_signal(&f->cond);
	}
	g_mutex_unlock(&f->lock);
}

/*
 * Tell a feeder to stop and wait for its thread.  With `release`, also
 * free it: only safe once the pipeline is down, since the appsrc's
 * streaming thread calls camsim_on_need_data with it.
 */
static void camsim_feeder_stop(CamsimFeeder *f, gboolean release)
{
	g_mutex_lock(&f->lock);
	f->stop = TRUE;
	g_cond_signal(&f->cond);
	g_mutex_unlock(&f->lock);
	g_thread_join(f->thread);
	if (!release)
		return;
	g_signal_handlers_disconnect_by_data(f->appsrc, f);
	gst_object_unref(f->appsrc);
	g_mutex_clear(&f->lock);
	g_cond_clear(&f->cond);
	g_free(f);
}

/*
 * Take a feeder out of the running list.  Returns FALSE if someone else
 * (the exit path or another signal) already did, so each feeder is
 * stopped exactly once.
 */
static gboolean camsim_feeder_unlist(CamsimFeeder *f)
{
	GList *link;

	g_mutex_lock(&camsim_feeders_lock);
	link = g_list_find(camsim_feeders, f);
	if (link)
		camsim_feeders = g_list_delete_link(camsim_feeders, link);
	g_mutex_unlock(&camsim_feeders_lock);
	return link != NULL;
}

/*
 * media "unprepared": the last client left and the pipeline is already
 * down (it is emitted after the state change to NULL); stop feeding.
 */
static void camsim_on_unprepared(GstRTSPMedia *media, gpointer data)
{
	CamsimFeeder *f = data;

	g_signal_handlers_disconnect_by_data(media, f);
	if (camsim_feeder_unlist(f))
		camsim_feeder_stop(f, TRUE);
}

/*
 * factory "media-configure": a new media was built for a mount.  Give its
 * appsrc the caps from the file, and start a feeder thread that waits
 * for the pipeline's first request for data.
 */
static void camsim_on_media_configure(GstRTSPMediaFactory *factory,
	GstRTSPMedia *media, gpointer data)
{
	CamsimMount *m = data;
	GstElement *bin = gst_rtsp_media_get_element(media);
	GstElement *src = gst_bin_get_by_name_recurse_up(GST_BIN(bin), "src");
	CamsimFeeder *f;

	(void)factory;
	gst_object_unref(bin);
	if (!src) {
		g_printerr("camsim: mount %s: pipeline has no appsrc\n", m->name);
		return;
	}
	gst_app_src_set_caps(GST_APP_SRC(src), m->caps);
	/* Bounded queue; if nobody drains it, old data goes first. */
	gst_app_src_set_max_bytes(GST_APP_SRC(src), CAMSIM_QUEUE_BYTES);
	gst_app_src_set_leaky_type(GST_APP_SRC(src), GST_APP_LEAKY_TYPE_DOWNSTREAM);

	f = g_new0(CamsimFeeder, 1);
	f->mount = m;
	f->appsrc = src;
	g_mutex_init(&f->lock);
	g_cond_init(&f->cond);
	f->thread = g_thread_new("camsim-feed", camsim_feeder_run, f);

	g_mutex_lock(&camsim_feeders_lock);
	camsim_feeders = g_list_prepend(camsim_feeders, f);
	g_mutex_unlock(&camsim_feeders_lock);
	g_signal_connect(src, "need-data", G_CALLBACK(camsim_on_need_data), f);
	g_signal_connect(media, "unprepared", G_CALLBACK(camsim_on_unprepared), f);
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
 * Create the shared factory for one mount.  When listening on a specific
 * address, the server's UDP ports are bound to it too, so RTP over UDP
 * stays on that address.
 */
static GstRTSPMediaFactory *camsim_factory_new(CamsimMount *m, const char *address)
{
	GstRTSPMediaFactory *fac = gst_rtsp_media_factory_new();
	const char *parse = m->hevc ? "h265parse" : "h264parse";
	const char *pay = m->hevc ? "rtph265pay" : "rtph264pay";
	char *launch = g_strdup_printf(
		"( appsrc name=src is-live=true format=time do-timestamp=true ! %s"
		" ! %s name=pay0 pt=96 config-interval=-1 )", parse, pay);

	gst_rtsp_media_factory_set_launch(fac, launch);
	g_free(launch);
	gst_rtsp_media_factory_set_shared(fac, TRUE);
	gst_rtsp_media_factory_set_protocols(fac,
		GST_RTSP_LOWER_TRANS_TCP | GST_RTSP_LOWER_TRANS_UDP);
	if (strcmp(address, "0.0.0.0") != 0 && strcmp(address, "::") != 0) {
		GstRTSPAddressPool *pool = gst_rtsp_address_pool_new();

		if (gst_rtsp_address_pool_add_range(pool, address, address, 40000, 59999, 0))
			gst_rtsp_media_factory_set_address_pool(fac, pool);
		g_object_unref(pool);
	}
	g_signal_connect(fac, "media-configure", G_CALLBACK(camsim_on_media_configure), m);
	return fac;
}

/*
 * Parse the command line into port, address and mounts.  Returns 0 to
 * run, 1 after --help, 2 on a usage error (already reported).
 */
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

static GstRTSPMediaFactory *camsim_factory_new(CamsimMount *m, const char *address);

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
static gboolean camsim_on_stdin(GIOChannel *ch, GIOCondition cond, gpointer data)
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

/*
 * Stop every feeder still running (the exit path).  Their pipelines may
 * still be running, so they are not freed: the process is about to end.
 */
static void camsim_stop_all_feeders(void)
{
	GList *all;

	g_mutex_lock(&camsim_feeders_lock);
	all = camsim_feeders;
	camsim_feeders = NULL;
	g_mutex_unlock(&camsim_feeders_lock);
	for (GList *l = all; l; l = l->next)
		camsim_feeder_stop(l->data, FALSE);
	g_list_free(all);
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
