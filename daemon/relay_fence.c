/* The relay's cluster fence; see relay_fence.h. */
#include "relay_fence.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

void relay_fence_init(struct relay_fence *f, const struct vigil_config *cfg,
		      const struct status_page *page)
{
	memset(f, 0, sizeof(*f));
	f->on = config_zk_mode(cfg);
	f->page = page;
	owned_path(cfg->data_dir, f->path, sizeof(f->path));
}

void relay_fence_free(struct relay_fence *f)
{
	owned_free(&f->owned);
}

int relay_fence_closed(const struct relay_fence *f)
{
	return f->on && (!f->page || status_now_ms() >= atomic_load(&f->page->fence_ms));
}

/* Re-read the owned file when it changed. */
static void relay_fence_refresh(struct relay_fence *f)
{
	struct stat st;

	if (stat(f->path, &st) < 0) {
		owned_free(&f->owned);
		return;
	}
	if (st.st_mtim.tv_sec == f->mtime.tv_sec && st.st_mtim.tv_nsec == f->mtime.tv_nsec)
		return;
	if (owned_read(f->path, &f->owned) == 0)
		f->mtime = st.st_mtim;
}

int relay_fence_superseded(struct relay_fence *f, const struct relaylink_alert *in)
{
	static const char key[] = "\"owner_epoch\":";
	char cam[VIGIL_TOKEN_MAX + 1], num[24];
	const char *t = in->topic, *end = in->topic + in->topic_len, *p, *q;
	size_t klen = sizeof(key) - 1, n;
	int dots = 0;

	if (!f->on)
		return 0;
	/* owner_epoch in the payload (bounded: the payload is not a string). */
	for (p = in->payload; p + klen <= in->payload + in->payload_len; p++)
		if (memcmp(p, key, klen) == 0)
			break;
	if (p + klen > in->payload + in->payload_len)
		return 0;   /* not a cluster-owned camera's alert */
	p += klen;
	for (n = 0; p + n < in->payload + in->payload_len && n + 1 < sizeof(num) &&
	     p[n] >= '0' && p[n] <= '9'; n++)
		num[n] = p[n];
	num[n] = '\0';
	/* alert.<severity>.<district>.<grid>.<camera>.<type> */
	for (p = t; p < end && dots < 4; p++)
		dots += *p == '.';
	for (q = p; q < end && *q != '.'; q++)
		;
	if (dots < 4 || q == p || (size_t)(q - p) >= sizeof(cam))
		return 0;
	memcpy(cam, p, (size_t)(q - p));
	cam[q - p] = '\0';
	relay_fence_refresh(f);
	return owned_epoch(&f->owned, cam) != strtoll(num, NULL, 10);
}
