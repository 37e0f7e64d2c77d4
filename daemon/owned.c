/* The owned-cameras file; see owned.h. */
#include "owned.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void owned_path(const char *data_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/owned", data_dir);
}

int owned_write(const char *path, const struct owned_set *s)
{
	char tmp[4200];
	FILE *f;
	int e = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%s %lld\n", s->items[i].id, s->items[i].epoch);
	if (fflush(f) != 0 || ferror(f))
		e = errno ? errno : EIO;
	if (fclose(f) != 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e)
		unlink(tmp);
	return -e;
}

int owned_read(const char *path, struct owned_set *s)
{
	FILE *f = fopen(path, "re");
	char line[256];
	size_t cap = 0;

	owned_free(s);
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		struct owned_camera c = { 0 };
		char fmt[32];

		snprintf(fmt, sizeof(fmt), "%%%ds %%lld", VIGIL_TOKEN_MAX);
		if (sscanf(line, fmt, c.id, &c.epoch) != 2 || c.epoch <= 0)
			continue;
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct owned_camera *v = realloc(s->items, nc * sizeof(*v));
			if (!v) {
				fclose(f);
				return -ENOMEM;
			}
			s->items = v;
			cap = nc;
		}
		s->items[s->n++] = c;
	}
	fclose(f);
	return 0;
}

long long owned_epoch(const struct owned_set *s, const char *id)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->items[i].id, id) == 0)
			return s->items[i].epoch;
	return 0;
}

void owned_free(struct owned_set *s)
{
	if (!s)
		return;
	free(s->items);
	s->items = NULL;
	s->n = 0;
}
