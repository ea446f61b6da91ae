/* cmd.h - subcommands of the ksmpreload command. Each returns the exit
 * status: 0 success, 1 failure / invalid input, 2 usage error. */
#ifndef KSMP_CMD_H
#define KSMP_CMD_H

int ksmp_cmd_check(int argc, char **argv);	/* cmd_check.c */
int ksmp_cmd_run(int argc, char **argv);	/* cmd_run.c */
int ksmp_cmd_estimate(int argc, char **argv);	/* cmd_estimate.c */

#endif
