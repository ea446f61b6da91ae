#!/bin/sh
# preload_misc.sh - the library keeps programs working: fork (also from a
# multithreaded parent), exec (LD_PRELOAD survives, the new program gets
# its own policy), threads, dlopen/dlclose, the program's own signal
# handlers, jemalloc stacked before and after, unshare(CLONE_NEWUSER) in a
# single-threaded program, a program that closed stderr, and no output at
# all unless KSMP_LOG asks for it.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_ksm
pl_need_lib
pl_tmp

plan 31
M="$PROGS/ksmp-misc"
LIB=$(ksmp_preload)
all=$(pl_policy all 'mode regions
merge any')
proc=$(pl_policy proc 'mode process')

# run_ok MSG CASE POLICY [PRELOAD]: exit 0, "ok CASE", empty stderr
run_ok() {
	msg=$1; c=$2; pol=$3; pre=${4:-$LIB}
	out=$(LD_PRELOAD="$pre" KSMP_POLICY="$pol" timeout 60 "$M" $c 2> "$PL_TMP/err")
	rc=$?
	first=${c%% *}
	if [ $rc -eq 0 ] && [ "$out" = "ok $first" ] && [ ! -s "$PL_TMP/err" ]; then
		_tap_result 0 "$msg"
	else
		diag "exit $rc, out '$out', stderr:"; sed 's/^/# /' "$PL_TMP/err"
		_tap_result 1 "$msg"
	fi
}

for c in fork mtfork threads dlopen signals; do
	if [ $c = mtfork ] && sanitized; then
		# the forked child deadlocks under ASan even without the library
		skip 2 "mtfork: fork from a multithreaded parent hangs under ASan"
		continue
	fi
	run_ok "$c under merge-any regions policy" "$c" "$all"
	run_ok "$c under process mode" "$c" "$proc"
done

# unshare(CLONE_NEWUSER) refuses multithreaded callers: the library must not
# have started a thread.
if "$M" unshare > /dev/null 2>&1; then
	run_ok "unshare(CLONE_NEWUSER) works in a single-threaded program" unshare "$all"
	run_ok "unshare(CLONE_NEWUSER) works under process mode" unshare "$proc"
else
	skip_env 2 "unshare(CLONE_NEWUSER) fails here even without the library"
fi

# exec: LD_PRELOAD stays, the library is loaded again, and the new program
# picks its own policy from the policy directory.
out=$(LD_PRELOAD="$LIB" KSMP_POLICY="$all" "$M" exec "$M" preload 2>&1)
case $out in *"$(ksmp_lib)"*) r=0;; *) r=1;; esac
ok "exec: LD_PRELOAD still names the library" [ $r -eq 0 ]
case $out in *"mapped 1"*) r=0;; *) r=1; diag "$out";; esac
ok "exec: library mapped in the new program" [ $r -eq 0 ]
mkdir "$PL_TMP/dir"
printf 'name parentpol\nprogram ksmp-misc\nmode regions\nmerge mmap\n' > "$PL_TMP/dir/a.policy"
printf 'name childpol\nprogram ksmp-other\nmode process\n' > "$PL_TMP/dir/b.policy"
cp "$M" "$PL_TMP/ksmp-other"
out=$(env -u KSMP_POLICY LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$PL_TMP/dir" "$M" state 2>&1)
case $out in *"policy parentpol"*) r=0;; *) r=1; diag "$out";; esac
ok "exec: the parent program runs under its policy (parentpol)" [ $r -eq 0 ]
out=$(env -u KSMP_POLICY LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$PL_TMP/dir" "$M" exec "$PL_TMP/ksmp-other" state 2>&1)
case $out in *"engine 1 "*"policy childpol"*) r=0;; *) r=1; diag "$out";; esac
ok "exec: the new program gets its own policy (childpol, process engine)" [ $r -eq 0 ]

# jemalloc before and after the library
JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
if sanitized; then
	skip 6 "jemalloc cannot be stacked with the ASan runtime"
elif [ ! -e "$JE" ]; then
	skip_env 6 "libjemalloc2 not installed ($JE)"
else
	for c in threads mtfork; do
		run_ok "jemalloc before the library: $c" "$c" "$all" "$JE:$LIB"
		run_ok "jemalloc after the library: $c" "$c" "$all" "$LIB:$JE"
	done
	for order in "$JE:$LIB" "$LIB:$JE"; do
		out=$(LD_PRELOAD="$order" KSMP_POLICY="$all" timeout 60 /usr/bin/python3 -c \
			'import json; d=[{"k": i, "v": "x" * (i % 300)} for i in range(100000)]; print(len(json.dumps(d)))' 2>&1)
		is "$out" 17228890 "python3 with LD_PRELOAD=$order"
	done
fi

# stderr closed, or reopened for data: never written to without KSMP_LOG.
LD_PRELOAD="$LIB" KSMP_POLICY="$all" KSMP_LOG=debug "$M" work > "$PL_TMP/o" 2>&-
rc=$?
is "$rc $(cat "$PL_TMP/o")" "0 ok work" "stderr closed, KSMP_LOG=debug: runs fine"
bad=$(pl_policy bad 'mode sideways')
LD_PRELOAD="$LIB" KSMP_POLICY="$bad" "$M" work > "$PL_TMP/o" 2>&-
rc=$?
is "$rc $(cat "$PL_TMP/o")" "0 ok work" "stderr closed, bad policy: runs fine"
run_ok "fd 2 reopened on a data file stays clean" "stderr $PL_TMP/data" "$all"
is "$(wc -c < "$PL_TMP/data")" 0 "the data file on fd 2 is empty"

# no output without KSMP_LOG
A="$PROGS/ksmp-alloc"
"$A" -x -s 9 mmap:2M small:1M malloc:1M threads:1M > "$PL_TMP/plain" 2>&1
for pol in "$all" "$proc"; do
	env -u KSMP_LOG LD_PRELOAD="$LIB" KSMP_POLICY="$pol" "$A" -x -s 9 mmap:2M small:1M \
		malloc:1M threads:1M > "$PL_TMP/with" 2> "$PL_TMP/with.err"
	is "$(cat "$PL_TMP/with.err")" "" "no stderr output without KSMP_LOG ($(basename "$pol"))"
	is "$(sed 's/0x[0-9a-f]*//' "$PL_TMP/with")" "$(sed 's/0x[0-9a-f]*//' "$PL_TMP/plain")" \
		"stdout unchanged by the library ($(basename "$pol"))"
done
LD_PRELOAD="$LIB" KSMP_POLICY="$all" KSMP_LOG=debug "$A" -x mmap:2M > /dev/null 2> "$PL_TMP/log"
ok "KSMP_LOG=debug does log something on stderr" [ -s "$PL_TMP/log" ]
done_testing
