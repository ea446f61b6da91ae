/*
 * tap.h - minimal TAP producer for ksmpreload's C tests.
 *
 * One plan per test program. Checks are plain functions (never assert(),
 * which NDEBUG would remove). Environment skips (no root, no KSM, no
 * /dev/fuse) go through tap_skip_all_env()/tap_skip_env(), which turn into
 * failures when KSMP_TEST_REQUIRE=1; skips that are about the build (e.g.
 * sanitizer runtime) use tap_skip_all()/tap_skip().
 */
#ifndef KSMP_TAP_H
#define KSMP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n_;
static int tap_failed_;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
	printf("%sok %d - ", cond ? "" : "not ", ++tap_n_);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed_++;
	return cond;
}

__attribute__((format(printf, 2, 3)))
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vok(cond, fmt, ap);
	va_end(ap);
	return cond;
}

__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define is_int(got, want, ...) \
	(((long long)(got) == (long long)(want)) ? ok(1, __VA_ARGS__) : \
	 (diag("got %lld, want %lld", (long long)(got), (long long)(want)), ok(0, __VA_ARGS__)))

#define is_str(got, want, ...) \
	((strcmp((got), (want)) == 0) ? ok(1, __VA_ARGS__) : \
	 (diag("got '%s', want '%s'", (got), (want)), ok(0, __VA_ARGS__)))

static inline int tap_require(void)
{
	const char *r = getenv("KSMP_TEST_REQUIRE");
	return r && strcmp(r, "1") == 0;
}

static inline void tap_skip(int n, const char *why)
{
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_n_, why);
	fflush(stdout);
}

/* A missing part of the environment: skip, or fail under KSMP_TEST_REQUIRE=1. */
static inline void tap_skip_env(int n, const char *why)
{
	if (!tap_require()) {
		tap_skip(n, why);
		return;
	}
	while (n-- > 0) {
		printf("not ok %d - required but missing: %s\n", ++tap_n_, why);
		tap_failed_++;
	}
	fflush(stdout);
}

__attribute__((noreturn))
static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}

__attribute__((noreturn))
static inline void tap_skip_all_env(const char *why)
{
	if (!tap_require())
		tap_skip_all(why);
	printf("1..1\nnot ok 1 - required but missing: %s\n", why);
	fflush(stdout);
	exit(1);
}

__attribute__((noreturn))
static inline void tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(1);
}

static inline int tap_done(void)
{
	return tap_failed_ ? 1 : 0;
}

#endif
