#!/bin/sh
# attachfs_limits.sh - what a writer to /PID/merge of a process without
# the library cannot get from mergefs (root) through the attach child:
#   - a writer of uid 0 runs the command with only the capabilities its
#     thread has in effect: without CAP_SYS_PTRACE it cannot ptrace a
#     uid-65534 process (before, the child kept all of mergefs's);
# Real FUSE mount (-o allow_other), targets that never load the library
# (tests/attach/attach_target), judged by their ksm_stat and TracerPid.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/attachfs/attachfs_common.sh"
need_root
need_fuse
need_ksm
command -v setpriv >/dev/null 2>&1 || skip_all_env "setpriv (util-linux) not installed"
at_setup
mfs_init
trap 'mfs_cleanup; at_cleanup' EXIT
af_mount
af_mounted || { echo "Bail out! mergefs did not mount"; exit 1; }
plan 6

# A: root without capabilities gets none through mergefs
at_start a $NOB "$TGT" read; A=$AT_PID
nocap() { setpriv --inh-caps=-all --bounding-set=-all "$@"; }
is "$(nocap "$K" attach --mode process "$A" >/dev/null 2>&1; echo $?)/$(merge_any $A)" 1/no \
	"uid 0 without capabilities: ksmpreload attach of a uid-65534 process is refused"
is "$(nocap "$W" "$MNT/$A/merge" 1)" EPERM "the same writer through mergefs: EPERM"
ok "  the process is untouched" untouched $A

# the capabilities attach uses (ptrace, seccomp filters, /proc files, the record)
CAPS=+sys_ptrace,+sys_admin,+dac_override,+dac_read_search,+fowner,+setuid,+setgid,+kill
is "$(setpriv --inh-caps=-all --bounding-set=-all,$CAPS "$W" "$MNT/$A/merge" 1)/$(merge_any $A)" \
	OK/yes "uid 0 with only the capabilities attach uses: attached"
is "$("$W" "$MNT/$A/merge" 0)/$(merge_any $A)" OK/no "root (all capabilities) detaches it"
ok "mergefs has no child process left" [ "$(pgrep -P "$MFS" | wc -l)" -eq 0 ]
done_testing
