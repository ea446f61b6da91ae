/*
 * builtin.c - the policy texts compiled into the library: the built-in
 * default, and the rules a `mode auto` policy without rules of its own
 * gets. policy/default.policy ships the default; a test keeps them equal.
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
 * The built-in default, safe for any program: only large malloc chunks
 * and large anonymous read-write mmaps are merged, never the shared heap
 * or arenas (other libraries' secrets may live there), never stacks or
 * file mappings, and nothing a crypto library asked for.
 * policy/default.policy ships the same rules; a test keeps them equal.
 */
const char ksmp_default_policy_text[] =
	"name default\n"
	"mode regions\n"
	"log error\n"
	"strict no\n"
	"control yes\n"
	"heap-step 4M\n"
	CRYPTO_SKIPS
	"skip stack,file\n"
	"merge chunk min=256K\n"
	"merge mmap min=1M prot=rw\n";

/*
 * The memory mode auto may offer to KSM when a policy names no rules: all
 * anonymous data memory (heap, arenas, large chunks, the program's own
 * mmaps of 64K and more that are not code), never thread stacks, file
 * mappings, or what a crypto library asked for. The controller in
 * mergefs(8) then prunes, by measurement, what does not merge.
 */
const char ksmp_auto_rules_text[] =
	CRYPTO_SKIPS
	"skip stack,file\n"
	"skip mmap prot=rwx\n"
	"skip mmap prot=rx\n"
	"merge heap,arena,chunk\n"
	"merge mmap min=64K\n";
