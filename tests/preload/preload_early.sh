#!/bin/sh
# preload_early.sh - memory that libraries' constructors map before the
# library's own constructor ran (the loader runs a program's libraries'
# constructors first; redis-server's libgpg-error mallocs there, and
# jemalloc maps its first extents, where the arena's data then lies), under
# the built-in default (an empty policy directory). 2 instances of
# ksmp-early, whose libksmpearly.so and libgcrypt.so.ksmpearly map 1 MiB
# regions in their constructors (libksmpearly.c): a plain mmap, the
# middle of a trimmed one, one grown by mremap, a mapping the library
# cannot see made where a noted one was unmapped, and the rest of one
# whose first page went by a munmap of 100 bytes (whole pages go), one
# moved with MREMAP_DONTUNMAP (both its new range and its old one, which
# stays mapped: the old one lost its note), and the second half of a
# mapping moved alone by mremap (its note went with the mapping only
# when the move began where a note began: that half was not noted). Per
# process: the premise (the plain region had no mg right after its mmap:
# the constructor ran before the library's); mg and a record naming
# libksmpearly.so on the plain, trimmed, remapped and unaligned ones;
# none on the unseen one or on the crypto library's; KSM pages in the
# first three at the plateau, none in the others.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_root
need_ksm
pl_need_lib
ksm_fast "$@"
pl_tmp

N=2
plan $((N * 25))

mkdir -p "$PL_TMP/empty.d"
seed=$(( $$ % 100000 + 1 ))
pids=""
for i in $(seq $N); do
	pl_start "$PL_TMP/e$i.out" env LD_PRELOAD="$(ksmp_preload)" \
		KSMP_POLICY_DIR="$PL_TMP/empty.d" KSMP_EARLY_SEED="$seed" \
		"$PROGS/ksmp-early"
	pids="$pids $PL_LAST"
done

k=0
for p in $pids; do
	k=$((k + 1)); out="$PL_TMP/e$k.out"
	pl_wait_ready "$out" || true
	is "$(awk '$1 == "premise" { printf "%s%s", s, $3; s = " " }' "$out")" "nomg nomg" \
		"$k: premise: both constructors ran before the library's (no mg right after their mmap)"
	for r in 0:plain 1:trimmed 2:remapped 4:unaligned 5:dontunmap-new 6:dontunmap-old \
		7:moved-part; do
		a=$(pl_addr "$out" "${r%%:*}")
		case $r in 5:* | 6:*) if grep -q '^early-nodontunmap 0' "$out"; then
			skip 2 "$k: MREMAP_DONTUNMAP refused by the kernel"; continue; fi ;;
		esac
		is "$(pl_probe mg "$p" "$a")" mg "$k: the ${r#*:} early region has mg"
		is "$(pl_record "$p" "$a")" "mmap libksmpearly.so" \
			"$k: ... and a record of mmap by libksmpearly.so"
	done
	is "$(pl_probe mg "$p" "$(pl_addr "$out" 3)")" nomg \
		"$k: the mapping made unseen where a noted one was unmapped has no mg"
	is "$(pl_record "$p" "$(pl_addr "$out" 3)")" "" "$k: ... and no record"
	got=""
	for r in 10 11 12 13 14 15 16 17; do got="$got $(pl_probe mg "$p" "$(pl_addr "$out" $r)")"; done
	is "$got" " nomg nomg nomg nomg nomg nomg nomg nomg" \
		"$k: the crypto library's early regions have no mg"
done

res=$(pl_probe plateau 20 $pids)
diag "plateau:" $res
k=0
for p in $pids; do
	k=$((k + 1)); out="$PL_TMP/e$k.out"
	for r in 0:plain 1:trimmed 2:remapped; do
		pl_ge "$(pl_probe ksmkb "$p" "$(pl_addr "$out" "${r%%:*}")")" 920 \
			"$k: KSM kB in the ${r#*:} early region >= 90% of 1 MiB"
	done
	is "$(pl_probe ksmkb "$p" "$(pl_addr "$out" 3)")" 0 "$k: no KSM pages in the unseen mapping"
	got=""
	for r in 10 11 12 13 14; do got="$got $(pl_probe ksmkb "$p" "$(pl_addr "$out" $r)")"; done
	is "$got" " 0 0 0 0 0" "$k: no KSM pages in the crypto library's early regions"
	m=$(echo "$res" | awk -v p="$p" '$1 == p { print $2 }')
	pl_ge "$m" $((3 * 256 * 90 / 100)) "$k: ksm_merging_pages $m"
	is "$(grep -c '^early-error' "$out")" 0 "$k: the constructors' calls all succeeded"
done
pl_stop
done_testing
