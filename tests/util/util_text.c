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
	is_int(ksmp_utf8_len(U("a"), 1), 1, "ASCII: 1");
	is_int(ksmp_utf8_len(U("\xc3\xa9"), 2), 2, "e acute: 2");
	is_int(ksmp_utf8_len(U("\xc3\xa9"), 1), 0, "a cut sequence is not valid");
	is_int(ksmp_utf8_len(U("\xe2\x82\xac"), 3), 3, "euro sign: 3");
	is_int(ksmp_utf8_len(U("\xf0\x9f\x98\x80"), 4), 4, "emoji: 4");
	is_int(ksmp_utf8_len(U("\xc0\xaf"), 2), 0, "overlong slash");
	is_int(ksmp_utf8_len(U("\xed\xa0\x80"), 3), 0, "surrogate");
	is_int(ksmp_utf8_len(U("\xf4\x90\x80\x80"), 4), 0, "above U+10FFFF");
	is_int(ksmp_utf8_len(U("\x80"), 1), 0, "lone continuation byte");
	is_int(ksmp_utf8_len(U("\xc2\x85"), 2), 2, "C1 control is valid UTF-8");
	is_int(ksmp_utf8_text_len(U("\xc2\x85"), 2), 0, "but not text");
	is_int(ksmp_utf8_text_len(U("\xc2\xa0"), 2), 2, "U+00A0 is text");
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
	tap_plan(20);
	test_read_small();
	test_utf8();
	test_escapes();
	return tap_done();
}
