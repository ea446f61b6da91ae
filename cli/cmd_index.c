/*
 * cmd_index.c - `ksmpreload index`: write (or remove) the index of policy
 * directories, which lets the library choose a policy without listing the
 * directory and reading its files at every exec (ksmpreload.policy(5),
 * Index).
 *
 * Exit 0 when every directory was indexed (or its index removed), 1 when
 * one could not be, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "policy.h"

static void index_usage(FILE *out)
{
	fprintf(out,
		"Usage: ksmpreload index [-r] [DIR]...\n"
		"\n"
		"Record in each policy directory (default: $KSMP_POLICY_DIR, else\n"
		"%s and %s,\n"
		"those that exist) which files it holds and which of them have no\n"
		"program line, so that programs started with the library choose\n"
		"their policy without listing it and reading those files. The\n"
		"library notices a file added, changed or removed since, and then\n"
		"reads the directory as without an index: run this again after a\n"
		"change to make it current. Waits while something in the directory\n"
		"changed in the last 2 seconds.\n"
		"\n"
		"Options:\n"
		"  -r, --remove      remove the index instead\n"
		"  -h, --help        show this help and exit\n"
		"\n"
		"Exit status: 0 done, 1 a directory could not be indexed, 2 usage\n"
		"error. See ksmpreload.policy(5).\n",
		KSMP_POLICYDIR, KSMP_VENDORPOLICYDIR);
}

static void print_diag(void *ctx, const char *file, unsigned line,
		       const char *msg)
{
	(void)ctx;
	(void)line;
	fprintf(stderr, "ksmpreload: %s: %s\n", file ? file : "index", msg);
}

static int one(const char *dir, bool rm, bool named, char *text, char *fbuf)
{
	if (rm) {
		int r = ksmp_policy_index_remove(dir);
		if (r == -ENOENT && !named)
			return 0;
		if (r < 0) {
			fprintf(stderr, "ksmpreload: %s: cannot remove the index: %s\n",
				dir, strerror(-r));
			return 1;
		}
		return 0;
	}
	if (!named && access(dir, F_OK) < 0 && errno == ENOENT)
		return 0;	/* a compiled-in directory that does not exist */
	int r = ksmp_policy_index_write(dir, text, 4096, fbuf,
					KSMP_POLICY_MAX_FILE + 1, print_diag, NULL);
	return r < 0 ? 1 : 0;
}

int ksmp_cmd_index(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "remove", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool rm = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+rh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rm = true;
			break;
		case 'h':
			index_usage(stdout);
			return 0;
		default:
			index_usage(stderr);
			return 2;
		}
	}
	char *text = malloc(4096), *fbuf = malloc(KSMP_POLICY_MAX_FILE + 1);
	if (!text || !fbuf) {
		fprintf(stderr, "ksmpreload: out of memory\n");
		free(text);
		free(fbuf);
		return 1;
	}
	int status = 0;
	const char *env = getenv("KSMP_POLICY_DIR");
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			status |= one(argv[i], rm, true, text, fbuf);
	} else if (env && *env) {
		status = one(env, rm, true, text, fbuf);
	} else {
		status = one(KSMP_POLICYDIR, rm, false, text, fbuf);
		status |= one(KSMP_VENDORPOLICYDIR, rm, false, text, fbuf);
	}
	free(text);
	free(fbuf);
	return status;
}
