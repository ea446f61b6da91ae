/*
 * none.c - `ksmpreload attach` / `detach` on machines other than x86_64:
 * the ptrace injection is written for x86_64 registers only, so refuse.
 */
#include <stdio.h>

#include "cmd.h"

static int unsupported(const char *what)
{
	fprintf(stderr, "ksmpreload %s: not supported on this architecture "
		"(system call injection is implemented for x86_64 only)\n", what);
	return 1;
}

int ksmp_cmd_attach(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return unsupported("attach");
}

int ksmp_cmd_detach(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return unsupported("detach");
}
