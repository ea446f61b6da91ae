#!/bin/sh
# heap_command.sh - control commands that advise a range MADV_MERGEABLE
# never leave the crypto heap mergeable: the range merge of an operator
# ("merge ADDR LEN"), and the raw page merge with which mergefs undoes
# the batches of an unmerge it stopped (KSMP_CMD_PAGES_MERGE), each over
# the mapping that holds a crypto library's block. heap-check sends them
# to its own control agent as mergefs would (the state block mapped
# through /proc/self/map_files: root), under the built-in default.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/heap/heap_common.sh"
need_root
sanitized && skip_all "ASan's allocator comes first: the library's malloc interposers are bypassed"
heap_setup

plan 4
for c in rangemerge pagesmerge; do
	LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY_DIR="$PL_TMP/empty" \
		"$HC" "$HLIB" command $c > "$PL_TMP/out" 2> "$PL_TMP/err"
	is "$?" 0 "$c: exit status"
	ok "$c: the crypto block's mapping has no mg after the command" \
		grep -q "^ok command $c" "$PL_TMP/out"
	sed 's/^/# /' "$PL_TMP/out" "$PL_TMP/err"
done
done_testing
