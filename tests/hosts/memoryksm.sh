#!/bin/sh
# Issue 12 item 2: whole-process merging inherited from the parent
# (systemd's MemoryKSM=yes, or a parent's prctl(PR_SET_MEMORY_MERGE, 1))
# is kept under the library unless the chosen policy says
# "inherited-merge off", and then the library says so at the default log
# level. The parent here is python3 calling prctl through ctypes, then
# exec'ing the child, which reports PR_GET_MEMORY_MERGE.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
# the library's prctl(PR_SET_MEMORY_MERGE, 0) in a process that carries the
# ASan runtime walks terabytes of shadow for minutes, with its memory map
# locked and ksmd crawling over it: other tests starve (the normal build
# runs this test)
sanitized && skip_all "prctl(PR_SET_MEMORY_MERGE, 0) under the ASan runtime takes minutes"
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"
T=$(mktemp -d /tmp/ksmp-hosts-mksm.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"; export ASAN_OPTIONS

# parent: set whole-process merging (or not), then exec the child with
# the library preloaded; the child prints PR_GET_MEMORY_MERGE.
cat > "$T/parent.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if sys.argv[1] == "1" and libc.prctl(67, 1, 0, 0, 0) != 0:
    print("prctl-failed", ctypes.get_errno()); sys.exit(3)
os.environ["LD_PRELOAD"] = sys.argv[2]
os.execvp("python3", ["python3", "-c",
    "import ctypes; print(ctypes.CDLL(None).prctl(68, 0, 0, 0, 0))"])
PY
probe=$(python3 -c 'import ctypes; print(ctypes.CDLL(None).prctl(68,0,0,0,0))' 2>/dev/null)
[ "$probe" = 0 ] || [ "$probe" = 1 ] || skip_all_env "PR_GET_MEMORY_MERGE not supported (Linux 6.4+)"

mkdir "$T/empty"
printf 'name keepit\nmode regions\nmerge mmap min=1M\n' > "$T/keep.policy"
printf 'name dropit\nmode regions\ninherited-merge off\nmerge mmap min=1M\n' > "$T/off.policy"
printf 'name offmode\nmode off\n' > "$T/offmode.policy"
printf 'inherited-merge maybe\n' > "$T/bad.policy"

run() { # run INHERIT POLICY-ENV...: child's PR_GET_MEMORY_MERGE; stderr to $T/err
	inh=$1; shift
	env -u KSMP_LOG -u KSMP_POLICY "$@" python3 "$T/parent.py" "$inh" "$(ksmp_preload)" 2>"$T/err"
}

plan 12
is "$(run 1 KSMP_POLICY_DIR="$T/empty")" 1 "built-in default keeps inherited whole-process merging"
is "$(cat "$T/err")" "" "... silently (default log level)"
is "$(run 1 KSMP_POLICY="$T/keep.policy")" 1 "a regions policy without inherited-merge keeps it"
is "$(run 1 KSMP_POLICY="$T/offmode.policy")" 1 "mode off alone does not drop it (not explicit)"
is "$(run 1 KSMP_POLICY="$T/off.policy")" 0 "inherited-merge off turns it off"
ok "... and says so at the default log level" grep -q 'inherited whole-process merging.*turned off.*dropit' "$T/err"
is "$(run 0 KSMP_POLICY="$T/keep.policy")" 0 "not inherited: the library does not turn it on"
is "$(run 1 KSMP_POLICY="$T/keep.policy" KSMP_LOG=info)" 1 "KSMP_LOG=info: still kept"
ok "... and the info log says it was kept" grep -q 'inherited whole-process merging kept' "$T/err"

CHECK=$KSMP_BUILDDIR/cli/ksmpreload
[ -x "$CHECK" ] || CHECK=$KSMP_BUILDDIR/preload/ksmpreload
"$CHECK" check "$T/bad.policy" >/dev/null 2>"$T/err"; rc=$?
ok "check rejects a bad inherited-merge value (rc $rc)" grep -q 'bad.policy:1: inherited-merge must be keep or off' "$T/err"
ok "check shows the setting" sh -c "'$CHECK' check '$T/off.policy' 2>&1 | grep -q 'inherited-merge off'"

# systemd's own way: MemoryKSM=yes on a transient unit.
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v systemd-run >/dev/null 2>&1; then
	out=$(systemd-run --quiet --wait --pipe --collect --property=MemoryKSM=yes \
		--setenv=LD_PRELOAD="$(ksmp_preload)" --setenv=KSMP_POLICY_DIR="$T/empty" \
		python3 -c 'import ctypes; print(ctypes.CDLL(None).prctl(68,0,0,0,0))' 2>&1)
	is "$out" 1 "systemd-run --property=MemoryKSM=yes: kept under the library"
else
	skip 1 "systemd is not PID 1 here ($(cat /proc/1/comm 2>/dev/null)): no systemd-run --property=MemoryKSM=yes"
fi
done_testing
