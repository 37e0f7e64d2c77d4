/* vigilctl: the operator's command-line tool.
 *
 * Each subcommand lives in its own file (tools/ctl_<name>.c) and is one
 * row of the table in vigilctl.c: name, entry point, one line of help. */
#ifndef VIGILCTL_H
#define VIGILCTL_H

struct ctl_command {
	const char *name;
	int (*run)(int argc, char **argv);   /* argv[0] is the subcommand */
	const char *help;
};

/* Subcommands (tools/ctl_<name>.c). */
int ctl_status(int argc, char **argv);
int ctl_shard_plan(int argc, char **argv);
int ctl_keygen(int argc, char **argv);
int ctl_clips(int argc, char **argv);
int ctl_user(int argc, char **argv);
int ctl_cluster(int argc, char **argv);

#endif
