/*
 * log.c - the library's only output: one write(2) per message to fd 2,
 * formatted on the stack by a tiny printf subset (no stdio, no locale, no
 * allocation, async-signal-safe). Nothing is written unless the log level
 * (policy "log", overridden by KSMP_LOG) asks for it; write errors (a
 * closed stderr) are ignored.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib.h"

int ksmp_loglevel = KSMP_LOG_ERROR;

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void puts_(struct out *o, const char *s, int width)
{
	size_t n = 0;
	if (!s)
		s = "(null)";
	for (; s[n]; n++)
		put(o, s[n]);
	for (; width > 0 && (size_t)width > n; width--)
		put(o, ' ');
}

static void putu(struct out *o, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		put(o, tmp[--n]);
}

size_t ksmp_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		int width = 0;
		bool left = false;
		if (*f == '-') {
			left = true;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		int lng = 0;
		while (*f == 'l') {
			lng++;
			f++;
		}
		if (*f == 'z') {
			lng = 1;
			f++;
		}
		switch (*f) {
		case 's':
			puts_(&o, va_arg(ap, const char *), left ? width : 0);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0) {
				put(&o, '-');
				putu(&o, (unsigned long long)-(v + 1) + 1, 10);
			} else {
				putu(&o, (unsigned long long)v, 10);
			}
			break;
		}
		case 'u':
			putu(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
			break;
		case 'x':
			putu(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			putu(&o, (uintptr_t)va_arg(ap, void *), 16);
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			f--;
			break;
		default:
			put(&o, '%');
			put(&o, *f);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

size_t ksmp_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = ksmp_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void ksmp_logf(int level, const char *fmt, ...)
{
	if (level > ksmp_loglevel || level <= KSMP_LOG_NONE)
		return;
	int saved = errno;
	char buf[640];
	size_t n = ksmp_fmt(buf, sizeof(buf), "ksmpreload[%d]: ", (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	if (n < sizeof(buf))
		n += ksmp_vfmt(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	syscall(SYS_write, 2, buf, n);	/* not through write.c's interposer */
	errno = saved;
}
