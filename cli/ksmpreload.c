/*
 * ksmpreload - the command: dispatches to its subcommands.
 *
 *   ksmpreload check [--program PATH] FILE...
 *   ksmpreload index [-r] [DIR]...
 *   ksmpreload estimate [--json] PID|NAME...
 *   ksmpreload profile [-o POLICY] [-n N] [--settle S] [--json]
 *                      [--report FILE] -- COMMAND [ARG]...
 *   ksmpreload attach [-p POLICY|NAME] [--mode process|regions] [--json] PID|NAME...
 *   ksmpreload detach [--json] PID|NAME...
 *   ksmpreload [-p POLICY|NAME] [--] COMMAND [ARG]...
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ksmpreload [-n] [-p POLICY|NAME] [--] COMMAND [ARG]...\n"
		"       ksmpreload check [--program PATH] FILE...\n"
		"       ksmpreload index [-r] [DIR]...\n"
		"       ksmpreload estimate [--json] [--by kind|process] PID|NAME...\n"
		"       ksmpreload profile [-o POLICY] [-n N] [--settle S] [--json]\n"
		"                          [--report FILE] -- COMMAND [ARG]...\n"
		"       ksmpreload ksm [show | on | off | set KEY=VALUE... | apply [FILE]]\n"
		"       ksmpreload attach [-p POLICY|NAME] [--mode process|regions]\n"
		"                         [--json] PID|NAME...\n"
		"       ksmpreload detach [--json] PID|NAME...\n"
		"\n"
		"Run COMMAND with libksmpreload.so preloaded, so that the memory its\n"
		"policy selects is merged by KSM; or check policy files.\n"
		"\n"
		"Commands:\n"
		"  check FILE...     validate policy files, show what they select\n"
		"  index [DIR]...    index policy directories: faster start of programs\n"
		"  estimate PID|NAME...  what KSM merging could save on running processes\n"
		"  profile -- COMMAND    run COMMAND recording what merges, suggest a policy\n"
		"  ksm               show ksmd's knobs and counters; start, stop, tune it\n"
		"  attach PID|NAME...    make running processes merge, without a restart\n"
		"  detach PID|NAME...    undo attach\n"
		"\n"
		"Options:\n"
		"  -p, --policy P    policy file, or the name of a shipped policy\n"
		"  -n, --dry-run     print the environment, command and policy, run nothing\n"
		"  -h, --help        show this help and exit\n"
		"  -V, --version     show the version and exit\n"
		"\n"
		"See ksmpreload(1) and ksmpreload.policy(5).\n");
}

/* Subcommands by name; anything else is the run form's COMMAND. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "check", ksmp_cmd_check },
	{ "index", ksmp_cmd_index },
	{ "estimate", ksmp_cmd_estimate },
	{ "ksm", ksmp_cmd_ksm },
	{ "profile", ksmp_cmd_profile },
	{ "attach", ksmp_cmd_attach },
	{ "detach", ksmp_cmd_detach },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *a = argv[1];
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
		printf("ksmpreload %s\n", PACKAGE_VERSION);
		return 0;
	}
	ksmp_build_tree_env();
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(a, subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	return ksmp_cmd_run(argc, argv);
}
