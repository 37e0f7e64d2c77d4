/* Clip retention: by age and by disk quota, oldest first, never a clip
 * that is being written.
 *
 * retention_pick() is the policy, a pure function tested on its own;
 * retention_run() applies it to the clip index and the files. */
#ifndef VIGIL_RETENTION_H
#define VIGIL_RETENTION_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct retention_clip {
	int64_t start_us;
	int64_t size;
	int recording;       /* being written: never deleted */
};

/* clips are sorted oldest first. Sets del[i] for every clip to delete:
 * those that started before now_us - max_age_us (max_age_us 0: no age
 * limit), then, oldest first, as many as it takes to free excess_bytes.
 * Returns the number marked. */
size_t retention_pick(const struct retention_clip *clips, size_t n, int64_t now_us,
		      int64_t max_age_us, int64_t excess_bytes, unsigned char *del);

/* Bytes over the quota: total clip bytes minus quota_bytes, or (percent
 * quota) bytes used on the filesystem of clip_dir over the percentage. */
int64_t retention_excess(const struct vigil_recording *conf, const char *clip_dir,
			 int64_t clip_bytes);

/* Delete what the policy picks from the index and the disk, logging each
 * clip (under its camera). Returns the number deleted or -errno. */
int retention_run(sqlite3 *db, const char *clip_dir, const struct vigil_recording *conf,
		  int64_t now_us);

#endif
