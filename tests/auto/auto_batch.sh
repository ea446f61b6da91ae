#!/bin/sh
# auto_batch - the unshared 64 KiB sub-units of a kept chunk are pruned in
# one batch, even when the bound of 32 commands per look falls inside it:
# two instances of tests/auto/auto-prog hold chunks M A A (M: 30 pages
# alike in both, the rest their own, one run of sub-units to prune; A:
# 64 KiB alike and 64 KiB their own in turn, sixteen runs), 33 commands.
# The third chunk's batch does not fit in the first look; it must come
# whole at the next (a quick one), not leave its last run mergeable until
# the batch's probe (auto-reprobe 600: ten minutes).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 4

printf 'mode auto\nauto-reprobe 600\nauto-vmas 200\n' > "$OUT/auto.policy"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
pair auto.policy 6 MAA
K=65536 C=2097152
# mg SUB CHUNK: 1 if sub-unit SUB of chunk CHUNK of a is mergeable
mg() { set -- $(vma "$a_pid" $((A + $2 * C + $1 * K))); echo "${1:-?}"; }
second() { [ "$(mg 1 1)" = 0 ] && [ "$(mg 31 1)" = 0 ]; }
until_ 40 second
need_acting 4
ok "the second chunk's own sub-units are pruned (sub-units 1 and 31)" second
third() { [ "$(mg 1 2)" = 0 ] && [ "$(mg 29 2)" = 0 ] && [ "$(mg 31 2)" = 0 ]; }
ok "the third chunk's own sub-units too, its last run with them (1, 29, 31)" until_ 10 third
diag "sub-units 1, 29, 31 of the third chunk: mg $(mg 1 2) $(mg 29 2) $(mg 31 2)"
ok "its sub-units alike in both stay mergeable (0 and 30)" \
	test "$(mg 0 2)" = 1 -a "$(mg 30 2)" = 1
echo check >&4
wait_line "$OUT/a" "check"
ok "contents intact" grep -qx 'ok check' "$OUT/a"
exec 4>&- 5>&-
done_testing
