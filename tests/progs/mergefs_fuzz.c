/*
 * mergefs_fuzz - send many random bad (and a few good) writes and reads to
 * a process's mergefs files; mergefs must answer every one of them.
 *
 *   mergefs_fuzz DIR COUNT SEED
 *
 * DIR is /MNT/PID of a steerable target. Prints "answered N unexpected M":
 * unexpected counts writes that succeeded although they were not valid
 * commands, or failed with something other than EINVAL. Never writes to
 * /MNT/ksm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static const char *const seeds[] = {
	"0", "1", "2", "01", "1 ", " 1", "merge", "unmerge", "merge 0x1000",
	"merge 0x1000 0x1000 1", "unmerge -1 4096", "merge 0 0", "10",
	"merge 0xffffffffffffffff 0x1000", "unmerge 4096 99999999999999999999",
	"\n", "\n\n", "1\n\n", "0\0", "yes", "+1", "-0",
};

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mergefs_fuzz DIR COUNT SEED\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	rng = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
	static const char *const files[] = { "merge", "regions", "stats", "policy", "regions_ksm" };
	long answered = 0, unexpected = 0;
	char buf[8192], path[4096];
	for (long i = 0; i < count; i++) {
		const char *f = files[rnd() % 2];	/* mostly writable files */
		if (rnd() % 8 == 0)
			f = files[2 + rnd() % 3];
		snprintf(path, sizeof(path), "%s/%s", argv[1], f);
		size_t len;
		switch (rnd() % 4) {
		case 0: /* random bytes */
			len = rnd() % 64 + 1;
			for (size_t j = 0; j < len; j++)
				buf[j] = (char)rnd();
			break;
		case 1: /* a near-valid command, mutated */
			{
				const char *s = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
				len = strlen(s);
				memcpy(buf, s, len);
				if (len && rnd() % 2)
					buf[rnd() % len] = (char)rnd();
			}
			if (!len)
				len = 1;
			break;
		case 2: /* huge */
			len = 300 + rnd() % (sizeof(buf) - 300);
			memset(buf, '1', len);
			break;
		default: /* printable junk */
			len = rnd() % 40 + 1;
			for (size_t j = 0; j < len; j++)
				buf[j] = (char)(' ' + rnd() % 95);
			break;
		}
		off_t off = rnd() % 4 == 0 ? (off_t)(rnd() % 100000) : 0;
		int fd = open(path, rnd() % 8 ? O_WRONLY : O_RDWR);
		if (fd < 0) {
			if (errno == EACCES && strcmp(f, "merge") && strcmp(f, "regions")) {
				answered++;	/* read-only file */
				continue;
			}
			fprintf(stderr, "open %s: %s\n", path, strerror(errno));
			unexpected++;
			if (errno == ENOTCONN || errno == ENOENT)
				break;
			continue;
		}
		ssize_t n = pwrite(fd, buf, len, off);
		int e = errno;
		if (rnd() % 4 == 0) {
			char rb[512];
			while (read(fd, rb, sizeof(rb)) > 0)
				;
		}
		close(fd);
		answered++;
		if (n >= 0) {
			/* Only exact valid commands may succeed. */
			int valid = off == 0 && ((len == 1 && (buf[0] == '0' || buf[0] == '1')) ||
				    (len == 2 && (buf[0] == '0' || buf[0] == '1') && buf[1] == '\n'));
			if (!valid || strcmp(f, "merge")) {
				fprintf(stderr, "write of %zu bytes at %lld to %s succeeded\n",
					len, (long long)off, f);
				unexpected++;
			}
		} else if (e != EINVAL) {
			fprintf(stderr, "write to %s: %s\n", f, strerror(e));
			unexpected++;
			if (e == ENOTCONN)
				break;
		}
	}
	printf("answered %ld unexpected %ld\n", answered, unexpected);
	return unexpected ? 1 : 0;
}
