/*
 * crypto.c - is this malloc call made by a crypto library? Decides which
 * calls heap.c serves.
 *
 * The calling object is the one that holds the call's return address,
 * found as the policy's caller= conditions find it (caller.c). It is a
 * crypto library when a "skip" rule for the heap (or "any") with a
 * caller= glob matching its name exists in the built-in default policy
 * (the crypto libraries every shipped policy skips: libcrypto, libssl,
 * libgcrypt, libsodium, GnuTLS, Nettle, Mbed TLS, NSS, wolfSSL, Kerberos,
 * Botan) or in the policy in use.
 *
 * The answer is cached per return address in a direct-mapped table of
 * 64-bit words: address (48 bits), the caller cache's epoch (15 bits,
 * bumped by dlclose) and the verdict (top bit), so a hit costs one load
 * and a compare. Only switched on (ksmp_heap_enable) when merging may
 * reach the shared heap: the process engine, or heap/arena rules.
 *
 * Never: allocate or take a lock a malloc call may hold.
 */
#include "lib.h"

#define ADDR_MASK ((1ull << KSMP_CALLER_EPOCH_SHIFT) - 1)

bool ksmp_heap_on;
uint64_t ksmp_heap_verdicts[KSMP_HEAP_VERDICTS] KSMP_BIG;
static struct ksmp_policy builtin KSMP_BIG;

/* The built-in default's rules, parsed again only when the policy in use
 * has others (most programs run under the built-in default itself: one
 * parse fewer at start). Set before ksmp_heap_on. */
static const struct ksmp_policy *builtin_p;

static bool crypto_name(const char *name)
{
	const struct ksmp_policy *b = __atomic_load_n(&builtin_p, __ATOMIC_ACQUIRE);
	return (b && b != ksmp_pol && ksmp_policy_skips_caller(b, name)) ||
	       ksmp_policy_skips_caller(ksmp_pol, name);
}

bool ksmp_heap_crypto_slow(uintptr_t r)
{
	uint64_t epoch = __atomic_load_n(&ksmp_caller_epoch, __ATOMIC_ACQUIRE);
	char name[KSMP_STATE_CALLER_MAX];
	bool sure = ksmp_caller_name((const void *)r, name, sizeof(name));
	/* A caller that cannot be named for sure (a forked child that must
	 * not walk the loader: an object it loaded after the fork) is kept
	 * out, as if it were a crypto library's: the safe side. */
	bool c = name[0] ? crypto_name(name) : !sure;
	if (sure && r && r <= ADDR_MASK) {	/* not sure: ask again next time */
		uint64_t e = (uint64_t)r | (epoch & KSMP_CALLER_EPOCH_MASK) |
			     (uint64_t)c << 63;
		__atomic_store_n(&ksmp_heap_verdicts[ksmp_heap_slot(r)], e,
				 __ATOMIC_RELAXED);
	}
	return c;
}

void ksmp_heap_enable(void)
{
	if (ksmp_heap_on)
		return;
	if (!ksmp_pol->builtin_rules)
		ksmp_policy_default(&builtin);
	__atomic_store_n(&builtin_p, ksmp_pol->builtin_rules ? ksmp_pol : &builtin,
			 __ATOMIC_RELEASE);
	ksmp_heap_atfork();
	__atomic_store_n(&ksmp_heap_on, true, __ATOMIC_RELEASE);
}
