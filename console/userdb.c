/* The console's users; see userdb.h. */
#include "userdb.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define USERDB_SCHEMA \
	"CREATE TABLE IF NOT EXISTS users (" \
	" name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL," \
	" districts TEXT NOT NULL DEFAULT '');"

int name_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n < CONSOLE_NAME_MAX;
}

int user_parse_districts(struct user *u, const char *list, char *err, size_t n)
{
	const char *p = list;

	u->ndistricts = 0;
	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char d[CONSOLE_NAME_MAX];

		if (len == 0 || len >= CONSOLE_NAME_MAX) {
			snprintf(err, n, "bad district list '%s': empty or too long name", list);
			return -EINVAL;
		}
		memcpy(d, p, len);
		d[len] = '\0';
		if (!name_ok(d)) {
			snprintf(err, n, "bad district '%s': 1 to 32 letters, digits, _ or -", d);
			return -EINVAL;
		}
		if (u->ndistricts == CONSOLE_MAX_DISTRICTS) {
			snprintf(err, n, "at most %d districts", CONSOLE_MAX_DISTRICTS);
			return -EINVAL;
		}
		memcpy(u->districts[u->ndistricts++], d, len + 1);
		p = e ? e + 1 : NULL;
		if (e && !*p) {
			snprintf(err, n, "bad district list '%s': ends with a comma", list);
			return -EINVAL;
		}
	}
	return 0;
}

int user_may_see(const struct user *u, const char *district)
{
	if (u->supervisor)
		return 1;
	for (int i = 0; district && i < u->ndistricts; i++)
		if (strcmp(u->districts[i], district) == 0)
			return 1;
	return 0;
}

int userdb_open(const char *path, sqlite3 **db)
{
	char *msg = NULL;

	if (sodium_init() < 0)
		return -EIO;
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", path, *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return -EIO;
	}
	sqlite3_busy_timeout(*db, 5000);
	if (sqlite3_exec(*db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 USERDB_SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", path, msg ? msg : sqlite3_errmsg(*db));
		sqlite3_free(msg);
		sqlite3_close(*db);
		*db = NULL;
		return -EIO;
	}
	return 0;
}

static int userdb_hash_pw(const char *password, char out[crypto_pwhash_STRBYTES])
{
	if (crypto_pwhash_str_alg(out, password, strlen(password),
				  crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

static void userdb_join(const struct user *u, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < u->ndistricts && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "", u->districts[i]);
}

int userdb_add(sqlite3 *db, const struct user *u, const char *password)
{
	char hash[crypto_pwhash_STRBYTES], districts[CONSOLE_MAX_DISTRICTS * CONSOLE_NAME_MAX];
	sqlite3_stmt *st;
	int rc;

	if (userdb_hash_pw(password, hash) < 0)
		return -ENOMEM;
	userdb_join(u, districts, sizeof(districts));
	if (sqlite3_prepare_v2(db, "INSERT INTO users (name, hash, role, districts) "
			       "VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, u->supervisor ? "supervisor" : "operator", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, districts, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	sodium_memzero(hash, sizeof(hash));
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int userdb_change(sqlite3 *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	return sqlite3_changes(db) == 1 ? 0 : -ENOENT;
}

int userdb_del(sqlite3 *db, const char *name)
{
	return userdb_change(db, "DELETE FROM users WHERE name = ?", name, NULL);
}

int userdb_passwd(sqlite3 *db, const char *name, const char *password)
{
	char hash[crypto_pwhash_STRBYTES];
	int r;

	if (userdb_hash_pw(password, hash) < 0)
		return -ENOMEM;
	r = userdb_change(db, "UPDATE users SET hash = ?2 WHERE name = ?1", name, hash);
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int userdb_list(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT name, role, districts FROM users ORDER BY name", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(out, "%-32s %-10s %s\n", (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1),
			*sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "(all)");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int userdb_hash(sqlite3 *db, const char *name, char *buf, size_t n)
{
	sqlite3_stmt *st;
	int r = -ENOENT;

	if (sqlite3_prepare_v2(db, "SELECT hash FROM users WHERE name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

/* A hash to verify against when the user is unknown, so that an unknown
 * name costs as long as a wrong password. */
static char userdb_dummy[crypto_pwhash_STRBYTES];
static pthread_once_t userdb_dummy_once = PTHREAD_ONCE_INIT;

static void userdb_make_dummy(void)
{
	unsigned char r[16];
	char pw[sizeof(r) * 2 + 1];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(pw, sizeof(pw), r, sizeof(r));
	if (userdb_hash_pw(pw, userdb_dummy) < 0)
		userdb_dummy[0] = '\0';
}

int userdb_check(sqlite3 *db, const char *name, const char *password, struct user *u)
{
	char hash[crypto_pwhash_STRBYTES] = "", districts[CONSOLE_MAX_DISTRICTS * CONSOLE_NAME_MAX] = "";
	char err[128];
	sqlite3_stmt *st;
	int found = 0;

	memset(u, 0, sizeof(*u));
	if (name_ok(name) &&
	    sqlite3_prepare_v2(db, "SELECT hash, role, districts FROM users WHERE name = ?", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(hash, sizeof(hash), "%s", (const char *)sqlite3_column_text(st, 0));
			u->supervisor = strcmp((const char *)sqlite3_column_text(st, 1),
					       "supervisor") == 0;
			snprintf(districts, sizeof(districts), "%s",
				 (const char *)sqlite3_column_text(st, 2));
			found = 1;
		}
		sqlite3_finalize(st);
	}
	if (!found) {
		pthread_once(&userdb_dummy_once, userdb_make_dummy);
		if (userdb_dummy[0] &&
		    crypto_pwhash_str_verify(userdb_dummy, password, strlen(password)) == 0)
			return -EACCES;
		return -EACCES;
	}
	if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
		return -EACCES;
	snprintf(u->name, sizeof(u->name), "%s", name);
	if (user_parse_districts(u, districts, err, sizeof(err)) < 0)
		return -EACCES;
	return 0;
}
