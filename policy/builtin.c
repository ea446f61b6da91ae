/*
 * builtin.c - the policy texts compiled into the library: the built-in
 * default, the default of programs in secure execution, and the rules a
 * `mode auto` policy without rules of its own gets. policy/default.policy ships the default; a test keeps them equal.
 */
#include "policy-int.h"

/* First in every built-in rule set: memory a crypto library asked for. */
#define CRYPTO_SKIPS \
	"skip any caller=libcrypto.so* caller=libssl*.so* caller=libgcrypt.so*" \
	" caller=libsodium.so* caller=libgnutls*.so* caller=libnettle.so*" \
	" caller=libhogweed.so* caller=libmbed*.so*\n" \
	"skip any caller=libnss3.so* caller=libnssutil3.so* caller=libsoftokn3.so*" \
	" caller=libfreebl*.so* caller=libsmime3.so* caller=libwolfssl.so*" \
	" caller=libk5crypto.so* caller=libbotan*.so*\n"

/*
 * The rules of mode auto: all anonymous data memory (heap, arenas, large
 * chunks, thread stacks, the program's own mmaps of 64K and more that are
 * not code), never file mappings, or what a crypto library asked for
 * (served from the library's never-advised crypto heap). The controller in
 * mergefs(8) then prunes, by measurement, what does not merge. Thread
 * stacks: bench-real's redis and jvm-g1 kept 0.81 and 0.87 of
 * whole-process merging's saving without them, most of the rest being
 * stack pages (a redis thread's 8 MiB stack, the JVM's threads).
 * Loaded objects' static data (.data, .bss), judged by the object's name
 * (so crypto libraries' is skipped): on bench-real whole-process merging
 * merged 0.7-1.4 MB there per 4 instances of jvm-g1, python and node that
 * the default without it did not.
 */
#define AUTO_RULES \
	CRYPTO_SKIPS \
	"skip file\n" \
	"skip mmap prot=rwx\n" \
	"skip mmap prot=rx\n" \
	"merge heap,arena,chunk,stack\n" \
	"merge data\n" \
	"merge mmap min=64K\n"

/*
 * The built-in default: mode auto with its rules (issue 13: on
 * bench-real it beat the former default, below, on both halves of the
 * suite). policy/default.policy ships the same; a test keeps them equal.
 * heap-step 256K, not 4M: glibc's M_TOP_PAD of 4M let buffers that perl
 * grows with realloc at the heap's top stay in the heap, where they do
 * not line up across instances, instead of moving to mmaps of their own
 * that merge (bench-real's perl: 0.03 of whole-process's saving with 4M).
 */
const char ksmp_default_policy_text[] =
	"name default\n"
	"mode auto\n"
	"log error\n"
	"strict no\n"
	"control yes\n"
	"heap-step 256K\n"
	AUTO_RULES;

/*
 * The default of a program in secure execution (set-user-ID, set-group-ID,
 * file capabilities; KSMP_SELECT_SECURE), the built-in default before
 * mode auto: only large malloc chunks and large anonymous read-write mmaps
 * are merged, never the shared heap or arenas (other libraries' secrets
 * may live there), never stacks or file mappings, and nothing a crypto
 * library asked for.
 */
const char ksmp_secure_policy_text[] =
	"name default-secure\n"
	"mode regions\n"
	"log error\n"
	"strict no\n"
	"control yes\n"
	"heap-step 4M\n"
	CRYPTO_SKIPS
	"skip stack,file\n"
	"merge chunk min=256K\n"
	"merge mmap min=1M prot=rw\n";

/* The rules a mode auto policy without rules of its own gets. */
const char ksmp_auto_rules_text[] = AUTO_RULES;
