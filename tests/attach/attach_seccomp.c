/*
 * attach_seccomp - a process under a real seccomp filter (libseccomp), for
 * the `ksmpreload attach` seccomp tests. After loading the filter it holds
 * SEED-pattern memory like attach_target hold and blocks in read(0).
 *
 *   attach_seccomp kill-prctl SEED MIB    prctl kills the process
 *   attach_seccomp kill-mergeable SEED MIB  madvise(..., MADV_MERGEABLE)
 *                                         kills it, other madvise allowed
 *   attach_seccomp errno-other SEED MIB   only acct() is filtered
 *                                         (EPERM): everything we inject
 *                                         is allowed
 *   attach_seccomp strict                 strict mode (read/write/exit only)
 */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *m = argc > 1 ? argv[1] : "";
	if (!strcmp(m, "strict")) {
		printf("ready\n");
		fflush(stdout);
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
		char c;
		ssize_t n = read(0, &c, 1);
		(void)!write(1, n == 1 ? "read 1\n" : "read ?\n", 7);
		syscall(SYS_exit, 0);
	}
	if (argc != 4)
		return 2;
	size_t len = strtoul(argv[3], NULL, 0) << 20;
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	uint64_t x = strtoul(argv[2], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return 1;
	int r;
	if (!strcmp(m, "kill-prctl"))
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(prctl), 0);
	else if (!strcmp(m, "kill-mergeable"))
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(madvise), 1,
				     SCMP_A2(SCMP_CMP_EQ, MADV_MERGEABLE));
	else if (!strcmp(m, "errno-other"))
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(1), SCMP_SYS(acct), 0);
	else
		return 2;
	if (r < 0 || seccomp_load(ctx) < 0) {
		fprintf(stderr, "attach_seccomp: cannot load the filter\n");
		return 1;
	}
	seccomp_release(ctx);
	printf("addr %lx\nready\n", (unsigned long)p);
	char buf[64];
	ssize_t n = read(0, buf, sizeof(buf));
	printf("read %zd\n", n);
	return 0;
}
