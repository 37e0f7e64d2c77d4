/* vigilctl: dispatch to the subcommand named by the first argument. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "vigilctl.h"

static int ctl_help(int argc, char **argv);

static const struct ctl_command ctl_commands[] = {
	{ "help", ctl_help, "list the commands" },
	{ "status", ctl_status, "cameras and processes of the running daemon" },
	{ "shard-plan", ctl_shard_plan, "which cluster node owns which camera" },
	{ "keygen", ctl_keygen, "make a CURVE key pair: NAME.key and NAME.pub" },
	{ "clips", ctl_clips, "list, show, play and export recorded clips" },
	{ "user", ctl_user, "add, delete or change users of vigil-console" },
	{ "cluster", ctl_cluster, "members and camera claims in ZooKeeper" },
	{ NULL, NULL, NULL }
};

static int ctl_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: vigilctl COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct ctl_command *c = ctl_commands; c->name; c++)
		printf("  %-12s %s\n", c->name, c->help);
	printf("\n'vigilctl COMMAND --help' describes a command.\n");
	return 0;
}

int main(int argc, char **argv)
{
	/* A daemon that closes early shows as EPIPE, not as a kill. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return ctl_help(argc, argv) == 0 && argc >= 2 ? 0 : 2;
	for (const struct ctl_command *c = ctl_commands; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "vigilctl: unknown command '%s' (try 'vigilctl help')\n", argv[1]);
	return 2;
}
