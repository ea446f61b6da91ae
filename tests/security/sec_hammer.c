/*
 * sec_hammer - a hostile user's load on mergefs: THREADS threads write
 * DATA to the FILEs, round robin (each thread its own FILEs), for SECONDS, as fast as mergefs answers
 * (after a failure that came at once, a thread waits 2 ms, so that the
 * load is mergefs's to bear and not only the CPU's).
 *
 *   sec_hammer -t SECONDS -j THREADS [-d DATA] FILE...
 *
 * Prints one line: "writes N ok N ebusy N etimedout N emfile N other N
 * max_ms N", max_ms being the longest open+write+close.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char **files;
static int nfiles, seconds = 5, nthreads = 8;
static const char *data = "0";

static struct tally {
	long writes, ok, ebusy, etimedout, emfile, other;
	long long max_ms;
} total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int one_write(const char *path)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	int e = 0;
	if (write(fd, data, strlen(data)) < 0)
		e = errno;
	close(fd);
	return e;
}

static void *worker(void *arg)
{
	long idx = (long)arg;
	struct tally t = { 0, 0, 0, 0, 0, 0, 0 };
	long long end = now_ms() + seconds * 1000LL;
	/* thread idx writes files idx, idx + THREADS, ...: no two threads
	 * write one file, whose writes the kernel would serialise itself */
	long mine = (nfiles - idx + nthreads - 1) / nthreads;
	if (mine <= 0)
		return NULL;
	for (long i = 0; now_ms() < end; i++) {
		long long t0 = now_ms();
		int e = one_write(files[idx + (i % mine) * nthreads]);
		long long ms = now_ms() - t0;
		t.writes++;
		if (ms > t.max_ms)
			t.max_ms = ms;
		switch (e) {
		case 0: t.ok++; break;
		case EBUSY: t.ebusy++; break;
		case ETIMEDOUT: t.etimedout++; break;
		case EMFILE: t.emfile++; break;
		default: t.other++; break;
		}
		if (e && ms < 2) {
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
	}
	pthread_mutex_lock(&lock);
	total.writes += t.writes;
	total.ok += t.ok;
	total.ebusy += t.ebusy;
	total.etimedout += t.etimedout;
	total.emfile += t.emfile;
	total.other += t.other;
	if (t.max_ms > total.max_ms)
		total.max_ms = t.max_ms;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "t:j:d:")) != -1) {
		switch (opt) {
		case 't': seconds = atoi(optarg); break;
		case 'j': nthreads = atoi(optarg); break;
		case 'd': data = optarg; break;
		default:
			fprintf(stderr, "usage: sec_hammer -t SECONDS -j THREADS [-d DATA] FILE...\n");
			return 2;
		}
	}
	files = argv + optind;
	nfiles = argc - optind;
	if (nfiles <= 0 || nthreads <= 0 || nthreads > 1024 || seconds <= 0) {
		fprintf(stderr, "sec_hammer: need FILEs, 1..1024 threads, seconds > 0\n");
		return 2;
	}
	pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
	if (!th)
		return 1;
	int started = 0;
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) == 0)
			th[started++] = th[i];
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	printf("writes %ld ok %ld ebusy %ld etimedout %ld emfile %ld other %ld max_ms %lld\n",
	       total.writes, total.ok, total.ebusy, total.etimedout, total.emfile, total.other,
	       total.max_ms);
	return 0;
}
