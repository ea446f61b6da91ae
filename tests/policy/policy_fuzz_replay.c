/*
 * policy_fuzz_replay.c - runs the policy fuzz target (policy/fuzz_policy.c)
 * without libFuzzer: every file of the seed corpus (the former shipped
 * per-program policies among them) and the shipped policies, then
 * deterministic mutations of them for a bounded time.
 * Part of `make check`; `make fuzz` does the coverage-guided run.
 *
 * KSMP_FUZZ_SEED and KSMP_FUZZ_MS override the seed and the time budget.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXSEEDS 256
#define MAXIN 8192

static uint8_t *seeds[MAXSEEDS];
static size_t seedlen[MAXSEEDS];
static unsigned nseeds;
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Replay one file; keep the first MAXSEEDS as seeds for the mutations. */
static int add_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	uint8_t *b = malloc(MAXIN);
	ssize_t n = b ? read(fd, b, MAXIN) : -1;
	close(fd);
	if (n < 0) {
		free(b);
		return -1;
	}
	LLVMFuzzerTestOneInput(b, (size_t)n);
	if (nseeds == MAXSEEDS) {
		free(b);
		return 1;
	}
	seeds[nseeds] = b;
	seedlen[nseeds++] = (size_t)n;
	return 1;
}

static int add_dir(const char *dir, const char *suffix)
{
	char path[4096];
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (e->d_name[0] == '.' || l < sl || strcmp(e->d_name + l - sl, suffix))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		n += add_file(path) > 0;
	}
	closedir(d);
	return n;
}

static const char *const tokens[] = {
	"merge ", "skip ", "program ", "mode ", "log ", "strict ", "control ", "secure-exec ",
	"heap-step ", "name ", "any", "heap", "arena,chunk", "mmap", "file",
	"stack", "data", "min=", "max=", "prot=", "caller=", "rwx", "none", "64K", "1G",
	"99999999999999999999", "17179869184G", "KiB", "[", "]", "[!a-", "\\",
	"*", "?", "#", "\n", "\r\n", "\t", " ", ",", "=", "\0", "\xc3\xa9",
	"\xff", "\xef\xbb\xbf", "yes", "no", "process", "regions", "off",
};

static size_t mutate(uint8_t *b, size_t n, size_t cap)
{
	int rounds = 1 + (int)(rnd() % 8);
	while (rounds--) {
		size_t pos = n ? rnd() % (n + 1) : 0;
		switch (rnd() % 7) {
		case 0:	/* flip a byte */
			if (n)
				b[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:	/* random byte */
			if (n)
				b[rnd() % n] = (uint8_t)rnd();
			break;
		case 2:	/* delete a range */
			if (n) {
				size_t l = rnd() % 16;
				if (pos + l > n)
					l = n - pos;
				memmove(b + pos, b + pos + l, n - pos - l);
				n -= l;
			}
			break;
		case 3:
		case 4: {	/* insert a token */
			const char *t = tokens[rnd() % (sizeof tokens / sizeof *tokens)];
			size_t l = *t ? strlen(t) : 1;
			if (n + l <= cap) {
				memmove(b + pos + l, b + pos, n - pos);
				memcpy(b + pos, t, l);
				n += l;
			}
			break;
		}
		case 5: {	/* duplicate a range */
			if (!n)
				break;
			size_t from = rnd() % n, l = 1 + rnd() % 64;
			if (from + l > n)
				l = n - from;
			if (n + l <= cap) {
				memmove(b + pos + l, b + pos, n - pos);
				memmove(b + pos, b + (from >= pos ? from + l : from), l);
				n += l;
			}
			break;
		}
		default: {	/* splice another seed's tail */
			unsigned o = (unsigned)(rnd() % nseeds);
			size_t from = seedlen[o] ? rnd() % seedlen[o] : 0;
			size_t l = seedlen[o] - from;
			if (pos + l > cap)
				l = cap - pos;
			memcpy(b + pos, seeds[o] + from, l);
			if (pos + l > n)
				n = pos + l;
			break;
		}
		}
	}
	return n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	const char *src = getenv("KSMP_SRCDIR");
	const char *s = getenv("KSMP_FUZZ_SEED");
	const char *ms = getenv("KSMP_FUZZ_MS");
	char dir[4096];
	static uint8_t buf[MAXIN * 2];

	if (!src)
		src = ".";
	rng = s ? strtoull(s, NULL, 0) : 0x5eed5eedULL;
	if (!rng)
		rng = 1;
	tap_plan(3);
	snprintf(dir, sizeof dir, "%s/policy/fuzz-corpus", src);
	int nc = add_dir(dir, "");
	ok(nc >= 10, "replayed %d seed corpus files from %s", nc, dir);
	snprintf(dir, sizeof dir, "%s/policy", src);
	int np = add_dir(dir, ".policy");
	ok(np >= 1, "replayed %d shipped policies", np);
	if (!nseeds)
		tap_bail("no seeds");

	double budget = (ms ? atof(ms) : 1500) / 1000.0, t0 = now();
	unsigned long runs = 0;
	diag("seed 0x%llx (set KSMP_FUZZ_SEED to repeat)", (unsigned long long)rng);
	while (now() - t0 < budget) {
		for (int i = 0; i < 64; i++) {
			unsigned k = (unsigned)(rnd() % nseeds);
			memcpy(buf, seeds[k], seedlen[k]);
			size_t n = mutate(buf, seedlen[k], sizeof buf);
			LLVMFuzzerTestOneInput(buf, n);
			runs++;
		}
	}
	ok(runs > 0, "%lu mutated inputs in %.2f s without a crash or a broken property",
	   runs, now() - t0);
	for (unsigned i = 0; i < nseeds; i++)
		free(seeds[i]);
	return tap_done();
}
