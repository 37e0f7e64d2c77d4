/* Status pages shared between the supervisor and a child; see status.h. */
#define _GNU_SOURCE
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *camera_state_name(int state)
{
	switch (state) {
	case CAMERA_CONNECTING: return "connecting";
	case CAMERA_STREAMING: return "streaming";
	case CAMERA_DOWN: return "down";
	}
	return "?";
}

static size_t status_page_size(unsigned capacity)
{
	return sizeof(struct status_page) + (size_t)capacity * sizeof(struct status_slot);
}

int status_page_create(struct status_page **page, unsigned capacity)
{
	int fd = memfd_create("vigil-status", MFD_CLOEXEC);
	size_t size = status_page_size(capacity);
	struct status_page *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		close(fd);
		return -e;
	}
	p->capacity = capacity;
	*page = p;
	return fd;
}

struct status_page *status_page_map(int fd)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(struct status_page))
		return NULL;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Never trust a capacity beyond what is mapped. */
	if (status_page_size(((struct status_page *)p)->capacity) > (size_t)st.st_size) {
		munmap(p, (size_t)st.st_size);
		return NULL;
	}
	return p;
}

void status_page_unmap(struct status_page *page)
{
	if (page)
		munmap(page, status_page_size(page->capacity));
}

/* Only the slots in use are touched, so untouched pages of the memfd
 * stay unallocated. */
void status_page_reset(struct status_page *page)
{
	unsigned n = atomic_load(&page->nslots);

	atomic_store(&page->heartbeat_ms, 0);
	atomic_store(&page->ready, 0);
	atomic_store(&page->reloads, 0);
	atomic_store(&page->reload_wanted, 0);
	atomic_store(&page->fence_ms, 0);
	if (n > page->capacity)
		n = page->capacity;
	memset(page->slots, 0, n * sizeof(page->slots[0]));
	atomic_store(&page->nslots, 0);
}

long long status_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void status_beat(struct status_page *page)
{
	if (page)
		atomic_store(&page->heartbeat_ms, status_now_ms());
}

struct status_slot *status_slot_claim(struct status_page *page, const char *id)
{
	unsigned n = atomic_load(&page->nslots);
	struct status_slot *s = NULL;

	for (unsigned i = 0; i < n && !s; i++)
		if (!atomic_load(&page->slots[i].used))
			s = &page->slots[i];
	if (!s) {
		if (n >= page->capacity)
			return NULL;
		s = &page->slots[n];
	}
	atomic_store(&s->state, 0);
	atomic_store(&s->busy, 0);
	atomic_store(&s->packets, 0);
	atomic_store(&s->frames_decoded, 0);
	atomic_store(&s->frames_analysed, 0);
	atomic_store(&s->bytes, 0);
	atomic_store(&s->decode_us, 0);
	atomic_store(&s->reconnects, 0);
	atomic_store(&s->fps_in_milli, 0);
	atomic_store(&s->fps_an_milli, 0);
	atomic_store(&s->kbps, 0);
	for (int l = 0; l < STATUS_MAX_LINES; l++)
		atomic_store(&s->crossings[l][0], 0), atomic_store(&s->crossings[l][1], 0);
	atomic_store(&s->gated_us, 0);
	atomic_store(&s->gate_open, 0);
	atomic_store(&s->watched_us, 0);
	atomic_store(&s->gate_openings, 0);
	atomic_store(&s->catchup_us, 0);
	atomic_store(&s->catchup_median_us, 0);
	atomic_fetch_add(&s->gen, 1);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->last_error[0] = s->last_alert[0] = '\0';
	atomic_fetch_add(&s->gen, 1);
	atomic_store(&s->used, 1);
	if (s == &page->slots[n])
		atomic_store(&page->nslots, n + 1);
	return s;
}

void status_slot_release(struct status_slot *slot)
{
	if (slot) {
		atomic_store(&slot->busy, 0);
		atomic_store(&slot->used, 0);
	}
}

void status_slot_set_text(struct status_slot *slot, const char *last_error,
			  const char *last_alert)
{
	atomic_fetch_add(&slot->gen, 1);
	if (last_error)
		snprintf(slot->last_error, sizeof(slot->last_error), "%s", last_error);
	if (last_alert)
		snprintf(slot->last_alert, sizeof(slot->last_alert), "%s", last_alert);
	atomic_fetch_add(&slot->gen, 1);
}

void status_slot_get_text(struct status_slot *slot, struct status_text *out)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned g = atomic_load(&slot->gen);
		if (g & 1)
			continue;
		memcpy(out->id, slot->id, sizeof(out->id));
		memcpy(out->last_error, slot->last_error, sizeof(out->last_error));
		memcpy(out->last_alert, slot->last_alert, sizeof(out->last_alert));
		if (atomic_load(&slot->gen) == g)
			break;
	}
	out->id[sizeof(out->id) - 1] = '\0';
	out->last_error[sizeof(out->last_error) - 1] = '\0';
	out->last_alert[sizeof(out->last_alert) - 1] = '\0';
}
