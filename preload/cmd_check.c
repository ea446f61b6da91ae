/* cmd_check.c - placeholder until the checker lands. */
#include <stdio.h>
#include "cmd.h"
int ksmp_cmd_check(int argc, char **argv)
{
	(void)argc; (void)argv;
	return 2;
}
