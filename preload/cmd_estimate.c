/* cmd_estimate.c - placeholder until `ksmpreload estimate` lands (issue 6). */
#include <stdio.h>
#include "cmd.h"
int ksmp_cmd_estimate(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "ksmpreload: estimate is not built yet\n");
	return 2;
}
