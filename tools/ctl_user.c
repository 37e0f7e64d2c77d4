/* vigilctl user add|del|passwd NAME: the console's users.
 *
 *   vigilctl user add NAME --role operator|supervisor [--districts a,b]
 *                          (--db PATH | -C console.conf)
 *   vigilctl user passwd NAME (--db PATH | -C console.conf)
 *   vigilctl user del NAME (--db PATH | -C console.conf)
 *   vigilctl user list (--db PATH | -C console.conf)
 *
 * The password is read from standard input: prompted without echo on a
 * terminal, one line otherwise. It is stored as an Argon2id hash. An
 * operator sees the listed districts only; a supervisor sees all. */
#include <errno.h>
#include <getopt.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../console/userdb.h"
#include "vigilctl.h"

static int user_usage(FILE *out)
{
	fprintf(out,
		"usage: vigilctl user add NAME --role operator|supervisor [--districts a,b]\n"
		"                         (--db PATH | -C CONSOLE_CONF)\n"
		"       vigilctl user passwd NAME (--db PATH | -C CONSOLE_CONF)\n"
		"       vigilctl user del NAME (--db PATH | -C CONSOLE_CONF)\n"
		"       vigilctl user list (--db PATH | -C CONSOLE_CONF)\n"
		"  the password is read from standard input (at least %d characters)\n",
		USER_PASSWORD_MIN);
	return out == stdout ? 0 : 2;
}

/* One line from stdin, without echo when it is a terminal. */
static int user_read_password(char *buf, size_t n)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), ok;
	size_t len;

	if (tty) {
		fprintf(stderr, "password: ");
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ok = fgets(buf, (int)n, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!ok)
		return -EIO;
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == n - 1)
		return -E2BIG;
	buf[len] = '\0';
	return 0;
}

/* The db path of a console config (its "db" setting). */
static char *user_db_from_conf(const char *path)
{
	const char *db = NULL;
	char *r = NULL;
	config_t lc;

	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE)
		fprintf(stderr, "vigilctl user: %s:%d: %s\n", path, config_error_line(&lc),
			config_error_text(&lc));
	else if (config_lookup_string(&lc, "db", &db) != CONFIG_TRUE)
		fprintf(stderr, "vigilctl user: %s: no db setting\n", path);
	else
		r = strdup(db);
	config_destroy(&lc);
	return r;
}

int ctl_user(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "districts", required_argument, NULL, 'd' },
		{ "db", required_argument, NULL, 'D' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *role = NULL, *districts = NULL, *action, *name;
	char *db_path = NULL, err[160], pw[1024];
	struct user u = { 0 };
	sqlite3 *db = NULL;
	int opt, r, status = 1;

	while ((opt = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': role = optarg; break;
		case 'd': districts = optarg; break;
		case 'D': free(db_path); db_path = strdup(optarg); break;
		case 'C':
			free(db_path);
			if (!(db_path = user_db_from_conf(optarg)))
				return 2;
			break;
		case 'h': return user_usage(stdout);
		default: return user_usage(stderr);
		}
	}
	if (argc - optind == 1 && db_path && strcmp(argv[optind], "list") == 0) {
		status = userdb_open(db_path, &db) < 0 || userdb_list(db, stdout) < 0;
		sqlite3_close(db);
		free(db_path);
		return status;
	}
	if (argc - optind != 2 || !db_path) {
		free(db_path);
		return user_usage(stderr);
	}
	action = argv[optind];
	name = argv[optind + 1];
	if (strcmp(action, "add") && strcmp(action, "del") && strcmp(action, "passwd")) {
		fprintf(stderr, "vigilctl user: unknown action '%s' (add, del, passwd)\n", action);
		goto out_usage;
	}
	if (!name_ok(name)) {
		fprintf(stderr, "vigilctl user: bad name '%s': 1 to 32 letters, digits, _ or -\n",
			name);
		goto out_usage;
	}
	snprintf(u.name, sizeof(u.name), "%s", name);
	if (strcmp(action, "add") == 0) {
		if (!role || (strcmp(role, "operator") && strcmp(role, "supervisor"))) {
			fprintf(stderr, "vigilctl user: --role operator or --role supervisor\n");
			goto out_usage;
		}
		u.supervisor = strcmp(role, "supervisor") == 0;
		if (user_parse_districts(&u, districts, err, sizeof(err)) < 0) {
			fprintf(stderr, "vigilctl user: %s\n", err);
			goto out_usage;
		}
		if (!u.supervisor && u.ndistricts == 0) {
			fprintf(stderr, "vigilctl user: an operator needs --districts\n");
			goto out_usage;
		}
	} else if (role || districts) {
		fprintf(stderr, "vigilctl user %s: takes no --role or --districts\n", action);
		goto out_usage;
	}
	if (userdb_open(db_path, &db) < 0)
		goto out;
	if (strcmp(action, "del") != 0) {
		if ((r = user_read_password(pw, sizeof(pw))) < 0) {
			fprintf(stderr, "vigilctl user: %s\n", r == -E2BIG ? "password too long" :
				"no password on standard input");
			goto out;
		}
		if (strlen(pw) < USER_PASSWORD_MIN) {
			fprintf(stderr, "vigilctl user: the password needs at least %d characters\n",
				USER_PASSWORD_MIN);
			goto out;
		}
	}
	if (strcmp(action, "add") == 0)
		r = userdb_add(db, &u, pw);
	else if (strcmp(action, "passwd") == 0)
		r = userdb_passwd(db, name, pw);
	else
		r = userdb_del(db, name);
	if (r == -EEXIST)
		fprintf(stderr, "vigilctl user: %s exists already (use passwd)\n", name);
	else if (r == -ENOENT)
		fprintf(stderr, "vigilctl user: no user %s\n", name);
	else if (r < 0)
		fprintf(stderr, "vigilctl user: %s: %s\n", db_path, sqlite3_errmsg(db));
	else
		status = 0;
	if (status == 0)
		printf("user %s: %s done\n", name, action);
	goto out;
out_usage:
	status = 2;
out:
	explicit_bzero(pw, sizeof(pw));
	sqlite3_close(db);
	free(db_path);
	return status;
}
