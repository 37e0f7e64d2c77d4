/* How much of a fragmented MP4 that is still being written can be
 * served: its top-level boxes up to the end of the last complete
 * fragment.
 *
 * The clip writer appends ftyp and moov, then a moof and its mdat per
 * fragment (see clipfile.h). A reader that stops at the end of a whole
 * mdat gets a file a player can play; one that stops inside a box, or
 * after a moof whose mdat is not there yet, gets a broken tail. */
#ifndef VIGIL_MP4FRAG_H
#define VIGIL_MP4FRAG_H

#include <stdint.h>

/* At most this many boxes are walked (an hour of one-second fragments
 * is 7,200 pairs): a file with more serves what was found so far. */
#define MP4FRAG_MAX_BOXES 100000

/* The end of the last complete fragment of the file open at fd, which
 * holds size bytes: the end of the last whole box before which no moof
 * waits for its mdat. 0 when not even ftyp and moov are whole. Reads
 * box headers only (pread, 16 bytes each). Returns the offset or -errno. */
int64_t mp4frag_complete_end(int fd, int64_t size);

#endif
