#!/bin/sh
# `ksmpreload check`: exit codes, file:line reports, summaries, --program
# matching and the selection precedence it shows; the shipped policies
# pass.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
K="$KSMP_BUILDDIR/cli/ksmpreload"
[ -x "$K" ] || skip_all "ksmpreload not built"
unset KSMP_POLICY
T=$(mktemp -d /tmp/ksmp-check.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT


run() { # run ARGS...: sets rc, out, err
	"$K" "$@" >"$T/out" 2>"$T/err"; rc=$?
	out=$(cat "$T/out"); err=$(cat "$T/err")
}
S="$KSMP_SRCDIR/policy"

# --- shipped policies (default.policy only: no per-program one beat it)
run check "$S"/*.policy
is "$rc" 0 "the shipped policies pass check"
is "$err" "" "no problems or warnings for the shipped policies"
is "$(grep -c ': valid$' "$T/out")" "$(ls "$S"/*.policy | wc -l)" "every shipped policy summarised"
ok "default.policy skips crypto callers" grep -q 'caller=libcrypto.so\*' "$S/default.policy"
ok "no shipped policy names a program" sh -c "! grep -q '^program' '$S'/*.policy"

# Per-program policies for the selection checks below.
P="$T/pd"
mkdir "$P"
printf 'name python\nprogram /usr/bin/python3* python3\nmode auto\n' > "$P/python.policy"
printf 'name node\nprogram /usr/bin/node node\nmode auto\n' > "$P/node.policy"
printf 'name jvm\nprogram /usr/lib/jvm/*/bin/java java\nmode regions\nmerge mmap min=1M\n' > "$P/jvm.policy"
printf 'name redis\nprogram /usr/bin/redis-server redis-server\nmode regions\nmerge mmap min=1M prot=rw\n' > "$P/redis.policy"

# --- help, version, usage errors
run check --help
ok "check --help exits 0 with usage on stdout" test "$rc" -eq 0 -a -z "$err"
ok "check --help shows the synopsis" grep -q '^Usage: ksmpreload check' "$T/out"
run check --version
ok "check --version" test "$rc" -eq 0 -a -n "$out"
run check
is "$rc" 2 "no file: exit 2"
ok "no file: message on stderr" grep -q 'no policy file given' "$T/err"
run check --bogus "$P/python.policy"
is "$rc" 2 "unknown option: exit 2"
run check "$P/python.policy" --program
is "$rc" 2 "--program without argument: exit 2"
run check --program "" "$P/python.policy"
is "$rc" 2 "empty --program: exit 2"

# --- three different mistakes: three file:line errors, exit 1
cat >"$T/three.policy" <<'P'
# three mistakes
mode fast
merge heap
merge mmap min=12Q
frobnicate yes
skip stack
P
run check "$T/three.policy"
is "$rc" 1 "three mistakes: exit 1"
is "$(grep -c "^$T/three.policy:[0-9][0-9]*: " "$T/err")" 3 "three file:line: errors on stderr"
ok "errors name lines 2, 4 and 5" sh -c "grep -q ':2: unknown mode' '$T/err' && grep -q ':4: bad size' '$T/err' && grep -q ':5: unknown keyword' '$T/err'"
is "$out" "" "no summary for an invalid file"

# --- missing, directory, too big, binary, unreadable
run check "$T/missing.policy"
is "$rc" 1 "missing file: exit 1"
is "$err" "$T/missing.policy: cannot open: No such file or directory" "missing file reported"
run check "$T"
is "$rc" 1 "directory: exit 1"
ok "directory reported" grep -q 'Is a directory' "$T/err"
head -c 70000 /dev/zero | tr '\0' '#' >"$T/big.policy"
run check "$T/big.policy"
ok "file too big: exit 1 and reported" test "$rc" -eq 1 -a -n "$(grep 'file too big' "$T/err")"
head -c 8000 "$K" >"$T/binary.policy"
run check "$T/binary.policy"
ok "binary file: exit 1, binary data reported" test "$rc" -eq 1 -a -n "$(grep 'binary data' "$T/err")"
ok "binary file: reports are bounded" test "$(wc -l <"$T/err")" -le 101
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	printf 'mode off\n' >"$T/secret.policy"; chmod 600 "$T/secret.policy"; chmod 755 "$T"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$K" check "$T/secret.policy" >"$T/out" 2>"$T/err"
	ok "unreadable file: exit 1, Permission denied" test $? -eq 1 -a -n "$(grep 'Permission denied' "$T/err")"
elif [ "$(id -u)" -ne 0 ]; then
	printf 'mode off\n' >"$T/secret.policy"; chmod 000 "$T/secret.policy"
	run check "$T/secret.policy"
	ok "unreadable file: exit 1, Permission denied" test "$rc" -eq 1 -a -n "$(grep 'Permission denied' "$T/err")"
else
	skip 1 "setpriv not installed: cannot drop root to test EACCES"
fi

# --- valid and invalid together: exit 1, the valid one still summarised
run check "$P/python.policy" "$T/three.policy"
is "$rc" 1 "valid + invalid: exit 1"
ok "valid file still summarised" grep -q 'python.policy: valid' "$T/out"
run check -q "$P/python.policy"
ok "--quiet: exit 0, nothing printed" test "$rc" -eq 0 -a -z "$out$err"

# --- summary content
printf 'program foo\nmode regions\nmerge mmap min=1M prot=rw\nskip any\n' >"$T/s.policy"
run check "$T/s.policy"
ok "summary shows the rules in order" sh -c "grep -q '1  line 3 *merge mmap min=1M prot=rw' '$T/out' && grep -q '2  line 4 *skip any' '$T/out'"
printf 'merge any\nskip heap min=1M\n' >"$T/shadow.policy"
run check "$T/shadow.policy"
ok "shadowed rule: warning, still valid" test "$rc" -eq 0 -a -n "$(grep "shadow.policy:2: warning: this rule never matches" "$T/err")"
# --- mode auto: the auto-chunk mergefs uses (at most 64M) is what is shown
printf 'mode auto\nauto-chunk 2M\nauto-vmas 7\nauto-reprobe 30\n' >"$T/a.policy"
run check "$T/a.policy"
ok "auto: chunk, VMAs and reprobe shown" grep -q '^  auto       chunk 2M, at most 7 VMAs added, pruned memory probed again after 30 s' "$T/out"
printf 'mode auto\nauto-chunk 64M\n' >"$T/a.policy"
run check "$T/a.policy"
ok "auto-chunk 64M: shown as it is, not capped" sh -c "grep -q '^  auto       chunk 64M, ' '$T/out' && ! grep -q capped '$T/out'"
printf 'mode auto\nauto-chunk 256M\n' >"$T/a.policy"
run check "$T/a.policy"
ok "auto-chunk 256M: valid, shown as the 64M mergefs uses, and capped" sh -c "test $rc -eq 0 && grep -q '^  auto       chunk 64M (auto-chunk 256M capped: mergefs uses at most 64M), ' '$T/out'"
printf 'mode auto\nauto-chunk 1G\n' >"$T/a.policy"
run check "$T/a.policy"
ok "auto-chunk 1G: capped to 64M too" grep -q '^  auto       chunk 64M (auto-chunk 1G capped' "$T/out"
printf 'mode process\n' >"$T/p.policy"
run check "$T/p.policy"
ok "process mode explained" grep -q 'PR_SET_MEMORY_MERGE' "$T/out"

# --- --program and selection
run check --program /usr/bin/python3.11 --policy-dir "$P" "$P/python.policy" "$P/node.policy"
is "$rc" 0 "--program: exit 0"
ok "python.policy matches /usr/bin/python3.11" grep -q '/usr/bin/python3.11: the program line matches' "$T/out"
ok "node.policy does not" grep -q 'the program line does not match' "$T/out"
ok "--policy-dir: python.policy chosen" grep -q "chosen *$P/python.policy" "$T/out"
KSMP_POLICY_DIR="$P" run check --program /usr/lib/jvm/java-17-openjdk-amd64/bin/java
ok "KSMP_POLICY_DIR: jvm.policy chosen, no file needed" sh -c "test $rc -eq 0 && grep -q 'chosen *$P/jvm.policy' '$T/out' && grep -q KSMP_POLICY_DIR '$T/out'"
run check --program /usr/bin/true --policy-dir "$P"
ok "no match: built-in default" grep -q 'chosen *the built-in default' "$T/out"
KSMP_POLICY="$P/redis.policy" run check --program /usr/bin/true --policy-dir "$P"
ok "KSMP_POLICY wins whatever its program line" sh -c "grep -q 'KSMP_POLICY=.*is set' '$T/out' && grep -q 'chosen *$P/redis.policy' '$T/out'"
mkdir "$T/d"
printf 'program brk\nmode fast\n' >"$T/d/brk.policy"
run check --program /usr/bin/brk --policy-dir "$T/d"
ok "chosen file broken: exit 1, its error shown" test "$rc" -eq 1 -a -n "$(grep 'brk.policy:2: unknown mode' "$T/err")"
run check --program /usr/bin/brk --policy-dir "$T/nodir"
ok "missing --policy-dir: exit 1" test "$rc" -eq 1 -a -n "$(grep 'cannot open policy directory' "$T/err")"

# --- ksmpreload index: the library's view through it (policy_select.c
# tests what it records and when it is stale)
touch -d '1 hour ago' "$P"/*.policy "$P"
run index --help
ok "index --help exits 0 with usage on stdout" sh -c "test $rc -eq 0 && grep -q '^Usage: ksmpreload index' '$T/out'"
run index --frob
is "$rc" 2 "index: unknown option: exit 2"
run index "$T/nodir"
ok "index of a missing directory: exit 1, said why" test "$rc" -eq 1 -a -n "$(grep 'nodir: cannot open policy directory' "$T/err")"
run index "$P"
if [ "$rc" -eq 1 ] && grep -q 'not supported' "$T/err"; then
	skip 3 "no user extended attributes on $T"
else
	is "$rc:$err" "0:" "index of a directory: exit 0, silent"
	run check --program /usr/bin/python3.11 --policy-dir "$P"
	ok "check --program through the index: python.policy chosen" grep -q "chosen *$P/python.policy" "$T/out"
	KSMP_POLICY_DIR="$P" run index --remove
	ok "index --remove (KSMP_POLICY_DIR): exit 0" test "$rc" -eq 0 -a -z "$err"
fi
plan "$tap_n"
done_testing
