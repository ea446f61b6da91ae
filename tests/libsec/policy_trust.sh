#!/bin/sh
# policy_trust - a privileged process (here: euid 0) refuses policy files
# and directories that someone else can change (issue 10, item 10): a
# file or directory writable by group or others, or owned by a uid other
# than root (and the process's own), also behind a symbolic link, gives
# one message on stderr and the program runs unmerged. The issue's case:
# a symlink in the policy directory to a 0666 file owned by nobody that
# asks for process mode, control off and debug logging.
# An unprivileged process may still use its own files.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
command -v setpriv >/dev/null 2>&1 || skip_all_env "setpriv (util-linux) not installed"
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
B=$KSMP_BUILDDIR
H=$B/tests/progs/security_ctl
P=$B/tests/progs/ksmp-probe
unset KSMP_POLICY KSMP_POLICY_DIR KSMP_LOG KSMP_STRICT

. "$KSMP_SRCDIR/tests/libsec/common.sh"
ls_scratch trust

good='name good
program security_ctl
merge mmap min=1M
'
evil='name evil
program security_ctl
mode process
control no
log debug
'
n=0
# run [UID] ENV...: start the test program with the library and ENV; set R
# to "POLICY-NAME MODE LINES-ON-STDERR"; its stderr is left in $T/err.$n
run() {
	u=0
	case $1 in [0-9]*) u=$1; shift ;; esac
	n=$((n + 1))
	setpriv --reuid "$u" --regid "$u" --clear-groups \
		env LD_PRELOAD="$(ksmp_preload)" "$@" "$H" hold 1 11 \
		> "$T/out.$n" 2> "$T/err.$n" &
	PIDS="$PIDS $!"
	ls_ready "$T/out.$n"
	pid=$(awk '/^ready/ { print $2 }' "$T/out.$n")
	[ -n "$pid" ] || { R="did-not-start"; return; }
	R=$("$P" state "$pid" | awk -v e="$(wc -l < "$T/err.$n")" \
		'{ for (i = 1; i < NF; i++) { if ($i == "policy") p = $(i + 1); if ($i == "mode") m = $(i + 1) } }
		 END { print p, m, e }')
	kill -9 "$pid" 2>/dev/null
}
said() { # N TEXT: stderr of run N has TEXT
	if grep -qF "$2" "$T/err.$1"; then return 0; fi
	echo "# stderr of run $1: $(head -c 300 "$T/err.$1")"
	return 1
}
nd=0
fresh() { # a fresh policy directory $D, root's, 0755
	nd=$((nd + 1))
	D=$T/d$nd
	mkdir -p "$D"
	chmod 755 "$D"
}
refused='refused in a privileged process: '
off="0 1" # mode off, one line on stderr

plan 19
fresh
printf '%s' "$good" > "$D/a.policy"
run KSMP_POLICY_DIR="$D"
is "$R" "good 2 0" "root's 0644 file in root's 0755 directory: used, silently"

fresh
printf '%s' "$good" > "$D/a.policy"
chmod 666 "$D/a.policy"
run KSMP_POLICY_DIR="$D"
is "$R" "a $off" "a 0666 file: refused, running unmerged"
ok "one message that says why" said $n "$D/a.policy: ${refused}writable by group or others (mode 0666, owner uid 0); running without merging"

fresh
printf '%s' "$good" > "$D/a.policy"
chmod 664 "$D/a.policy"
run KSMP_POLICY_DIR="$D"
is "$R" "a $off" "a group-writable file: refused"

fresh
printf '%s' "$good" > "$D/a.policy"
chown 65534 "$D/a.policy"
run KSMP_POLICY_DIR="$D"
is "$R" "a $off" "a 0644 file owned by uid 65534: refused"
ok "one message that says why" said $n "${refused}owned by uid 65534, not root (mode 0644"

# the issue's case: a symlink to a 0666 file owned by nobody
fresh
mkdir "$T/elsewhere"
printf '%s' "$evil" > "$T/elsewhere/evil.policy"
chown 65534 "$T/elsewhere/evil.policy"
chmod 666 "$T/elsewhere/evil.policy"
ln -s "$T/elsewhere/evil.policy" "$D/a.policy"
run KSMP_POLICY_DIR="$D"
is "$R" "a $off" \
	"a symlink to a 0666 file of uid 65534 (process mode, control off, debug log): refused, no debug output"
ok "the message names the link and the target's mode" said $n "$D/a.policy: ${refused}writable by group or others (mode 0666, owner uid 65534)"

fresh
printf '%s' "$good" > "$T/elsewhere/good.policy"
ln -s "$T/elsewhere/good.policy" "$D/a.policy"
run KSMP_POLICY_DIR="$D"
is "$R" "good 2 0" "a symlink to root's 0644 file: used"

fresh
printf '%s' "$good" > "$D/a.policy"
printf 'name zzz\nprogram nothing-here\n' > "$D/0.policy"
chmod 646 "$D/0.policy"
run KSMP_POLICY_DIR="$D"
is "$R" "0 $off" \
	"a refused file before the matching one: refused too (it could be meant for this program)"

# the directory's index (ksmpreload index) says a.policy has no program
# line: a file others can write is refused all the same
fresh
printf '%s' "$good" > "$D/b.policy"
printf 'name zzz\n' > "$D/a.policy"
chmod 666 "$D/a.policy"
if "$B/cli/ksmpreload" index "$D" 2> "$T/index.err"; then
	run KSMP_POLICY_DIR="$D"
	is "$R" "a $off" "an indexed directory: a 0666 file without a program line still refused"
else
	skip 1 "ksmpreload index: $(cat "$T/index.err")"
fi

fresh
printf '%s' "$good" > "$D/a.policy"
chmod 775 "$D"
run KSMP_POLICY_DIR="$D"
is "$R" "default $off" "a group-writable directory: refused"
ok "one message naming the directory" said $n "$D: ${refused}writable by group or others (mode 0775, owner uid 0)"

fresh
printf '%s' "$good" > "$D/a.policy"
chown 65534 "$D"
run KSMP_POLICY_DIR="$D"
is "$R" "default $off" "a directory owned by uid 65534: refused"

fresh
mkdir "$T/open"
chmod 1777 "$T/open"
printf '%s' "$good" > "$T/open/a.policy"
ln -s "$T/open" "$D/link"
run KSMP_POLICY_DIR="$D/link"
is "$R" "default $off" "a symlink to a 1777 directory: refused"

printf '%s' "$good" > "$T/env.policy"
chmod 666 "$T/env.policy"
run KSMP_POLICY="$T/env.policy"
is "$R" "env $off" "KSMP_POLICY naming a 0666 file: refused"
chmod 644 "$T/env.policy"
run KSMP_POLICY="$T/env.policy"
is "$R" "good 2 0" "and used once it is 0644"

# unprivileged: its own files, even writable by all, are its business
mkdir "$T/mine"
printf '%s' "$good" > "$T/mine/a.policy"
chown -R 65534 "$T/mine"
chmod 777 "$T/mine"
chmod 666 "$T/mine/a.policy"
run 65534 KSMP_POLICY_DIR="$T/mine"
is "$R" "good 2 0" "uid 65534 uses its own 0666 file in its 0777 directory"
run 65534 KSMP_POLICY="$T/mine/a.policy"
is "$R" "good 2 0" "and through KSMP_POLICY"

done_testing
