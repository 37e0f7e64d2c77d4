/* Sessions (in memory: a restart logs everyone out) and the slowing down
 * of failed logins, per user name and per client address.
 *
 * A name with 3 failures in a row (an address: 10, as a room's browsers
 * may share one) must wait before its next try: 1 s, then 2, 4, ... up
 * to 60 s; tries during the wait are refused
 * at once (429) without checking the password, so nobody's thread is
 * held. Each failed answer is also delayed a little (0.2 s per failure,
 * at most 1 s), in the thread of that request only. A good login clears
 * both counters. */
#include "http.h"

#include <errno.h>
#include <math.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_SLOTS   4096
#define THROTTLE_FREE_USER 3     /* failures before the first wait */
#define THROTTLE_FREE_ADDR 10
#define THROTTLE_MAX_S   60.0
#define THROTTLE_FORGET  900.0   /* a quiet key is forgotten after this */
#define AUTH_PARALLEL    2       /* password checks at once */

struct sessions {
	pthread_mutex_t lock;
	struct session *s;
	int n;
};

struct throttle_slot {
	char key[80];
	int failures;
	double until, last;
};

struct throttle {
	pthread_mutex_t lock;
	struct throttle_slot slots[THROTTLE_SLOTS];
};

static sem_t auth_sem;
static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void auth_init(void)
{
	sem_init(&auth_sem, 0, AUTH_PARALLEL);
}

void random_hex(char *out, size_t bytes)
{
	unsigned char b[64];

	randombytes_buf(b, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, b, bytes);
}

struct sessions *sessions_new(void)
{
	struct sessions *s = calloc(1, sizeof(*s));

	if (!s || !(s->s = calloc(SESSION_MAX, sizeof(*s->s)))) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void sessions_free(struct sessions *s)
{
	if (!s)
		return;
	sodium_memzero(s->s, sizeof(*s->s) * SESSION_MAX);
	free(s->s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int session_create(struct sessions *s, const struct user *u, struct session *out)
{
	double now = mono_s();
	int slot = -1, oldest = 0;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < SESSION_MAX; i++) {
		struct session *e = &s->s[i];
		if (e->token[0] && now - e->last_used > SESSION_IDLE_S)
			e->token[0] = '\0';
		if (!e->token[0] && slot < 0)
			slot = i;
		if (e->last_used < s->s[oldest].last_used)
			oldest = i;
	}
	/* Full: the least recently used session goes. */
	if (slot < 0)
		slot = oldest;
	random_hex(s->s[slot].token, HTTP_TOKEN_HEX / 2);
	random_hex(s->s[slot].csrf, HTTP_TOKEN_HEX / 2);
	s->s[slot].user = *u;
	s->s[slot].last_used = now;
	*out = s->s[slot];
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static struct session *session_slot(struct sessions *s, const char *token)
{
	if (!token || strlen(token) != HTTP_TOKEN_HEX)
		return NULL;
	for (int i = 0; i < SESSION_MAX; i++)
		if (s->s[i].token[0] && sodium_memcmp(s->s[i].token, token, HTTP_TOKEN_HEX) == 0)
			return &s->s[i];
	return NULL;
}

int session_find(struct sessions *s, const char *token, struct session *out)
{
	struct session *e;
	double now = mono_s();
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	e = session_slot(s, token);
	if (e && now - e->last_used <= SESSION_IDLE_S) {
		e->last_used = now;
		*out = *e;
		r = 0;
	} else if (e) {
		e->token[0] = '\0';
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void session_drop(struct sessions *s, const char *token)
{
	struct session *e;

	pthread_mutex_lock(&s->lock);
	if ((e = session_slot(s, token)))
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&s->lock);
}

struct throttle *throttle_new(void)
{
	struct throttle *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The slot of a key; create: take a free or the stalest one. */
static struct throttle_slot *throttle_slot(struct throttle *t, const char *key, int create)
{
	struct throttle_slot *stale = &t->slots[0];
	double now = mono_s();

	for (int i = 0; i < THROTTLE_SLOTS; i++) {
		struct throttle_slot *e = &t->slots[i];
		if (e->key[0] && now - e->last > THROTTLE_FORGET && now > e->until)
			e->key[0] = '\0';
		if (e->key[0] && strcmp(e->key, key) == 0)
			return e;
		if (!e->key[0] || e->last < stale->last)
			stale = e;
	}
	if (!create)
		return NULL;
	memset(stale, 0, sizeof(*stale));
	snprintf(stale->key, sizeof(stale->key), "%s", key);
	return stale;
}

double throttle_wait(struct throttle *t, const char *user, const char *addr)
{
	char keys[2][80];
	double wait = 0, now = mono_s();

	snprintf(keys[0], sizeof(keys[0]), "u:%s", user);
	snprintf(keys[1], sizeof(keys[1]), "a:%s", addr);
	pthread_mutex_lock(&t->lock);
	for (int k = 0; k < 2; k++) {
		struct throttle_slot *e = throttle_slot(t, keys[k], 0);
		if (e && e->until - now > wait)
			wait = e->until - now;
	}
	pthread_mutex_unlock(&t->lock);
	return wait;
}

double throttle_note(struct throttle *t, const char *user, const char *addr, int ok)
{
	char keys[2][80];
	double now = mono_s(), delay = 0;

	snprintf(keys[0], sizeof(keys[0]), "u:%s", user);
	snprintf(keys[1], sizeof(keys[1]), "a:%s", addr);
	pthread_mutex_lock(&t->lock);
	for (int k = 0; k < 2; k++) {
		struct throttle_slot *e = throttle_slot(t, keys[k], !ok);
		if (!e)
			continue;
		if (ok) {
			e->key[0] = '\0';
			continue;
		}
		int free_tries = k == 0 ? THROTTLE_FREE_USER : THROTTLE_FREE_ADDR;
		e->failures++;
		e->last = now;
		if (e->failures >= free_tries)
			e->until = now + fmin(THROTTLE_MAX_S, pow(2, e->failures - free_tries));
		delay = fmax(delay, fmin(1.0, 0.2 * e->failures));
	}
	pthread_mutex_unlock(&t->lock);
	return delay;
}

void auth_lock(void)
{
	pthread_once(&auth_once, auth_init);
	while (sem_wait(&auth_sem) < 0 && errno == EINTR)
		;
}

void auth_unlock(void)
{
	sem_post(&auth_sem);
}

int auth_check(struct store *st, const char *name, const char *password, struct user *u)
{
	return userdb_check(st->db, name, password, u);
}
