/* Event engine: turns per-frame observations into events with phases.
 *
 * An event starts after start_frames consecutive frames with an
 * observation, sends an update at most every update_us while it lasts and
 * ends after end_gap_us without one. */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stdint.h>

enum event_phase { EVENT_NONE, EVENT_START, EVENT_UPDATE, EVENT_END };

struct event_state {
	int start_frames;
	int64_t end_gap_us;
	int64_t update_us;

	int active;
	int run;                /* consecutive frames with an observation */
	int64_t first_us;       /* wall time of the first frame of the run */
	int64_t last_seen_us;   /* wall time of the newest observation */
	int64_t last_sent_us;   /* wall time of the last start/update */
	char id[96];            /* current or last event id */
};

void event_init(struct event_state *e, int start_frames);
/* Feed one analysed frame; returns the phase to publish, if any. The
 * event id is set on EVENT_START from prefix and the frame time. */
enum event_phase event_step(struct event_state *e, int observed, int64_t now_us,
			    const char *prefix);
const char *event_phase_name(enum event_phase p);

#endif
