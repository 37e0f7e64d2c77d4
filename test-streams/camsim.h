/* camsim's files: camsim.c (command line, server, status lines),
 * camsim_media.c (probing files, the media factory and the threads that
 * feed each media's packets in real time) and camsim_control.c (the fault
 * commands read from stdin). See camsim.c for what camsim does. */
#ifndef CAMSIM_H
#define CAMSIM_H

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

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

/* Print one status line ("camsim: ...") to stdout and flush it. */
void camsim_say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* camsim_media.c */
gboolean camsim_probe(CamsimMount *m, char *why);
GstRTSPMediaFactory *camsim_factory_new(CamsimMount *m, const char *address);
void camsim_stop_all_feeders(void);

/* camsim_control.c: the stdin watch (data: the CamsimControl). */
gboolean camsim_on_stdin(GIOChannel *ch, GIOCondition cond, gpointer data);

#endif
