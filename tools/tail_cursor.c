/* vigil-tail's cursor file; see tail.h.
 *
 * The file is rewritten whole (to a temporary name, then renamed) so that
 * a crash leaves either the old or the new cursor, never half of one. */
#include "tail.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tail_cursor_load(const char *path, struct tail_cursor **out, int *n)
{
	FILE *f = fopen(path, "r");
	struct tail_cursor c, *all = NULL;
	char line[256];
	int lineno = 0;

	*out = NULL;
	*n = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%127s %" SCNd64 " %" SCNd64, c.instance, &c.epoch, &c.seq) != 3 ||
		    c.epoch < 0 || c.seq < 0) {
			fprintf(stderr, "vigil-tail: %s:%d: expected 'instance epoch seq', ignored\n",
				path, lineno);
			continue;
		}
		struct tail_cursor *grown = realloc(all, sizeof(*all) * (size_t)(*n + 1));
		if (!grown)
			break;
		all = grown;
		all[(*n)++] = c;
	}
	fclose(f);
	*out = all;
	return 0;
}

int tail_cursor_save(const char *path, struct tail_source *srcs, int nsrcs,
		     const struct tail_cursor *old, int nold)
{
	char tmp[4096];
	FILE *f;
	int r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# vigil-tail cursor: instance epoch seq\n");
	for (int i = 0; i < nsrcs; i++) {
		if (srcs[i].instance[0] && srcs[i].pos >= 0)
			fprintf(f, "%s %" PRId64 " %" PRId64 "\n", srcs[i].instance,
				srcs[i].epoch, srcs[i].pos);
		srcs[i].dirty = 0;
	}
	/* Instances not heard from this time keep their saved position. */
	for (int j = 0; j < nold; j++) {
		int seen = 0;
		for (int i = 0; i < nsrcs && !seen; i++)
			seen = strcmp(srcs[i].instance, old[j].instance) == 0;
		if (!seen)
			fprintf(f, "%s %" PRId64 " %" PRId64 "\n", old[j].instance, old[j].epoch,
				old[j].seq);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = -errno;
	if (fclose(f) != 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) != 0)
		r = -errno;
	return r;
}
