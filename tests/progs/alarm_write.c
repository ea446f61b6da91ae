/*
 * alarm_write - a program that bounds a blocking write with its own timer:
 * SIGALRM installed with SA_RESTART (as glibc's signal() does), alarm(SECS),
 * then one write that cannot complete because nobody reads. Its handler
 * sets a flag; the write then returns what it wrote so far.
 *
 *   alarm_write pipe SECS   writes 1 MiB to stdout (a pipe nobody reads)
 *   alarm_write sock SECS   writes 4 MiB to one end of a stream socketpair
 *                           whose other end nobody reads
 *   alarm_write trickle SECS  the same with SO_SNDTIMEO of 1 s, while a
 *                           child reads 32 KiB of the other end every 50 ms
 *
 * SECS 0: no alarm. SIGPIPE is left at its default action (death).
 *
 * Prints "ready" on stderr before the write, and after it
 * "write N errno E alarm A ms T" (A: the handler ran; T: how long the
 * write took). A write cut short by another signal and continued by the
 * library must still end when the alarm comes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t fired;

static void on_alarm(int s)
{
	(void)s;
	fired = 1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "pipe") && strcmp(argv[1], "sock") &&
			  strcmp(argv[1], "trickle"))) {
		fprintf(stderr, "usage: alarm_write pipe|sock|trickle SECS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_DFL);
	int fd = 1, sv[2];
	size_t n = 1 << 20;
	if (strcmp(argv[1], "pipe")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
			perror("socketpair");
			return 2;
		}
		fd = sv[0];
		n = 4 << 20;
	}
	if (!strcmp(argv[1], "trickle")) {
		struct timeval tv = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (fork() == 0) {
			char b[32768];
			close(sv[0]);
			while (read(sv[1], b, sizeof(b)) > 0)
				usleep(50000);
			_exit(0);
		}
		close(sv[1]);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	char *buf = malloc(n);
	if (!buf)
		return 2;
	memset(buf, 'w', n);
	fprintf(stderr, "ready\n");
	if (atoi(argv[2]) > 0)
		alarm((unsigned)atoi(argv[2]));
	long long t0 = now_ms();
	ssize_t r = write(fd, buf, n);
	int e = r < 0 ? errno : 0;
	fprintf(stderr, "write %zd errno %d alarm %d ms %lld\n", r, e, (int)fired, now_ms() - t0);
	return 0;
}
