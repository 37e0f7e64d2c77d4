/* One camera: a thread that connects, reads, decodes and analyses.
 *
 * The per-frame loop is read -> decode -> downscale luma -> detect ->
 * event -> alert. Reading is ingest's (ingest.h: transport, deadlines,
 * pacing, the stream clock, backoff); when the stream fails the camera is
 * reported down and reconnected with exponential backoff. */
#ifndef VIGIL_CAMERA_H
#define VIGIL_CAMERA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "alert.h"
#include "analysis.h"
#include "config.h"
#include "gate.h"
#include "status.h"   /* enum camera_state, camera_state_name */

struct camera_stats {
	atomic_ulong packets_in;
	atomic_ulong frames_decoded;
	atomic_ulong bytes_in;
	atomic_ulong decode_us;     /* total time spent in the decoder */
	atomic_ulong reconnects;
	atomic_int state;
	/* "gated" mode (gate.h): stream time gated and watched, openings,
	 * catch-up times of the newest opening and median of the recent. */
	atomic_ulong gated_us, watched_us, openings, catchup_us, catchup_median_us;
	atomic_int gate_open;       /* decoding everything now */
	char last_error[128];       /* written by the camera thread only */
};

struct camera {
	const struct vigil_camera *conf;
	int64_t open_timeout_us;
	int64_t read_timeout_us;

	pthread_t thread;
	int started;
	atomic_int stop;

	struct analysis an;
	struct recorder *rec;       /* clips; fed from here when rec_shared */
	int rec_shared;             /* record_url is the detect URL */
	int ever_streamed;          /* a packet arrived since the thread started */
	char loss_id[96];           /* open video_loss event, if any */
	int64_t loss_us;
	char loss_file[4200];       /* where an open video_loss outlives us */
	int refused_w, refused_h;   /* picture size the decoder was refused, if any */
	int fault_armed;            /* tests: abort when decoding starts (fault.h) */
	struct gate gate;           /* "gated" mode: its state outlives sessions */
	int64_t last_wall_us;       /* wall time of the newest packet */

	struct camera_stats stats;
	atomic_int *busy;           /* optional: held while decoding (crash attribution) */
};

/* Process-wide set-up of ingest (ingest_global_init); once per process,
 * before any camera starts. */
void camera_global_init(void);

/* An open video_loss event is kept in DATA_DIR/events/ID.video_loss
 * until video_restored ends it, so that a camera restarted (its worker
 * crashed, the daemon restarted, a reload) ends the event it had opened
 * rather than leaving it open for ever or opening a second one.
 *
 * rec (may be NULL) records this camera's clips; when the record URL is
 * the detect URL, the camera thread feeds it the packets it reads. slot
 * (may be NULL): the camera's status slot, whose busy flag is set to 1
 * while the thread feeds, decodes and analyses a packet, so that a crash
 * can be traced to the camera that was at work, and whose picture
 * requests it answers (DATA_DIR/pictures/<id>.jpg). */
int camera_start(struct camera *c, const struct vigil_camera *conf,
		 const char *plugin_dir, const char *data_dir, struct alert_queue *alerts,
		 struct recorder *rec, struct status_slot *slot);
/* Ask the thread to stop without waiting (so that many cameras stop in
 * parallel); camera_stop() then waits. NULL-safe. */
void camera_request_stop(struct camera *c);
/* Ask the thread to stop, wait for it and free everything. NULL-safe. */
void camera_stop(struct camera *c);

#endif
