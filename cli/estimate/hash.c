/* hash.c - 128-bit page hashes (NH, Toeplitz) keyed at random per run,
 * zero-page test, and an open-addressing set of 128-bit keys. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "estimate.h"

static uint64_t *nh_key;

static uint64_t fmix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xFF51AFD7ED558CCD);
	x ^= x >> 33;
	x *= UINT64_C(0xC4CEB9FE1A85EC53);
	return x ^ (x >> 33);
}

/*
 * The key is drawn at random for every run (getrandom, else
 * /dev/urandom; no key, no estimate). With a fixed key, anyone who knows
 * it can prepare different pages that hash alike (set the first two words
 * of a page to cancel the key's first four: tests/libsec/estimate_collide)
 * and make the estimate count savings KSM will never find.
 */
int est_hash_init(void)
{
	size_t n = pagesz / 8 + 2, got = 0;
	nh_key = malloc(n * sizeof(*nh_key));
	if (!nh_key)
		return -ENOMEM;
	char *k = (char *)nh_key;
	size_t len = n * sizeof(*nh_key);
	while (got < len) {
		ssize_t r = getrandom(k + got, len - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < len) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		while (fd >= 0 && got < len) {
			ssize_t r = read(fd, k + got, len - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (fd >= 0)
			close(fd);
	}
	if (got < len) {
		free(nh_key);
		nh_key = NULL;
		return -EIO;
	}
	return 0;
}

/*
 * 128-bit page hash: two NH passes (sum of (w[2i]+k[2i]) * (w[2i+1]+k[2i+1])
 * as full 64x64->128-bit products, mod 2^128), the second with the key
 * shifted by two words (the Toeplitz construction), so two different pages
 * collide with probability about 2^-128 per pass pair, for a key that
 * whoever wrote the pages cannot know. The 2x128-bit state
 * is folded to 128 bits with a 64-bit finalizer per pass. One multiply per
 * 8 bytes; about 0.3 us per 4 KiB page.
 */
void est_hash_page(const uint64_t *w, uint64_t out[2])
{
	unsigned __int128 a = 0, b = 0;
	const uint64_t *k = nh_key;
	size_t n = pagesz / 8;

	for (size_t i = 0; i < n; i += 2) {
		a += (unsigned __int128)(w[i] + k[i]) * (w[i + 1] + k[i + 1]);
		b += (unsigned __int128)(w[i] + k[i + 2]) * (w[i + 1] + k[i + 3]);
	}
	out[0] = fmix((uint64_t)a ^ fmix((uint64_t)(a >> 64) + UINT64_C(0x9E3779B97F4A7C15)));
	out[1] = fmix((uint64_t)b ^ fmix((uint64_t)(b >> 64) + UINT64_C(0xD6E8FEB86659FD93)));
	if (!out[0] && !out[1])
		out[1] = 1;	/* (0,0) marks an empty slot */
}

int est_page_is_zero(const uint64_t *w)
{
	size_t n = pagesz / 8;
	for (size_t i = 0; i < n; i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] |
		    w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return 0;
	}
	return 1;
}



static int set_grow(struct set *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1u << 16;
	uint64_t *nk = calloc(ncap * 2, sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		uint64_t a = s->k[2 * i], b = s->k[2 * i + 1];
		if (!a && !b)
			continue;
		size_t j = (size_t)(a ^ fmix(b)) & (ncap - 1);
		while (nk[2 * j] || nk[2 * j + 1])
			j = (j + 1) & (ncap - 1);
		nk[2 * j] = a;
		nk[2 * j + 1] = b;
	}
	free(s->k);
	s->k = nk;
	s->cap = ncap;
	return 0;
}

/* 1 if (a,b) was already there, 0 if added, -ENOMEM. */
int est_set_add(struct set *s, uint64_t a, uint64_t b)
{
	if ((s->n + 1) * 2 > s->cap && set_grow(s) < 0)
		return -ENOMEM;
	size_t j = (size_t)(a ^ fmix(b)) & (s->cap - 1);
	for (;;) {
		uint64_t *p = &s->k[2 * j];
		if (!p[0] && !p[1]) {
			p[0] = a;
			p[1] = b;
			s->n++;
			return 0;
		}
		if (p[0] == a && p[1] == b)
			return 1;
		j = (j + 1) & (s->cap - 1);
	}
}


void est_hash_free(void)
{
	free(nh_key);
	nh_key = NULL;
}
