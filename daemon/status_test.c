/* Tests of the status pages: a page created by one side and mapped from
 * its fd by the other shares slots; claimed slots are reused after
 * release; strings are copied whole; reset clears what a child left. */
#include "status.h"

#include <unistd.h>

#include "testing.h"

static void test_shared_between_mappings(void)
{
	struct status_page *sup = NULL, *child;
	int fd = status_page_create(&sup, 2);

	CHECK(fd >= 0 && sup);
	if (fd < 0)
		return;
	child = status_page_map(fd);
	CHECK(child != NULL && child != sup);
	status_beat(child);
	atomic_store(&child->ready, 1);
	CHECK(atomic_load(&sup->heartbeat_ms) > 0 && atomic_load(&sup->ready) == 1);

	struct status_slot *a = status_slot_claim(child, "cam-a");
	struct status_slot *b = status_slot_claim(child, "cam-b");
	CHECK(a && b && a != b);
	CHECK(atomic_load(&sup->nslots) == 2);
	status_slot_set_text(a, "open: timed out", "motion start 2026-01-01T00:00:00.000Z");
	atomic_store(&a->busy, 1);

	struct status_text t;
	status_slot_get_text(&sup->slots[0], &t);
	CHECK(strcmp(t.id, "cam-a") == 0);
	CHECK(strcmp(t.last_error, "open: timed out") == 0);
	CHECK(strcmp(t.last_alert, "motion start 2026-01-01T00:00:00.000Z") == 0);
	CHECK(atomic_load(&sup->slots[0].busy) == 1);

	/* A released slot is reused, with fresh counters and strings. */
	atomic_store(&a->packets, 42);
	status_slot_release(a);
	CHECK(!atomic_load(&sup->slots[0].used) && !atomic_load(&sup->slots[0].busy));
	struct status_slot *c = status_slot_claim(child, "cam-c");
	CHECK(c == a && atomic_load(&c->packets) == 0);
	status_slot_get_text(&sup->slots[0], &t);
	CHECK(strcmp(t.id, "cam-c") == 0 && t.last_error[0] == '\0');

	/* Full: both slots are taken. */
	CHECK(status_slot_claim(child, "cam-d") == NULL);
	CHECK(child->capacity == 2);

	status_page_reset(sup);
	CHECK(atomic_load(&child->nslots) == 0 && atomic_load(&child->ready) == 0);
	CHECK(atomic_load(&child->heartbeat_ms) == 0);
	CHECK(!atomic_load(&child->slots[1].used));
	status_page_unmap(child);
	status_page_unmap(sup);
	status_page_unmap(NULL);
	close(fd);
}

static void test_long_strings_truncated(void)
{
	struct status_page *p = NULL;
	char longer[300];
	int fd = status_page_create(&p, 1);

	if (fd < 0) {
		CHECK(fd >= 0);
		return;
	}
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	struct status_slot *s = status_slot_claim(p, longer);
	status_slot_set_text(s, longer, NULL);
	struct status_text t;
	status_slot_get_text(s, &t);
	CHECK(strlen(t.id) == STATUS_ID_LEN - 1);
	CHECK(strlen(t.last_error) == STATUS_TEXT_LEN - 1);
	CHECK(t.last_alert[0] == '\0');
	status_page_unmap(p);
	close(fd);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_shared_between_mappings),
		TEST(test_long_strings_truncated),
		{ NULL, NULL }
	};
	return test_run("status", cases);
}
