/*
 * stress_load - 64 threads of malloc/free/mmap/munmap/mremap storms with
 * fork (and fork+exec) storms beside them, for a bounded time, under a
 * watchdog (tests/safety/stress_load.sh runs it under the library).
 *
 *   stress_load THREADS FORKERS SECONDS
 *
 * Output: "vmas BEFORE PEAK AFTER fds BEFORE AFTER ops N forks F bad B".
 * Exit 0 = no corruption found, no fork child failed; 3 = the watchdog saw
 * no progress for 10 s (deadlock); the shell judges the VMA and fd counts.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static uint64_t progress;	/* atomics */
static uint64_t bad;
static uint64_t forks;
static volatile long vma_peak;

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long n = 0;
	int c;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define SLOTS 64

static void *storm(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	struct { unsigned char *p; size_t len; int mm; unsigned char tag; } slot[SLOTS];
	memset(slot, 0, sizeof(slot));
	while (!stop) {
		uint64_t r = rnd(&s);
		int i = r % SLOTS;
		if (slot[i].p) {
			/* check the tag at both ends, then release */
			if (slot[i].p[0] != slot[i].tag || slot[i].p[slot[i].len - 1] != slot[i].tag)
				__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
			if (slot[i].mm)
				munmap(slot[i].p, slot[i].len);
			else
				free(slot[i].p);
			slot[i].p = NULL;
		} else {
			int kind = (r >> 8) % 8;
			size_t len;
			if (kind < 5) {		/* small and medium malloc */
				len = 16 + (r >> 16) % (kind < 3 ? 512 : 300000);
				slot[i].p = malloc(len);
				slot[i].mm = 0;
			} else if (kind < 7) {	/* mmap, sometimes grown by mremap */
				len = 4096 * (1 + (r >> 16) % 256);
				void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (p != MAP_FAILED && kind == 6) {
					void *q = mremap(p, len, len * 2, MREMAP_MAYMOVE);
					if (q != MAP_FAILED) {
						p = q;
						len *= 2;
					}
				}
				slot[i].p = p == MAP_FAILED ? NULL : p;
				slot[i].mm = 1;
			} else {		/* calloc/realloc */
				len = 64 + (r >> 16) % 100000;
				unsigned char *p = calloc(1, len / 2);
				unsigned char *q = p ? realloc(p, len) : NULL;
				if (!q)
					free(p);
				slot[i].p = q;
				slot[i].mm = 0;
			}
			if (slot[i].p) {
				slot[i].len = len;
				slot[i].tag = (unsigned char)(r >> 40) | 1;
				memset(slot[i].p, slot[i].tag, len < 8192 ? len : 8192);
				slot[i].p[len - 1] = slot[i].tag;
			}
		}
		__atomic_fetch_add(&progress, 1, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < SLOTS; i++) {
		if (!slot[i].p)
			continue;
		if (slot[i].mm)
			munmap(slot[i].p, slot[i].len);
		else
			free(slot[i].p);
	}
	return NULL;
}

static void *forker(void *arg)
{
	uint64_t s = (uintptr_t)arg + 77;
	while (!stop) {
		uint64_t r = rnd(&s);
		pid_t c = fork();
		if (c == 0) {
			/* the child: malloc works (no lock left held), then
			 * sometimes exec a program under the library too */
			void *p = malloc(1000 + r % 100000);
			if (!p)
				_exit(1);
			memset(p, 1, 1000);
			free(p);
			if (r % 8 == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(1);
			}
			_exit(0);
		}
		if (c > 0) {
			int st;
			if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
				__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&forks, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&progress, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static int nforkers;

static void *watchdog(void *arg)
{
	(void)arg;
	uint64_t last = (uint64_t)-1, flast = (uint64_t)-1;
	int still = 0, fstill = 0;
	while (!stop) {
		sleep(1);
		long v = count_lines("/proc/self/maps");
		if (v > vma_peak)
			vma_peak = v;
		uint64_t now = __atomic_load_n(&progress, __ATOMIC_RELAXED);
		still = now == last ? still + 1 : 0;
		last = now;
		/* a fork child stuck on a lock stalls only its forker */
		uint64_t f = __atomic_load_n(&forks, __ATOMIC_RELAXED);
		fstill = nforkers && f == flast ? fstill + 1 : 0;
		flast = f;
		if (still >= 10 || fstill >= 10) {
			static const char m[] = "watchdog: no progress for 10 s (deadlock, or a fork child stuck)\n";
			ssize_t w = write(2, m, sizeof(m) - 1);
			(void)w;
			_exit(3);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int nthreads = atoi(argv[1]), secs = atoi(argv[3]);
	nforkers = atoi(argv[2]);
	if (nthreads < 1 || nthreads > 256 || nforkers < 0 || nforkers > 16)
		return 2;
	long vma0 = count_lines("/proc/self/maps");
	long fd0 = count_fds();
	vma_peak = vma0;
	pthread_t wd, t[256 + 16];
	if (pthread_create(&wd, NULL, watchdog, NULL))
		return 2;
	int n = 0;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[n], NULL, storm, (void *)(uintptr_t)(i + 1)) == 0)
			n++;
	for (int i = 0; i < nforkers; i++)
		if (pthread_create(&t[n], NULL, forker, (void *)(uintptr_t)(i + 1)) == 0)
			n++;
	sleep((unsigned)secs);
	stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_join(wd, NULL);
	long vma1 = count_lines("/proc/self/maps");
	long fd1 = count_fds();
	printf("vmas %ld %ld %ld fds %ld %ld ops %llu forks %llu bad %llu threads %d\n",
	       vma0, vma_peak, vma1, fd0, fd1,
	       (unsigned long long)progress, (unsigned long long)forks,
	       (unsigned long long)bad, n);
	return bad ? 1 : 0;
}
