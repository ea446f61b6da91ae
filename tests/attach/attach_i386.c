/*
 * attach_i386.c - a 32-bit x86 program for tests/attach/attach_refuse.sh,
 * built there (cc -m32 -nostdlib -static) when the compiler can: one
 * write(2) of 1 MiB to stdout by int 0x80; exits 0 when all of it went, 1
 * when the write returned short.
 */
static char buf[1 << 20];

static long sys3(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

void _start(void);
void _start(void)
{
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	long r = sys3(4 /* write */, 1, (long)buf, (long)sizeof(buf));
	sys3(1 /* exit */, r == (long)sizeof(buf) ? 0 : 1, 0, 0);
	for (;;)
		;
}
