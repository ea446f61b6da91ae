/*
 * libksmpcaller.so - a tiny shared object whose only job is to call mmap,
 * so that tests can check caller= policy conditions (the calling library
 * of this mmap is libksmpcaller.so, not the program).
 */
#include <stddef.h>
#include <sys/mman.h>

void *ksmp_caller_mmap(size_t len);
void *ksmp_caller_mmap(size_t len)
{
	/* Not a tail call: the return address must stay in this object. */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

int ksmp_caller_answer(void);
int ksmp_caller_answer(void)
{
	return 42;
}
