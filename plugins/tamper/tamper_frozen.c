/* Frozen picture, whatever the frame duplication; see tamper.h.
 *
 * A camera at night (slow shutter) or behind a re-streamer may send the
 * same picture several times: 25 frames a second of which only 1 to 3
 * differ from the one before. Comparing each frame with the previous
 * one then sees "no change" most of the time, and a latch on that
 * condition never clears. So frozen is not "this frame equals the last"
 * but "no frame has differed for frozen seconds": the time of the last
 * differing frame is kept, and frozen holds while it is old enough.
 *
 * What "differs" means is learned from the frames that differ: the mean
 * change of a live picture between two of its distinct frames (sensor
 * noise, coding). Duplicates (change near zero) are left out of that
 * mean, or a stream of mostly duplicates would learn a normal change so
 * low that a frozen picture's coding noise would pass for life.
 *
 * A keyframe re-codes the whole picture: from a frozen source it differs
 * from the frame before about as much as a live frame does. So a change
 * that comes with a keyframe does not count, unless keyframes come often
 * (TAMPER_KEY_GAP_US: an intra-only stream, where every frame is one),
 * or the frames analysed are keyframes only (keyframes mode, gated mode
 * while quiet): two keyframes of a frozen source code it alike, so their
 * change is a real one. The rule holds only while frames that are not
 * keyframes are analysed too (one within the last TAMPER_KEY_GAP_US). */
#include "tamper.h"

/* A pair of frames counts toward the normal change when it changed at
 * least this fraction of the largest (learning) or normal change. */
#define TAMPER_DISTINCT 0.4
#define TAMPER_KEY_GAP_US 1000000

void tamper_frozen_learn(struct tamper_state *t, const struct tamper_stats *s)
{
	if (s->change > t->learn_change_max)
		t->learn_change_max = s->change;
	if (s->change <= 0 || s->change < TAMPER_DISTINCT * t->learn_change_max)
		return;
	/* Distinct pairs seen so far: a running mean of them. */
	t->normal_pairs++;
	t->normal.change += (s->change - t->normal.change) / t->normal_pairs;
}

int tamper_frozen(struct tamper_state *t, const struct tamper_stats *s, int64_t now,
		  int64_t frozen_us)
{
	int recoded = 0;

	if (!t->changed_us)
		t->changed_us = now;
	if (t->key_pending) {
		recoded = (!t->key_us || now - t->key_us >= TAMPER_KEY_GAP_US) &&
			  t->nonkey_us && now - t->nonkey_us < TAMPER_KEY_GAP_US;
		t->key_us = now;
		t->key_pending = 0;
	}
	if (s->change >= t->still * t->normal.change && s->change > 0 && !recoded) {
		t->changed_us = now;
		/* Follow a slowly changing noise level, from distinct pairs only. */
		if (s->change >= TAMPER_DISTINCT * t->normal.change)
			t->normal.change += (s->change - t->normal.change) *
					    (t->every / (60.0 * t->fps));
		return 0;
	}
	return now - t->changed_us >= frozen_us;
}
