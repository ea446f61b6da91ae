/* cmd_run.c - placeholder until the run mode lands (issue 3). */
#include <stdio.h>
#include "cmd.h"
int ksmp_cmd_run(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "ksmpreload: unknown command '%s' (try --help)\n", argv[1]);
	return 2;
}
