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
 * from the frame measured before it, if that one was predicted, about as
 * much as a live frame does. So the change of such a pair does not
 * count. Two keyframes of a frozen source code it alike, though: when
 * the frame measured before was a keyframe too (an intra-only stream;
 * keyframes mode; gated mode while quiet), the change is a real one.
 * The rule is about the pair measured, not about time: in gated mode the
 * frames analysed switch between every frame and keyframes only, and a
 * rule on how recently a predicted frame was analysed ignored the first
 * keyframe pairs after such a switch, which then looked frozen.
 *
 * A pair whose change does not count says nothing either way. Over the
 * usual measuring interval that is a keyframe of a frozen picture, which
 * stays frozen; but over a gap (several intervals: gated mode going from
 * every frame to keyframes only, up to a GOP) the time since the last
 * change would pass for stillness that nothing measured. After such a
 * pair the clock starts again. */
#include "tamper.h"

/* A pair of frames counts toward the normal change when it changed at
 * least this fraction of the largest (learning) or normal change. */
#define TAMPER_DISTINCT 0.4
/* A gap: this many usual intervals between two measurements. */
#define TAMPER_GAP 3

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

int tamper_frozen_seen(struct tamper_state *t, int key, int64_t now)
{
	int64_t d = t->measured_us ? now - t->measured_us : 0;
	int gap = t->interval_us > 0 && d > TAMPER_GAP * t->interval_us;

	/* The usual interval follows what is measured (repeated pictures
	 * left out, keyframes only), an eighth a measurement. */
	if (d > 0)
		t->interval_us = t->interval_us ? t->interval_us + (d - t->interval_us) / 8 : d;
	t->key_pending = 0;
	t->prev_key = key;
	t->measured_us = now;
	return gap;
}

int tamper_frozen(struct tamper_state *t, const struct tamper_stats *s, int key, int64_t now,
		  int64_t frozen_us)
{
	int recoded = t->key_pending && !(key && t->prev_key);
	int gap = tamper_frozen_seen(t, key, now);

	if (!t->changed_us || (recoded && gap))
		t->changed_us = now;
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
