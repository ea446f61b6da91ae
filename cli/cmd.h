/* cmd.h - subcommands of the ksmpreload command. Each returns the exit
 * status: 0 success, 1 failure / invalid input, 2 usage error. */
#ifndef KSMP_CMD_H
#define KSMP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

int ksmp_cmd_check(int argc, char **argv);	/* cmd_check.c */
int ksmp_cmd_index(int argc, char **argv);	/* cmd_index.c */
int ksmp_cmd_run(int argc, char **argv);	/* cmd_run.c */
int ksmp_cmd_estimate(int argc, char **argv);	/* estimate/ */
int ksmp_cmd_profile(int argc, char **argv);	/* profile/ */
int ksmp_cmd_ksm(int argc, char **argv);	/* cmd_ksm.c */
int ksmp_cmd_attach(int argc, char **argv);	/* attach/cmd_attach.c */
int ksmp_cmd_detach(int argc, char **argv);	/* attach/cmd_attach.c */

/* Say on stderr, as "ksmpreload: warning: WHAT: ...", that nothing will
 * merge when ksmd is not running or KSM is missing (cmd_ksm.c). */
void ksmp_warn_ksmd(const char *what);

/* Shared by the subcommands that start programs under the library
 * (cmd_run.c): KSMP_LIBRARY, else next to this executable, else the
 * installed one. Returns 0, or -1 after saying why on stderr. */
int ksmp_find_library(char *out, size_t size);
/* Append lib to LD_PRELOAD unless it is already one of its entries
 * (separated by colons or blanks, as the loader reads them). 0 or -1. */
int ksmp_add_preload(const char *lib);

/* In the build tree, set KSMP_POLICY_DIR to the source tree's policy/
 * unless it is set (cmd_run.c). */
void ksmp_build_tree_env(void);

/* -p ARG: a policy file, or the name of a shipped policy (NAME.policy in
 * KSMP_POLICY_DIR, else the compiled-in directory), as an absolute path.
 * Returns 0, or -1 after saying why on stderr. (cmd_run.c) */
int ksmp_find_policy(const char *arg, char *out, size_t size);

/* procsel.c: choosing processes for estimate. NAME matches a process
 * whose comm or executable basename starts with it (pgrep-like). */
bool ksmp_name_matches(const char *name, const char *comm, const char *exe_base);
/* Every pid in a cgroup v2 directory (absolute, or below /sys/fs/cgroup)
 * and the cgroups below it, into a malloc'ed array: 0 or -errno. */
int ksmp_cgroup_pids(const char *cgroup, pid_t **pids, size_t *n);
/* The cgroup directory of a systemd unit (".service" added when the name
 * has no unit suffix): 0, or -ENOENT / -EINVAL. */
int ksmp_unit_cgroup(const char *unit, char *out, size_t size);
#endif
