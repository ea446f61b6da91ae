/* util.c - see ksmp_util.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ksmp_util.h"

double ksmp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ksmp_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : first ? first : 1;
	while (nc < need && nc <= SIZE_MAX / 2)
		nc *= 2;
	void *arr, *na = NULL;	/* *arrp is a T *: copied, not aliased */
	memcpy(&arr, arrp, sizeof(arr));
	if (nc >= need && elem && nc <= SIZE_MAX / elem)
		na = realloc(arr, nc * elem);
	if (!na) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(arrp, &na, sizeof(na));
	*cap = nc;
	return 0;
}

char *ksmp_read_fd(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (cap - n < 4096 && ksmp_grow(&buf, &cap, n + 4096, 1, 0) < 0) {
			free(buf);
			return NULL;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *ksmp_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *t = ksmp_read_fd(fd, len);
	int e = errno;
	close(fd);
	errno = e;
	return t;
}

ssize_t ksmp_read_small(const char *path, char *buf, size_t size)
{
	if (!size)
		return -EINVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0)
		return e == ESRCH ? -ENOENT : -e;
	buf[n] = '\0';
	return n;
}

long long ksmp_key_value(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l;) {
		if (!strncmp(l, key, kl) && l[kl] == ' ')
			return strtoll(l + kl + 1, NULL, 10);
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -1;
}

size_t ksmp_utf8_len(const unsigned char *s, size_t n)
{
	if (!n)
		return 0;
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min, cp;
	if ((c & 0xe0) == 0xc0) {
		len = 2, min = 0x80, cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, min = 0x800, cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at a NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t ksmp_utf8_text_len(const unsigned char *s, size_t n)
{
	size_t len = ksmp_utf8_len(s, n);
	/* C1 controls (U+0080..U+009F) act on some terminals too */
	if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return len;
}

void ksmp_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p) {
		unsigned c = *p;
		size_t n = ksmp_utf8_len(p, strnlen((const char *)p, 4));
		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f || n == 0) {
			fprintf(f, "\\u%04x", c);
		} else {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		p++;
	}
	fputc('"', f);
}

/* Read /proc/PID/stat into buf; the name's '(' in *open_paren, the text
 * after the name (" S ppid ...") returned, NULL if unreadable. The name
 * in parentheses may hold spaces and ')': the fields follow the last. */
static char *proc_stat(pid_t pid, char *buf, size_t size, char **open_paren)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (ksmp_read_small(path, buf, size) <= 0)
		return NULL;
	*open_paren = strchr(buf, '(');
	char *p = strrchr(buf, ')');
	return p && *open_paren && *open_paren < p ? p + 1 : NULL;
}

int ksmp_proc_stat_id(pid_t pid, uint64_t *starttime, char *comm, size_t commsz)
{
	char buf[1024], *open_paren;
	char *p = proc_stat(pid, buf, sizeof(buf), &open_paren);
	if (!p)
		return -ENOENT;
	if (comm && commsz) {
		size_t len = (size_t)(p - 1 - open_paren - 1);
		if (len >= commsz)
			len = commsz - 1;
		memcpy(comm, open_paren + 1, len);
		comm[len] = '\0';
	}
	/* p points at " S ppid ...": field 3 is the first after ')' */
	for (int field = 2; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -ENOENT;
		p++;
	}
	*starttime = strtoull(p, NULL, 10);
	return 0;
}

int ksmp_proc_starttime(pid_t pid, uint64_t *starttime)
{
	return ksmp_proc_stat_id(pid, starttime, NULL, 0);
}

char ksmp_proc_state(pid_t pid)
{
	char buf[1024], *open_paren;
	const char *p = proc_stat(pid, buf, sizeof(buf), &open_paren);
	return p && p[0] == ' ' ? p[1] : 0;
}

const char *ksmp_text_esc(char *dst, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	if (!size)
		return dst;
	while (*p) {
		char e[4];
		const char *u = (const char *)p;
		size_t k = ksmp_utf8_text_len(p, strnlen(u, 4));
		if (k == 1 && (*p < 0x20 || *p == 0x7f || *p == '\\'))
			k = 0;
		if (k == 0) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[*p >> 4];
			e[3] = hex[*p & 15];
			u = e;
			k = 4;
			p++;
		} else {
			p += k;
		}
		if (n + k >= size)
			break;	/* whole units only: no cut UTF-8 or \x */
		memcpy(dst + n, u, k);
		n += k;
	}
	dst[n] = '\0';
	return dst;
}
