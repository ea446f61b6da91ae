/*
 * ksmp-early - a program linked with libksmpearly.so and
 * libgcrypt.so.ksmpearly, whose constructors map and fill memory before
 * the preloaded library's constructor runs (tests/preload/preload_early.sh;
 * what they print is in libksmpearly.c). It prints "ready" and waits
 * until killed.
 */
#include <stdio.h>
#include <unistd.h>

int ksmp_early_plain(void);
int ksmp_early_crypto(void);

int main(void)
{
	printf("linked %d %d\nready\n", ksmp_early_plain(), ksmp_early_crypto());
	fflush(stdout);
	for (;;)
		pause();
}
