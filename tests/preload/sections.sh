#!/bin/sh
# sections.sh - where libksmpreload.so's large zero-initialised arrays
# (KSMP_BIG, preload/lib.h) land: .lbss must take no room in the file
# (a compiler that does not know the name makes it PROGBITS: a megabyte
# of zeros in the library), must follow .bss in its segment, and a
# sanitizer build must have none (ASan puts no redzones around globals in
# a section of their own: overflows of those arrays would go unseen).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
lib="$KSMP_BUILDDIR/preload/libksmpreload.so"
[ -f "$lib" ] || skip_all "libksmpreload.so not built"
command -v readelf >/dev/null 2>&1 || skip_all "readelf not installed"
plan 3
lbss=$(readelf -SW "$lib" | grep -F ' .lbss ')
if sanitized; then
	is "$lbss" "" "sanitizer build: no .lbss (its arrays keep ASan's redzones)"
else
	skip 1 "not a sanitizer build"
fi
if [ -n "$lbss" ]; then
	type=$(echo "$lbss" | sed 's/.*\.lbss *//' | awk '{ print $1 }')
	is "$type" NOBITS ".lbss takes no room in the file"
	# the segment holding .bss holds .lbss too, after it
	ok ".lbss follows .bss in the same segment" sh -c \
		"readelf -lW '$lib' | grep -E '[[:space:]]\\.bss[[:space:]]+\\.lbss([[:space:]]|\$)' >/dev/null"
else
	skip 2 "no .lbss in this build"
fi
done_testing
