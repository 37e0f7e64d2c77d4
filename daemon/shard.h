/* Which node of a cluster and which worker of a node owns a camera.
 *
 * Both use rendezvous (highest random weight) hashing of the camera id:
 * every candidate gets a score from hash(id, candidate) and the highest
 * wins. An owner depends only on the camera's own id and the number of
 * candidates, so adding or removing a camera never moves another one, and
 * going from N to N+1 candidates moves only the cameras the new one wins,
 * about 1/(N+1) of them. */
#ifndef VIGIL_SHARD_H
#define VIGIL_SHARD_H

#include <stdint.h>

/* 64-bit score of an id for one candidate (FNV-1a, then a mixer). */
uint64_t shard_score(const char *id, int candidate);

/* Score of an id for a named candidate (a cluster member): the same
 * hashing, the name standing for the candidate number. */
uint64_t shard_score_name(const char *id, const char *name);

/* Weighted score of an id for a named candidate: weight > 0 is the
 * candidate's share relative to the others (a cluster member's
 * capacity). -weight / ln(u), u the name score taken into (0, 1]:
 * the highest wins, each candidate wins a share of ids proportional to
 * its weight, and removing a candidate still moves only its own ids.
 * With equal weights the order is that of shard_score_name. */
double shard_score_weighted(const char *id, const char *name, double weight);

/* The candidate 0..count-1 that owns id; 0 when count <= 1. */
int shard_owner(const char *id, int count);

#endif
