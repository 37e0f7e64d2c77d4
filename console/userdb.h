/* The console's users: name, Argon2id password hash, role and
 * districts, in the console's SQLite database. Shared by vigil-console
 * (login) and vigilctl user (administration). */
#ifndef VIGIL_USERDB_H
#define VIGIL_USERDB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>

#define CONSOLE_MAX_DISTRICTS 64
#define CONSOLE_NAME_MAX      33      /* 32 characters and NUL */
#define USER_PASSWORD_MIN     8

struct user {
	char name[CONSOLE_NAME_MAX];
	int supervisor;                 /* sees every district */
	char districts[CONSOLE_MAX_DISTRICTS][CONSOLE_NAME_MAX];
	int ndistricts;
};

/* 1..32 of [A-Za-z0-9_-]. */
int name_ok(const char *s);
/* Parse "a,b,c" into u's districts; 0, or -EINVAL with a message in err. */
int user_parse_districts(struct user *u, const char *list, char *err, size_t n);
int user_may_see(const struct user *u, const char *district);

/* Open (creating the schema) the database at path: WAL, busy timeout. */
int userdb_open(const char *path, sqlite3 **db);
/* 0, -EEXIST (add), -ENOENT (del, passwd), other negative errno. */
int userdb_add(sqlite3 *db, const struct user *u, const char *password);
int userdb_del(sqlite3 *db, const char *name);
int userdb_passwd(sqlite3 *db, const char *name, const char *password);
/* Check a password: 0 and *u filled, -EACCES when wrong or unknown. */
int userdb_check(sqlite3 *db, const char *name, const char *password, struct user *u);
/* Print "NAME ROLE DISTRICTS" lines, by name; 0 or -EIO. */
int userdb_list(sqlite3 *db, FILE *out);
/* The stored hash (for tests and vigilctl user show), into buf. */
int userdb_hash(sqlite3 *db, const char *name, char *buf, size_t n);

#endif
