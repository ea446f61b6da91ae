/*
 * ksmp-sandboxed - a program that enters a seccomp sandbox (libseccomp)
 * before its own first allocation, as sandboxed helpers do: its filter
 * kills the process on the calls a reader of /proc makes (open, openat,
 * readlink, readlinkat). Then it allocates from its own code (malloc of
 * several sizes, one mmap), writes all of it, frees it and prints "ok".
 * Under libksmpreload it must live: the library reads no file once the
 * program runs.
 *
 *   ksmp-sandboxed          as above
 *   ksmp-sandboxed selftest the filter, then a readlink: must be killed
 *   ksmp-sandboxed raw      the filter (built here, no libseccomp, so no
 *                           allocation before it) also kills
 *                           memfd_create, and is loaded with
 *                           syscall(SYS_seccomp) alone, without
 *                           no-new-privileges (needs CAP_SYS_ADMIN)
 *   ksmp-sandboxed rawtest  as raw, then a memfd_create: must be killed
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static char data[1 << 20];

/* The raw filter: kill on these system call numbers, allow the rest. */
#define KILL_IF(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)

static int sandbox_raw(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		KILL_IF(__NR_memfd_create),
#ifdef __NR_open
		KILL_IF(__NR_open),
#endif
		KILL_IF(__NR_openat),
#ifdef __NR_readlink
		KILL_IF(__NR_readlink),
#endif
		KILL_IF(__NR_readlinkat),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0 ? 0 : -1;
}

static int sandbox(int raw)
{
	if (raw)
		return sandbox_raw();
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -1;
	int r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(open), 0) |
		seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(openat), 0) |
		seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(readlink), 0) |
		seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(readlinkat), 0);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int main(int argc, char **argv)
{
	int raw = argc > 1 && !strncmp(argv[1], "raw", 3);
	if (sandbox(raw) != 0) {
		static const char msg[] = "cannot load the filter\n";
		ssize_t w = write(2, msg, sizeof(msg) - 1);
		(void)w;
		return 2;
	}
	if (argc > 1 && !strcmp(argv[1], "selftest")) {
		char buf[64];
		ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf));
		(void)n;
		return 3;	/* not reached: killed */
	}
	if (argc > 1 && !strcmp(argv[1], "rawtest")) {
		int fd = (int)syscall(SYS_memfd_create, "t", 0);
		(void)fd;
		return 3;	/* not reached: killed */
	}
	void *p[32];
	for (int i = 0; i < 32; i++) {
		size_t size = 16 + (size_t)i * 8192;
		p[i] = i % 2 ? malloc(size) : calloc(1, size);
		if (!p[i])
			return 1;
		memset(p[i], i + 1, size);
	}
	for (int i = 0; i < 32; i += 3)
		p[i] = realloc(p[i], 300000);
	unsigned char *m = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	memset(m, 0x5b, 4 << 20);
	memset(data, 0x5c, sizeof(data));
	for (int i = 0; i < 32; i++)
		free(p[i]);
	munmap(m, 4 << 20);
	errno = 0;
	static const char ok[] = "ok\n";
	return write(1, ok, sizeof(ok) - 1) == (ssize_t)sizeof(ok) - 1 ? 0 : 1;
}
