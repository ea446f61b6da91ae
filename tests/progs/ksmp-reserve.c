/*
 * ksmp-reserve - reserve 2 MiB PROT_NONE, then commit 16 pages of it one
 * by one with MAP_FIXED (as the JVM does) and print whether the committed
 * VMA is marked mergeable: "mg" or "nomg" (VmFlags in /proc/self/smaps).
 * "rwx": commit the pages read-write-execute instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	int prot = PROT_READ | PROT_WRITE;
	if (argc > 1 && strcmp(argv[1], "rwx") == 0)
		prot |= PROT_EXEC;
	char *r = mmap(NULL, 2 << 20, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return 1;
	for (int i = 0; i < 16; i++) {
		char *p = mmap(r + 4096 * i, 4096, prot,
			       MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
		if (p != r + 4096 * i)
			return 1;
		p[0] = 1;
	}
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return 1;
	char line[512];
	int in = 0, mg = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3) {
			in = lo <= (unsigned long)r && (unsigned long)r < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0)
			mg = strstr(line, " mg") != NULL;
	}
	fclose(f);
	if (mg < 0)
		return 1;
	puts(mg ? "mg" : "nomg");
	return 0;
}
