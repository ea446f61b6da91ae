#!/bin/sh
# exports.sh - libksmpreload.so exports every interposer, and nothing of
# its internals (ksmp_* functions, the policy library): -fvisibility=hidden
# with default visibility on the interposed functions only.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
lib="$KSMP_BUILDDIR/preload/libksmpreload.so"
[ -f "$lib" ] || skip_all "libksmpreload.so not built"
command -v nm >/dev/null 2>&1 || skip_all "nm not installed"
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWiV]$/ { print $3 }' | sed 's/@.*//')
# glibc's compat pthread_atfork (a version only, no default: nm shows one
# @) bypasses __register_atfork: the library defines it under that version
compat=$(nm -D --defined-only /lib/*-linux-gnu*/libc.so.6 /lib64/libc.so.6 2>/dev/null |
	awk '$3 ~ /^pthread_atfork@[^@]/ { print "pthread_atfork"; exit }')
want="malloc free calloc realloc reallocarray memalign posix_memalign
aligned_alloc valloc pvalloc malloc_usable_size mmap mmap64 munmap mremap
brk sbrk pthread_create dlclose sigaction signal bsd_signal sysv_signal sigset
pause sigsuspend write writev mallopt __register_atfork $compat"
plan 3
missing=""
for s in $want; do
	echo "$syms" | grep -qx "$s" || missing="$missing $s"
done
is "$missing" "" "every interposer is exported"
internal=$(echo "$syms" | grep -E '^(ksmp_|_?ksmp)' | tr '\n' ' ')
is "$internal" "" "no internal ksmp_* function is exported"
data=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[BDGRS]$/ { print $3 }' | tr '\n' ' ')
is "$data" "" "no data symbol is exported"
done_testing
