/* Rendezvous hashing of camera ids; see shard.h. */
#include "shard.h"

#include <math.h>

/* FNV-1a over the id and the candidate number, finished with the
 * splitmix64 mixer so that nearby candidates get unrelated scores. */
uint64_t shard_score(const char *id, int candidate)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	h ^= (uint64_t)(unsigned)candidate + 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

int shard_owner(const char *id, int count)
{
	uint64_t best = 0;
	int owner = 0;

	for (int i = 0; i < count; i++) {
		uint64_t s = shard_score(id, i);
		if (i == 0 || s > best) {
			best = s;
			owner = i;
		}
	}
	return owner;
}

double shard_score_weighted(const char *id, const char *name, double weight)
{
	/* The top 53 bits, plus one: u in (0, 1], exact in a double. */
	double u = (double)((shard_score_name(id, name) >> 11) + 1) / 9007199254740992.0;

	if (u >= 1.0)
		return INFINITY;
	return -weight / log(u);
}

uint64_t shard_score_name(const char *id, const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	/* Fold the name into a candidate number, then score as usual. */
	return shard_score(id, (int)(h ^ (h >> 32)));
}
