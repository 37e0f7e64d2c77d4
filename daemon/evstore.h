/* Open events of a camera, kept on disk while they last.
 *
 * A worker that dies (SIGKILL, a crash) cannot send the end of the
 * events its cameras had open. So that no subscriber keeps such an event
 * open forever, the engine writes each event when it starts, as one small
 * file under DATA_DIR/events/CAMERA/ (written to a temporary file and
 * renamed, so a crash leaves the whole file or none), and removes it when
 * the event ends. When the camera starts again (its worker restarted, the
 * daemon restarted), every file left there is an event that nobody will
 * end: the engine sends its end alert and removes the file.
 *
 * The file holds what that end alert needs: the event's id, type, zone,
 * severity, start time and clip. video_loss is not kept here: the camera
 * takes it over instead (see camera.c). */
#ifndef VIGIL_EVSTORE_H
#define VIGIL_EVSTORE_H

#include <stdint.h>

struct evstore_event {
	char id[96];
	char type[48];
	char zone[64];          /* "" when the event has no zone */
	char severity[16];
	char clip[256];         /* relative to the clip directory, "" when none */
	int64_t start_us;
};

struct evstore {
	char dir[4200];         /* "" when disabled */
	const char *who;        /* camera id, for the log */
};

/* Keep the open events of camera under data_dir (NULL: keep nothing).
 * The directory is made on the first save. */
void evstore_init(struct evstore *s, const char *data_dir, const char *camera);
/* Make the camera's directory (and DATA_DIR/events) if missing: 0, or -1
 * with errno. evstore_save does it on the first save; the cluster's
 * watch of the directory needs it before. */
int evstore_mkdir(const struct evstore *s);
/* Write an event that started; failures are logged, not returned. */
void evstore_save(struct evstore *s, const struct evstore_event *ev);
/* The event ended: forget it. */
void evstore_remove(struct evstore *s, const char *id);
/* Call fn for every event left by an earlier run, then forget it. Files
 * that do not parse are reported and removed. Returns how many events
 * were found. */
int evstore_drain(struct evstore *s, void (*fn)(void *arg, const struct evstore_event *ev),
		  void *arg);

#endif
