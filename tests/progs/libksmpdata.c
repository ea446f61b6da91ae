/*
 * libksmpdata.so - a shared object with 512 KiB of .bss, for the data
 * kind's tests (tests/preload/preload_data.sh): ksmp-data dlopens it
 * (late, to see that objects loaded after the library's first look get
 * their data advised, and unloads it again), and the same source is built
 * as libcrypto.so.ksmpdata, whose static data the built-in default must
 * never advise (its name matches the crypto skip rules).
 */
#include <stddef.h>

#define BSS_SIZE (512u << 10)

static unsigned char bss[BSS_SIZE] __attribute__((aligned(4096)));

unsigned char *ksmp_data_bss(size_t *len);
unsigned char *ksmp_data_bss(size_t *len)
{
	*len = sizeof(bss);
	return bss;
}
