/*
 * estimate_collide - a hostile target for `ksmpreload estimate` (issue 10,
 * item 9): pairs of different pages that collide under the page hash the
 * command used to key with a fixed, public seed.
 *
 *   estimate_collide PAIRS DUPS [NAME]
 *
 * The old hash summed, over word pairs, (w[2i]+k[2i]) * (w[2i+1]+k[2i+1])
 * and (w[2i]+k[2i+2]) * (w[2i+1]+k[2i+3]). With the key known, word 0 and
 * 1 of a page set to (-k0, -k3) or to (-k2, -k1) zero both terms of the
 * first pair, so two pages that differ there and agree elsewhere hash
 * alike. The key is rebuilt here as the command built it (splitmix64 from
 * "ksmprloa"). Each pair's other words are distinct (xorshift from SEED
 * and the pair), so no two pairs share a content, and no page is zero.
 *
 * A second mapping holds DUPS pairs of truly equal pages (the control:
 * they must count). NAME, if given, becomes the process's name (comm,
 * PR_SET_NAME): bytes as given, escapes and all.
 *
 * Prints "ready PID COLLIDE-ADDR DUP-ADDR" (hex) and sleeps until killed
 * or its parent dies.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Two equal pages at p: words from xorshift of (seed, j), all non-zero. */
static void fill_pair(uint64_t *p, size_t nw, uint64_t seed, size_t j)
{
	uint64_t x = (seed ^ (j * UINT64_C(0x9E3779B97F4A7C15))) | 1;
	for (size_t i = 0; i < nw; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = p[nw + i] = x;
	}
}

/*
 * One mapping [guard][2*pairs pages][guard][2*dups pages][guard]: the
 * PROT_NONE guards keep the two parts separate mappings (VMAs), apart from
 * each other and from whatever the kernel put next to them.
 */
static uint64_t *map_parts(size_t pairs, size_t dups, size_t pg, uint64_t **d)
{
	size_t n = 2 * pairs + 2 * dups + 3;
	char *m = mmap(NULL, n * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return NULL;
	}
	char *g[3] = { m, m + (1 + 2 * pairs) * pg, m + (n - 1) * pg };
	for (int i = 0; i < 3; i++)
		mprotect(g[i], pg, PROT_NONE);
	*d = (uint64_t *)(void *)(g[1] + pg);
	return (uint64_t *)(void *)(m + pg);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: estimate_collide PAIRS DUPS [NAME]\n");
		return 2;
	}
	size_t pairs = strtoul(argv[1], NULL, 0), dups = strtoul(argv[2], NULL, 0);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), nw = pg / 8;
	uint64_t s = UINT64_C(0x6B736D70726C6F61), k[4];
	for (int i = 0; i < 4; i++)
		k[i] = splitmix(&s);

	uint64_t *d, *m = map_parts(pairs, dups, pg, &d);
	if (!m)
		return 1;
	for (size_t j = 0; j < pairs; j++) {
		uint64_t *p = m + 2 * j * nw;
		fill_pair(p, nw, 0x636f6c6c69646531ull, j);
		p[0] = -k[0];
		p[1] = -k[3];
		p[nw] = -k[2];
		p[nw + 1] = -k[1];
	}
	for (size_t j = 0; j < dups; j++)
		fill_pair(d + 2 * j * nw, nw, 0x6475706c69636174ull, j);
	if (argc > 3)
		prctl(PR_SET_NAME, argv[3]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	printf("ready %d %" PRIxPTR " %" PRIxPTR "\n", (int)getpid(),
	       (uintptr_t)m, (uintptr_t)d);
	fflush(stdout);
	for (;;)
		pause();
}
