/*
 * ksmp-prctl-exec - run a command with whole-process KSM merging, as
 * systemd's MemoryKSM= does: prctl(PR_SET_MEMORY_MERGE, 1), then exec.
 * The flag is kept across execve and inherited by children.
 *
 *   ksmp-prctl-exec COMMAND [ARG]...
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ksmp-prctl-exec COMMAND [ARG]...\n");
		return 2;
	}
	if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "ksmp-prctl-exec: PR_SET_MEMORY_MERGE: %s\n", strerror(errno));
		return 126;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "ksmp-prctl-exec: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
