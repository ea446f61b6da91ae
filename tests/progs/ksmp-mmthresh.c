/*
 * ksmp-mmthresh - where does glibc put a 1 MiB malloc after a 1 MiB one
 * (above its starting mmap threshold, 128 KiB) was freed? glibc raises the
 * threshold on that free, so the second lands in the heap: prints "heap",
 * or "mmap" when the rule is off. "fixed": first the program sets its own
 * threshold with mallopt (which turns glibc's rule off).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "fixed") == 0 &&
	    mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1) {
		puts("mallopt failed");
		return 1;
	}
	char *volatile a = malloc(1 << 20);
	if (!a)
		return 1;
	a[0] = 1;
	free(a);
	char *volatile b = malloc(1 << 20);
	if (!b)
		return 1;
	b[0] = 1;
	/* glibc's chunk header: bit 1 of the size word is IS_MMAPPED */
	puts(((size_t *)b)[-1] & 2 ? "mmap" : "heap");
	free(b);
	return 0;
}
