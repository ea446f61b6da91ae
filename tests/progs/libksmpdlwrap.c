/*
 * libksmpdlwrap.so - preloaded before libksmpreload.so, so that the
 * library's dlsym calls (symbols.c, looking up the real functions)
 * reach this dlsym first. It allocates with the malloc family before it
 * jumps to the real dlsym (a jump, not a call: dlsym(RTLD_NEXT) looks
 * after the object its caller is in, which stays libksmpreload.so). While
 * the library's lookups run, those calls are answered from its bootstrap
 * pool: malloc, calloc (zeroed), realloc (data kept), malloc_usable_size
 * and free must all handle pool blocks, and nothing may reach the real
 * free (glibc would abort on a pointer it never gave out). The blocks of
 * the library's lookups are kept and checked, moved out by realloc and
 * freed again at exit, once the real functions are known. At exit it
 * prints "dlwrap lib N pool M bad K": of the N dlsym calls made by
 * libksmpreload.so, M had their blocks inside it (its pool, part of its
 * static data); K checks failed in all (also in calls by others, which
 * get ordinary blocks). x86-64 only (the jump is written in assembly);
 * elsewhere it prints "dlwrap unsupported".
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN void *(*ksmpdlwrap_real)(void *, const char *);
HIDDEN void ksmpdlwrap_before(const void *ret);
static int lib, pool, bad, nkept;
static char *kept[64];		/* pool blocks, freed at exit */

static int in_preload_lib(const void *p)
{
	Dl_info di;
	return dladdr(p, &di) && di.dli_fname && strstr(di.dli_fname, "libksmpreload");
}

/* p: 'k' x 40 in a block of 100 bytes or more; c: 24 zero bytes */
static void check(const char *p, const char *c)
{
	if (!p || !c || malloc_usable_size((void *)p) < 100)
		bad++;
	else if (p[0] != 'k' || p[39] != 'k')
		bad++;
	for (int i = 0; c && i < 24; i++)
		if (c[i])
			bad++;
}

void ksmpdlwrap_before(const void *ret)
{
	if (!ksmpdlwrap_real)
		ksmpdlwrap_real = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
	if (!ksmpdlwrap_real)
		ksmpdlwrap_real = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
	char *p = malloc(40);
	if (p)
		memset(p, 'k', 40);
	p = realloc(p, 100);
	char *c = calloc(3, 8);
	check(p, c);
	if (in_preload_lib(ret)) {
		lib++;
		if (p && c && in_preload_lib(p) && in_preload_lib(c)) {
			pool++;
			if (nkept + 2 <= 64) {	/* given back at exit, once */
				kept[nkept++] = p;	/* the library knows */
				kept[nkept++] = c;	/* the real functions */
				return;
			}
		}
	}
	free(p);
	free(c);
	free(NULL);
}
#if defined(__x86_64__)
__asm__(".text\n"
	".globl dlsym\n"
	".type dlsym, @function\n"
	"dlsym:\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	sub $8, %rsp\n"
	"	mov 24(%rsp), %rdi\n"	/* dlsym's return address */
	"	call ksmpdlwrap_before\n"
	"	add $8, %rsp\n"
	"	pop %rsi\n"
	"	pop %rdi\n"
	"	jmp *ksmpdlwrap_real(%rip)\n"
	".size dlsym, .-dlsym\n");
#endif

__attribute__((destructor)) static void report(void)
{
#if defined(__x86_64__)
	for (int i = 0; i + 1 < nkept; i += 2) {
		check(kept[i], kept[i + 1]);
		if (i == 0) {	/* realloc moves a pool block out */
			char *q = realloc(kept[i], 4000);
			if (!q || q[0] != 'k' || q[39] != 'k' || in_preload_lib(q))
				bad++;
			kept[i] = q;
		}
		free(kept[i]);
		free(kept[i + 1]);
	}
	dprintf(2, "dlwrap lib %d pool %d bad %d\n", lib, pool, bad);
#else
	dprintf(2, "dlwrap unsupported\n");
#endif
}
