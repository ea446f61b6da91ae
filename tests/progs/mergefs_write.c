/*
 * mergefs_write - one write to a file, reporting the outcome by errno
 * name so that shell tests can check exact errors.
 *
 *   mergefs_write FILE DATA [OFFSET]     prints OK or the errno name
 *
 * DATA is written as given (no newline added); "@N" writes N bytes of 'x'.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENOENT: return "ENOENT";
	case EDEADLK: return "EDEADLK";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";
	case EBADF: return "EBADF";
	case ENOTCONN: return "ENOTCONN";
	case EBUSY: return "EBUSY";
	case EMFILE: return "EMFILE";
	case ESRCH: return "ESRCH";
	case EIO: return "EIO";
	default: return "EOTHER";
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mergefs_write FILE DATA [OFFSET]\n");
		return 2;
	}
	const char *data = argv[2];
	size_t len = strlen(data);
	char *big = NULL;
	if (data[0] == '@') {
		len = strtoul(data + 1, NULL, 10);
		big = malloc(len + 1);
		if (!big)
			return 2;
		memset(big, 'x', len);
		data = big;
	}
	off_t off = argc > 3 ? (off_t)strtoll(argv[3], NULL, 0) : 0;
	int fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		printf("%s\n", ename(errno));
		free(big);
		return 0;
	}
	ssize_t n = pwrite(fd, data, len, off);
	printf("%s\n", n < 0 ? ename(errno) : (size_t)n == len ? "OK" : "SHORT");
	close(fd);
	free(big);
	return 0;
}
