#!/bin/sh
# attach_static.sh - attach reaches what the library cannot: a statically
# linked program (Debian's busybox-static) and a process in its own pid,
# user and mount namespaces, attached from the host.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
plan 8
BB=/bin/busybox

if [ -x $BB ]; then
	at_start bb $BB sh -c 'echo ready; read x; echo "got $x"'; P=$AT_PID
	at_wait_blocked $P
	ok "static busybox: no dynamic loader in the process" \
		sh -c "! grep -q '/ld-' /proc/$P/maps"
	out=$("$K" attach --mode process $P 2>&1)
	is "$?" 0 "static busybox: attach exits 0"
	ok "static busybox: merging is on" grep -q 'ksm_merge_any: yes' "/proc/$P/ksm_stat"
	at_send bb hello
	at_wait_line bb '^got'
	is "$(sed -n 2p "$T/bb.out")" "got hello" "static busybox: its read is intact"
else
	skip_env 4 "no /bin/busybox (busybox-static)"
fi

if unshare --pid --user --mount --fork --map-root-user true 2>/dev/null; then
	at_start ns unshare --pid --user --mount --fork --map-root-user "$TGT" read; U=$AT_PID
	P=$(pgrep -P $U | head -1)
	set -- $(sed -n 's/^NSpid:[[:space:]]*//p' "/proc/$P/status")
	ok "namespaced: pid $P on the host is pid ${2:-?} inside" [ "${2:-}" = 1 ]
	at_wait_blocked $P
	out=$("$K" attach --mode process $P 2>&1)
	is "$?" 0 "namespaced: attach from the host exits 0"
	ok "namespaced: merging is on" grep -q 'ksm_merge_any: yes' "/proc/$P/ksm_stat"
	at_send ns inside
	at_wait_line ns '^read '
	is "$(sed -n 2p "$T/ns.out")" "read 7 inside" "namespaced: its read is intact"
else
	skip_env 4 "unshare --pid --user --mount does not work here"
fi
done_testing
