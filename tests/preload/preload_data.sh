#!/bin/sh
# preload_data.sh - region kind data under the built-in default (no policy
# file: an empty policy directory). 2 instances of ksmp-data hold equal
# seeded pages in their own .bss (1 MiB) and .data (256 KiB), in the .bss
# of an object they dlopen late (after the library's first look at the
# loaded objects: instance 1 then makes a thread, instance 2 an mmap) and
# of an object named like a crypto library. Per process: mg on the three
# data regions, none on the RELRO table or the crypto library's .bss; KSM
# pages in the data regions at the plateau, none in the crypto library's;
# errno as each call left it; the records of data name their object. Then
# instance 1 dlcloses the late object: no record is left over its range,
# neither in it nor in a child it forks after it made a thread; nor in the
# child of a third instance whose other thread forks while the loader
# unmaps the object (libksmpdlhook.so holds dlclose there).
# Last, a policy of 'merge data' alone (no heap advice to wait for).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_root
need_ksm
pl_need_lib
ksm_fast "$@"
pl_tmp

N=2
plan $((N * 15 + 3 + 3 + 3 + 3 + 5 + 2))

mkdir -p "$PL_TMP/empty.d"
CRYPTO="$PROGS/libcrypto.so.ksmpdata"
LATE="$PROGS/libksmpdata.so"
pids=""
for i in $(seq $N); do
	trig=thread
	[ "$i" = 2 ] && trig=mmap
	pl_start "$PL_TMP/d$i.out" env LD_PRELOAD="$(ksmp_preload)" \
		KSMP_POLICY_DIR="$PL_TMP/empty.d" \
		"$PROGS/ksmp-data" -s 5 -t "$trig" "$CRYPTO" "$LATE"
	pids="$pids $PL_LAST"
done

k=0
for p in $pids; do
	k=$((k + 1)); out="$PL_TMP/d$k.out"
	pl_wait_ready "$out" || true
	for r in 0:bss 1:data 4:late; do
		is "$(pl_probe mg "$p" "$(pl_addr "$out" "${r%%:*}")")" mg \
			"$k: ${r#*:} has mg under the built-in default"
	done
	is "$(pl_probe mg "$p" "$(pl_addr "$out" 2)")" nomg "$k: the RELRO table has no mg"
	is "$(pl_probe mg "$p" "$(pl_addr "$out" 3)")" nomg \
		"$k: the .bss of libcrypto.so.ksmpdata has no mg (crypto skip rules)"
	is "$(pl_record "$p" "$(pl_addr "$out" 0)")" "data ksmp-data" \
		"$k: the program's .bss is recorded as data of ksmp-data"
	is "$(pl_record "$p" "$(pl_addr "$out" 4)")" "data libksmpdata.so" \
		"$k: the late object's .bss is recorded as data of libksmpdata.so"
	bad=$(awk '$1 == "errno" && $3 != 4242' "$out")
	is "$bad" "" "$k: errno as each call left it"
	# The library's own static data, its state (the page of .data and
	# .bss, and the anonymous tail after it, where .lbss lies), is never
	# data of the program: no advice, no record.
	own=$(awk '/libksmpreload\.so$/ && $2 ~ /^rw/ { split($1, a, "-"); print a[1]; f = 1; next }
		f { if (NF == 5) { split($1, a, "-"); print a[1] } exit }' "/proc/$p/maps")
	got="" recs=""
	for a in $own; do
		got="$got $(pl_probe mg "$p" "$a")"
		recs="$recs$(pl_record "$p" "$a")"
	done
	is "$got" " nomg nomg" "$k: the library's own .data/.bss page and bss tail (.lbss) have no mg"
	is "$recs" "" "$k: ... and no record"
done

res=$(pl_probe plateau 20 $pids)
diag "plateau:" $res
k=0
for p in $pids; do
	k=$((k + 1)); out="$PL_TMP/d$k.out"
	pl_ge "$(pl_probe ksmkb "$p" "$(pl_addr "$out" 0)")" 920 "$k: KSM kB in the .bss >= 90% of 1 MiB"
	pl_ge "$(pl_probe ksmkb "$p" "$(pl_addr "$out" 1)")" 230 "$k: KSM kB in the .data >= 90% of 256 KiB"
	pl_ge "$(pl_probe ksmkb "$p" "$(pl_addr "$out" 4)")" 460 "$k: KSM kB in the late object's .bss >= 90% of 512 KiB"
	is "$(pl_probe ksmkb "$p" "$(pl_addr "$out" 3)")" 0 "$k: no KSM pages in the crypto library's .bss"
	m=$(echo "$res" | awk -v p="$p" '$1 == p { print $2 }')
	pl_ge "$m" $(( (256 + 64 + 128) * 90 / 100 )) "$k: ksm_merging_pages $m"
done

# dlclose: the loader unmaps the late object with calls the library does
# not see; its data record must go with it.
set -- $pids
# A forked child of a multithreaded process, which must not walk the
# loaded objects to learn which one went (1 made a thread), dlcloses it.
late=$(pl_addr "$PL_TMP/d1.out" 4)
kill -USR2 "$1"
pl_wait_line "$PL_TMP/d1.out" forkclosed 5 || true
child=$(awk '$1 == "forkclosed" { print $2; exit }' "$PL_TMP/d1.out")
ok "1: its forked child dlclosed the late object" [ -n "$child" ]
# first, so that pl_stop kills it before its parent (whose death kills
# it too) and never a pid reused after that
PL_PIDS="$child $PL_PIDS"
# An empty answer must mean no record, not no answer: the child's table
# is read (it holds its heap's records), and the program's own .bss has no
# data record left either (a child that walks would keep that one: so the
# child took the path that cannot walk).
recs=$(pl_probe records "${child:-0}"); rrc=$?
# (under ASan its own allocator holds the heap: the table may be empty)
ok "1's child: its region table is read, with records" \
	sh -c "[ $rrc -eq 0 ] && { [ -n '$(sanitized && echo asan)' ] || [ -n \"\$1\" ]; }" sh "$recs"
is "$(pl_record "${child:-0}" "$late")" "" "1's child: no record left over the unloaded object's range"
is "$(printf '%s\n' "$recs" | awk '$5 == "libksmpdata.so"')" "" \
	"1's child: no record names the unloaded object"
is "$(printf '%s\n' "$recs" | awk '$3 == "data"')" "" \
	"1's child: no data record at all (it cannot walk to learn which object went)"
# ... nor advice without a record: an unmerge by command (mergefs's
# PID/merge 0) reaches only what the records hold
is "$(pl_probe mg "${child:-0}" "$(pl_addr "$PL_TMP/d1.out" 0)")" nomg \
	"1's child: the program's .bss is no longer advised either"
late=$(pl_addr "$PL_TMP/d1.out" 4)
kill -USR1 "$1"
pl_wait_line "$PL_TMP/d1.out" closed 5 || true
is "$(grep -c '^closed' "$PL_TMP/d1.out")" 1 "1: dlclose done"
is "$(pl_record "$1" "$late")" "" "1: no record left over the unloaded object's range"
is "$(pl_probe records "$1" | awk '$5 == "libksmpdata.so"')" "" "1: no record names the unloaded object"
is "$(pl_record "$1" "$(pl_addr "$PL_TMP/d1.out" 0)")" "data ksmp-data" \
	"1: the program's own .bss keeps its record (only the unloaded object's went)"
pl_stop

# Another thread forks right after the loader unmapped the late object,
# before dlclose returned to the library (libksmpdlhook.so, preloaded
# after it, holds dlclose there until the fork is done): the child never
# sees that dlclose end, and must not keep the object's record either.
pl_start "$PL_TMP/h.out" env LD_PRELOAD="$(ksmp_preload):$PROGS/libksmpdlhook.so" \
	KSMP_DLHOOK_FORK=1 KSMP_POLICY_DIR="$PL_TMP/empty.d" \
	"$PROGS/ksmp-data" -s 9 -t thread "$CRYPTO" "$LATE"
hp=$PL_LAST
pl_wait_ready "$PL_TMP/h.out" || true
late=$(pl_addr "$PL_TMP/h.out" 4)
is "$(pl_record "$hp" "$late")" "data libksmpdata.so" "dlclose hooked: the late object's .bss has its record"
kill -USR1 "$hp"
pl_wait_line "$PL_TMP/h.out" closed 5 || true
child=$(awk '$1 == "forkduring" { print $2; exit }' "$PL_TMP/h.out")
ok "dlclose hooked: another thread forked in the window, dlclose done" \
	sh -c "[ -n '$child' ] && grep -q '^closed' '$PL_TMP/h.out'"
PL_PIDS="$child $PL_PIDS"
recs=$(pl_probe records "${child:-0}"); rrc=$?
ok "its child: its region table is read, with records" \
	sh -c "[ $rrc -eq 0 ] && { [ -n '$(sanitized && echo asan)' ] || [ -n \"\$1\" ]; }" sh "$recs"
is "$(pl_record "${child:-0}" "$late")" "" "its child: no record left over the unloaded object's range"
is "$(printf '%s\n' "$recs" | awk '$3 == "data"')" "" "its child: no data record at all"
is "$(pl_probe mg "${child:-0}" "$(pl_addr "$PL_TMP/h.out" 0)")" nomg \
	"its child: the program's .bss is no longer advised either"
pl_stop

# A policy that merges data alone (no heap advice to wait for): the first
# look is at start, the late object's at pthread_create.
pol=$(pl_policy dataonly 'mode regions
merge data')
pl_start "$PL_TMP/only.out" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$pol" \
	"$PROGS/ksmp-data" -s 5 -t thread "$CRYPTO" "$LATE"
pl_wait_ready "$PL_TMP/only.out" || true
for r in 0:bss 1:data 4:late; do
	is "$(pl_probe mg "$PL_LAST" "$(pl_addr "$PL_TMP/only.out" "${r%%:*}")")" mg \
		"'merge data' alone: ${r#*:} has mg"
done
pl_stop
done_testing
