/* Event engine; see event.h. */
#include "event.h"

#include <stdio.h>
#include <string.h>

void event_init(struct event_state *e, int start_frames)
{
	memset(e, 0, sizeof(*e));
	e->start_frames = start_frames > 0 ? start_frames : 1;
	e->end_gap_us = 2000000;
	e->update_us = 5000000;
}

enum event_phase event_step(struct event_state *e, int observed, int64_t now_us,
			    const char *prefix)
{
	if (observed) {
		if (e->run++ == 0)
			e->first_us = now_us;
		e->last_seen_us = now_us;
	} else {
		e->run = 0;
	}
	if (!e->active) {
		if (e->run < e->start_frames)
			return EVENT_NONE;
		e->active = 1;
		e->last_sent_us = now_us;
		snprintf(e->id, sizeof(e->id), "%s-%lld", prefix,
			 (long long)(e->first_us / 1000));
		return EVENT_START;
	}
	if (now_us - e->last_seen_us >= e->end_gap_us) {
		e->active = 0;
		e->run = 0;
		return EVENT_END;
	}
	if (observed && now_us - e->last_sent_us >= e->update_us) {
		e->last_sent_us = now_us;
		return EVENT_UPDATE;
	}
	return EVENT_NONE;
}

const char *event_phase_name(enum event_phase p)
{
	switch (p) {
	case EVENT_START: return "start";
	case EVENT_UPDATE: return "update";
	case EVENT_END: return "end";
	case EVENT_NONE: break;
	}
	return "none";
}
