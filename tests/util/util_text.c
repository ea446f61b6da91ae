/*
 * util_text.c - libksmputil's small-file reader and UTF-8 checks, which
 * the command and mergefs share: lengths and errors of ksmp_read_small,
 * and the characters ksmp_utf8_len, ksmp_utf8_text_len, ksmp_text_esc
 * and ksmp_json_str let through or escape.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksmp_util.h"
#include "tap.h"

#define U(s) ((const unsigned char *)(s))

static void test_read_small(void)
{
	char dir[] = "/tmp/ksmp_util_XXXXXX", path[64], buf[8];
	if (!mkdtemp(dir)) {
		tap_skip(5, "no temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	FILE *f = fopen(path, "w");
	fputs("12345\n", f);
	fclose(f);
	is_int(ksmp_read_small(path, buf, sizeof(buf)), 6, "whole file read");
	is_str(buf, "12345\n", "with a NUL after it");
	is_int(ksmp_read_small(path, buf, 4), 3, "cut at size - 1 bytes");
	is_str(buf, "123", "and terminated");
	unlink(path);
	is_int(ksmp_read_small(path, buf, sizeof(buf)), -ENOENT, "-ENOENT when missing");
	rmdir(dir);
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t n, len, text;	/* bytes given; the two lengths wanted */
		const char *what;
	} t[] = {
		{ "a", 1, 1, 1, "ASCII" },
		{ "\xc3\xa9", 2, 2, 2, "e acute" },
		{ "\xc3\xa9", 1, 0, 0, "e acute cut short" },
		{ "\xe2\x82\xac", 3, 3, 3, "euro sign" },
		{ "\xf0\x9f\x98\x80", 4, 4, 4, "emoji" },
		{ "\xc0\xaf", 2, 0, 0, "overlong slash" },
		{ "\xed\xa0\x80", 3, 0, 0, "surrogate" },
		{ "\xf4\x90\x80\x80", 4, 0, 0, "above U+10FFFF" },
		{ "\x80", 1, 0, 0, "lone continuation byte" },
		{ "\xc2\x85", 2, 2, 0, "C1 control: UTF-8, not text" },
		{ "\xc2\xa0", 2, 2, 2, "U+00A0" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(ksmp_utf8_len(U(t[i].s), t[i].n) == t[i].len &&
		   ksmp_utf8_text_len(U(t[i].s), t[i].n) == t[i].text,
		   "%s: %zu, as text %zu", t[i].what, t[i].len, t[i].text);
}

static void test_escapes(void)
{
	char out[64];
	is_str(ksmp_text_esc(out, sizeof(out), "a\xc3\xa9\x1b[\\\xc2\x9b\xff"),
	       "a\xc3\xa9\\x1b[\\x5c\\xc2\\x9b\\xff", "text: controls, C1, backslash, bad bytes");
	is_str(ksmp_text_esc(out, 6, "ab\x01"), "ab", "text: no cut escape");
	char *j = NULL;
	size_t jl = 0;
	FILE *f = open_memstream(&j, &jl);
	ksmp_json_str(f, "\"\xc3\xa9\xc2\x85\xfe\n");
	fclose(f);
	is_str(j, "\"\\\"\xc3\xa9\xc2\x85\\u00fe\\n\"", "JSON: valid UTF-8 kept, bad byte escaped");
	free(j);
}

int main(void)
{
	tap_plan(19);
	test_read_small();
	test_utf8();
	test_escapes();
	return tap_done();
}
