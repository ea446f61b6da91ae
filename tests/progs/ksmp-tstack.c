/*
 * ksmp-tstack - a thread whose stack the library advises, for
 * tests/preload/preload_tstack.sh.
 *
 *   ksmp-tstack FILE
 *
 * Starts one thread that never allocates; it fills 256 KiB of its stack
 * and prints "region 0 local ADDR" (an address in that buffer), "region 1
 * tls ADDR" (a __thread variable: static TLS, at the top of the stack
 * block), "region 2 tcb ADDR" (pthread_self(): the thread's descriptor),
 * then "ready" and waits until FILE exists; it then ends, is
 * joined, and the program prints "arenas N" (malloc arenas glibc has, by
 * malloc_info) and "joined", and waits until killed.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static __thread volatile uint64_t tls_var = 42;

static void *run(void *arg)
{
	const char *file = arg;
	volatile unsigned char buf[256 << 10];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7);
	tls_var++;
	char line[160];
	int n = snprintf(line, sizeof(line), "region 0 local %p\nregion 1 tls %p\n"
			 "region 2 tcb %p\nready\n", (void *)(buf + sizeof(buf) / 2),
			 (void *)&tls_var, (void *)pthread_self());
	if (write(1, line, (size_t)n) != n)
		return NULL;
	while (access(file, F_OK) != 0)
		usleep(10000);
	return (void *)(uintptr_t)buf[100];
}

int main(int argc, char **argv)
{
	pthread_t t;
	if (argc != 2 || pthread_create(&t, NULL, run, argv[1]) != 0)
		return 1;
	pthread_join(t, NULL);
	/* count the arenas: <heap nr="N"> elements of malloc_info */
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return 1;
	malloc_info(0, f);
	fclose(f);
	unsigned arenas = 0;
	for (char *p = out; (p = strstr(p, "<heap nr=")); p++)
		arenas++;
	free(out);
	printf("arenas %u\njoined\n", arenas);
	fflush(stdout);
	for (;;)
		pause();
}
