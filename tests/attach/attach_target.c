/*
 * attach_target - processes for the `ksmpreload attach` tests: each blocks
 * in one system call (or holds memory) and reports, when it is let go,
 * exactly what that call returned, so a test can tell whether an attach
 * in between changed anything.
 *
 *   attach_target hold SEED MIB [THREADS]  MIB of pages from SEED in one
 *                         anonymous mmap (prints its address), THREADS
 *                         threads ticking; blocks in read(0); at EOF or a
 *                         line prints "ticks T1 T2 ..." and exits
 *   attach_target ranges N  N separate 1 MiB read-write anonymous mappings
 *                         (unmapped holes between them), then read(0)
 *   attach_target read    read(0): prints "read N DATA" or "read -1 ERRNO"
 *   attach_target readsig same, SIGUSR1 caught without SA_RESTART; also
 *                         prints "handled N"
 *   attach_target readloop  like readsig, but read(0) again after each
 *                         EINTR: "read N DATA eintr E handled H"
 *   attach_target readtrap  SIGTRAP ignored, then read(0): "read N DATA
 *                         trap-ignored 0|1" (is it still ignored?)
 *   attach_target sleep MS  nanosleep(MS), SIGUSR1 caught: prints
 *                         "sleep RET ERRNO elapsed_ms REM_ms"
 *   attach_target futex   the main thread waits on a futex that a second
 *                         thread wakes when a line arrives on stdin:
 *                         "futex RET ERRNO word W"
 *   attach_target epoll   epoll_wait on stdin: "epoll N DATA"
 *   attach_target accept PATH  accept on a unix socket: "accept ok"
 *   attach_target recvall from|msg  the main thread receives 16 bytes with
 *                         MSG_WAITALL (recvfrom or recvmsg) from a unix
 *                         stream socket that a second thread fills with
 *                         the lines of stdin: "recv N"
 *   attach_target vfork MS  vfork a child that sleeps MS before _exit: the
 *                         parent waits unkillably meanwhile; "vfork done"
 *   attach_target trace PID   PTRACE_SEIZE PID, then pause (a tracer)
 *   attach_target zombie  fork a child that exits unreaped; print its pid
 *   attach_target writeexec MS [PROG ARG...]  write to a socket nobody
 *                         reads: blocks MS ms (0: until killed), then
 *                         execs PROG (or exits)
 *   attach_target writers N  N threads and the main one blocked in writes
 *                         to a socket nobody reads, and a last thread
 *                         (the highest thread id) in nanosleep
 * Each prints "ready" (after its set-up) on stdout, which is flushed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static volatile long ticks[64];
static volatile uint32_t word;

static void on_usr1(int s)
{
	(void)s;
	handled++;
}

static void catch_usr1(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
}

static void ready(void)
{
	printf("ready\n");
	fflush(stdout);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void *ticker(void *arg)
{
	long i = (long)arg;
	struct timespec ts = { 0, 1000000 };
	for (;;) {
		nanosleep(&ts, NULL);
		ticks[i]++;
	}
	return NULL;
}

static int hold(unsigned long seed, size_t mib, int nthreads)
{
	size_t len = mib << 20;
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
	for (long i = 0; i < nthreads && i < 64; i++) {
		pthread_t t;
		pthread_create(&t, NULL, ticker, (void *)i);
	}
	printf("addr %lx\n", (unsigned long)p);
	ready();
	char buf[64];
	ssize_t n = read(0, buf, sizeof(buf));
	printf("read %zd", n);
	for (int i = 0; i < nthreads && i < 64; i++)
		printf(" %ld", ticks[i]);
	printf("\n");
	return 0;
}

static int ranges(long n)
{
	size_t mib = 1u << 20, page = 4096, step = mib + page;
	char *base = mmap(NULL, (size_t)n * step, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 1;
	for (long i = 0; i < n; i++) {
		char *p = base + (size_t)i * step;
		memset(p, (int)(i & 0xff) | 1, mib);
		munmap(p + mib, page);	/* a hole: separate mappings */
	}
	ready();
	char buf[64];
	ssize_t r = read(0, buf, sizeof(buf));
	printf("read %zd\n", r);
	return 0;
}

static void *waker(void *arg)
{
	(void)arg;
	char buf[64];
	if (read(0, buf, sizeof(buf)) >= 0) {
		__atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	return NULL;
}

static int block_futex(void)
{
	pthread_t t;
	pthread_create(&t, NULL, waker, NULL);
	ready();
	long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	printf("futex %ld %d word %u\n", r, r < 0 ? errno : 0, word);
	return 0;
}

static int block_sleep(long ms)
{
	catch_usr1();
	struct timespec req = { ms / 1000, (ms % 1000) * 1000000 }, rem = { 0, 0 }, t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ready();
	int r = nanosleep(&req, &rem);
	int e = errno;
	printf("sleep %d %d elapsed %.0f rem %.0f\n", r, r < 0 ? e : 0, ms_since(&t0),
	       (double)rem.tv_sec * 1e3 + (double)rem.tv_nsec / 1e6);
	return 0;
}

static int block_read(bool sig)
{
	if (sig)
		catch_usr1();
	ready();
	char buf[256];
	ssize_t n = read(0, buf, sizeof(buf) - 1);
	if (n < 0)
		printf("read -1 %d\n", errno);
	else
		printf("read %zd %.*s\n", n, (int)strcspn(buf, "\n") < n ?
		       (int)strcspn(buf, "\n") : (int)n, buf);
	if (sig)
		printf("handled %d\n", (int)handled);
	return 0;
}

static int read_loop(void)
{
	catch_usr1();
	ready();
	char buf[256];
	ssize_t n;
	int eintr = 0;
	while ((n = read(0, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
		eintr++;
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	printf("read %zd %s eintr %d handled %d\n", n, buf, eintr, (int)handled);
	return 0;
}

static int read_trap(void)
{
	signal(SIGTRAP, SIG_IGN);
	ready();
	char buf[256];
	ssize_t n = read(0, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	struct sigaction sa;
	sigaction(SIGTRAP, NULL, &sa);
	printf("read %zd %s trap-ignored %d\n", n, buf, sa.sa_handler == SIG_IGN);
	return 0;
}

static int block_epoll(void)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	ready();
	int n = epoll_wait(ep, &out, 1, -1);
	char buf[64] = "";
	ssize_t r = n > 0 ? read(0, buf, sizeof(buf) - 1) : 0;
	buf[r > 0 ? strcspn(buf, "\n") : 0] = 0;
	printf("epoll %d %s\n", n < 0 ? -errno : n, buf);
	return 0;
}

static int block_accept(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
		return 1;
	ready();
	int c = accept(s, NULL, NULL);
	printf(c >= 0 ? "accept ok\n" : "accept -1 %d\n", errno);
	return 0;
}

/* Blocked in a write (attach waits for such a thread), then exec. */
static int write_exec(long ms, char **prog)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t n = 8u << 20;
	char *b = malloc(n);
	if (!b)
		return 1;
	memset(b, 'x', n);
	ready();
	if (write(sv[0], b, n) < 0)
		printf("write -1 %d\n", errno);
	if (*prog) {
		execv(prog[0], prog);
		return 127;
	}
	return 0;
}

static int rsv[2];

static void *forward(void *arg)
{
	(void)arg;
	char buf[64];
	ssize_t n;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(rsv[1], buf, (size_t)n) != n)
			break;
	return NULL;
}

static int block_recvall(bool msg)
{
	pthread_t t;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, rsv) < 0)
		return 1;
	pthread_create(&t, NULL, forward, NULL);
	ready();
	char buf[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = msg ? recvmsg(rsv[0], &mh, MSG_WAITALL) :
		recvfrom(rsv[0], buf, sizeof(buf), MSG_WAITALL, NULL, NULL);
	printf("recv %zd\n", r < 0 ? -errno : r);
	return 0;
}

static int wfd;
static char *wbuf;
#define WBUF (8u << 20)

static void *writer(void *a)
{
	(void)a;
	while (write(wfd, wbuf, WBUF) >= 0)
		;
	return NULL;
}

static void *sleeper(void *a)
{
	(void)a;
	while (sleep(1000) == 0)
		;
	return NULL;
}

/* Threads past the first 64 must be considered (attach_pick_thread). */
static int writers(long n)
{
	int sv[2];
	pthread_t t;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || !(wbuf = malloc(WBUF)))
		return 1;
	memset(wbuf, 'x', WBUF);
	wfd = sv[0];
	for (long i = 0; i < n; i++)
		if (pthread_create(&t, NULL, writer, NULL))
			return 1;
	struct timespec ts = { 0, 100000000 };
	nanosleep(&ts, NULL);	/* the writers' ids come first */
	if (pthread_create(&t, NULL, sleeper, NULL))
		return 1;
	ready();
	writer(NULL);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *m = argc > 1 ? argv[1] : "";
	if (!strcmp(m, "hold") && argc >= 4)
		return hold(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
			    argc > 4 ? atoi(argv[4]) : 0);
	if (!strcmp(m, "ranges") && argc == 3)
		return ranges(atol(argv[2]));
	if (!strcmp(m, "read") || !strcmp(m, "readsig"))
		return block_read(!strcmp(m, "readsig"));
	if (!strcmp(m, "readtrap"))
		return read_trap();
	if (!strcmp(m, "readloop"))
		return read_loop();
	if (!strcmp(m, "sleep") && argc == 3)
		return block_sleep(atol(argv[2]));
	if (!strcmp(m, "futex"))
		return block_futex();
	if (!strcmp(m, "epoll"))
		return block_epoll();
	if (!strcmp(m, "recvall") && argc == 3)
		return block_recvall(!strcmp(argv[2], "msg"));
	if (!strcmp(m, "accept") && argc == 3)
		return block_accept(argv[2]);
	if (!strcmp(m, "trace") && argc == 3) {
		if (ptrace(PTRACE_SEIZE, atoi(argv[2]), 0, 0) < 0) {
			perror("PTRACE_SEIZE");
			return 1;
		}
		ready();
		pause();
		return 0;
	}
	if (!strcmp(m, "vfork") && argc == 3) {
		struct timespec ts = { atol(argv[2]) / 1000, (atol(argv[2]) % 1000) * 1000000 };
		ready();
		pid_t c = vfork();
		if (c == 0) {
			syscall(SYS_nanosleep, &ts, NULL);
			_exit(0);
		}
		printf("vfork done\n");
		return 0;
	}
	if (!strcmp(m, "zombie")) {
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		printf("child %d\n", (int)c);
		ready();
		pause();
		return 0;
	}
	if (!strcmp(m, "writers") && argc == 3)
		return writers(atol(argv[2]));
	if (!strcmp(m, "writeexec") && argc >= 3)
		return write_exec(atol(argv[2]), argv + 3);
	fprintf(stderr, "usage: attach_target hold|read|readsig|sleep|futex|epoll|accept|recvall|writeexec|trace|zombie ...\n");
	return 2;
}
