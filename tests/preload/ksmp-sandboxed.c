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
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char data[1 << 20];

static int sandbox(void)
{
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
	if (sandbox() != 0) {
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
