/*
 * glob.c - the byte-wise glob matcher used for program= and caller= globs.
 *
 * Runs inside mmap and from signal handlers: no allocation, no locale, no
 * recursion (backtracking only to the last '*', so matching is
 * O(len(pat) * len(s)) at worst).
 */
#include <stdbool.h>
#include <string.h>

#include "policy-int.h"

/*
 * Match one bracket expression starting at pat[i] == '['. On success,
 * *next is the index after the closing ']' and the return value says
 * whether c is in the set. Returns -1 when the bracket is unterminated.
 */
static int bracket(const char *pat, size_t len, size_t i, unsigned char c,
		   size_t *next)
{
	bool neg = false, in = false;
	size_t j = i + 1;

	if (j < len && (pat[j] == '!' || pat[j] == '^')) {
		neg = true;
		j++;
	}
	bool first = true;
	while (j < len && (pat[j] != ']' || first)) {
		first = false;
		unsigned char lo = (unsigned char)pat[j];
		if (lo == '\\') {
			if (++j >= len)
				return -1;
			lo = (unsigned char)pat[j];
		}
		j++;
		unsigned char hi = lo;
		if (j + 1 < len && pat[j] == '-' && pat[j + 1] != ']') {
			j++;
			hi = (unsigned char)pat[j];
			if (hi == '\\') {
				if (++j >= len)
					return -1;
				hi = (unsigned char)pat[j];
			}
			j++;
		}
		if (lo <= c && c <= hi)
			in = true;
	}
	if (j >= len)
		return -1;
	*next = j + 1;
	return in != neg;
}

bool ksmp_glob_match(const char *pat, size_t patlen, const char *s)
{
	size_t p = 0, si = 0;
	size_t star_p = (size_t)-1, star_s = 0;

	if (!pat || !s)
		return false;
	for (;;) {
		if (p < patlen) {
			char pc = pat[p];
			if (pc == '*') {
				while (p < patlen && pat[p] == '*')
					p++;
				if (p == patlen)
					return true;	/* trailing '*' eats the rest */
				star_p = p;
				star_s = si;
				continue;
			}
			if (s[si] != '\0') {
				unsigned char c = (unsigned char)s[si];
				if (pc == '?') {
					p++;
					si++;
					continue;
				}
				if (pc == '[') {
					size_t next;
					int r = bracket(pat, patlen, p, c, &next);
					if (r > 0) {
						p = next;
						si++;
						continue;
					}
					if (r == 0)
						goto backtrack;
					/* unterminated: a literal '[' */
				} else if (pc == '\\' && p + 1 < patlen) {
					if ((unsigned char)pat[p + 1] == c) {
						p += 2;
						si++;
						continue;
					}
					goto backtrack;
				}
				if ((unsigned char)pc == c) {
					p++;
					si++;
					continue;
				}
			}
		} else if (s[si] == '\0') {
			return true;
		}
backtrack:
		if (star_p == (size_t)-1 || s[star_s] == '\0')
			return false;
		p = star_p;
		si = ++star_s;
	}
}

const char *ksmp_glob_check(const char *pat, size_t len)
{
	if (len == 0)
		return "empty glob";
	for (size_t i = 0; i < len; i++) {
		if (pat[i] == '\\') {
			if (i + 1 >= len)
				return "trailing backslash";
			i++;
		} else if (pat[i] == '[') {
			size_t next;
			if (bracket(pat, len, i, 0, &next) < 0)
				return "unterminated '['";
			i = next - 1;
		}
	}
	return NULL;
}

const char *ksmp_basename(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}
