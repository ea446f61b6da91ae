#!/bin/sh
# mergefs_formats - the files' formats against the kernel and the man
# page, on a real mount: /metrics passes a line-by-line Prometheus text
# checker (tests/progs/mergefs_promcheck, itself checked on bad input
# first), /stats and /metrics carry every file of /sys/kernel/mm/ksm, and
# every key of real stats/policy files, every file name and every option
# of --help appears in man/mergefs.8. Also --version/--help and a non-root
# start.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse setpriv
[ -d /sys/kernel/mm/ksm ] || skip_all_env "kernel without KSM (/sys/kernel/mm/ksm)"
MAN=$KSMP_SRCDIR/man/mergefs.8
PC=$P/mergefs_promcheck

plan 26

# --- the checker rejects what it must (so that its "ok" means something)
good='# HELP a_b A thing.
# TYPE a_b gauge
a_b{pid="1",comm="x\"y\\z"} 1.5
a_b{pid="2",comm="x"} 3'
ok "promcheck accepts valid text" sh -c "printf '%s\n' '$good' | '$PC' >/dev/null"
ok "promcheck rejects bad input" sh -c '
	PC=$1; OUT=$2
	r() { printf "%s\n" "$1" | "$PC" > "$OUT/pc" && { echo "# accepted: $1"; exit 1; }; :; }
	r "a 1"
	r "# TYPE a gauge
a{x=\"1\"} 1
a{x=\"1\"} 2"
	r "# TYPE 1a gauge
1a 1"
	r "# TYPE a gauge
a abc"
	r "# TYPE a gauge
a 1
# TYPE a gauge"
	r "# TYPE a gauge
a{x=\"\q\"} 1"
	r "# TYPE a gauge
a{x=1} 1"
	r "# TYPE a gauge
# TYPE b gauge
a 1
b 1
a 2"
	r "# TYPE a frob
a 1"
	printf "# TYPE a gauge\na 1" | "$PC" > "$OUT/pc" && exit 1
	exit 0' - "$PC" "$OUT"

ok "mergefs mounts" mfs_mount allow_other
start lib -s 401 -m 1
start pro -s 402 -m 1 -P
start nol -s 403 -m 1 -n
# a comm with a quote and a backslash, to be escaped in labels
ln -s "$P/mergefs_target" "$OUT/q\"b\\s"
spawn odd "$OUT/q\"b\\s" -s 404 -m 1
ln -s "$P/mergefs_target" "$OUT/n
l"
spawn nl "$OUT/n
l" -s 405 -m 1

cat "$MNT/metrics" > "$OUT/metrics"
"$PC" < "$OUT/metrics" > "$OUT/pcout"
ok "metrics is valid Prometheus text ($(cat "$OUT/pcout"))" grep -q '^ok ' "$OUT/pcout"
ok "a comm with \" and \\: \\\" and the text \\x5c in its labels" \
	grep -qF "mergefs_process_advised_bytes{pid=\"$odd_pid\",comm=\"q\\\"b\\\\x5cs\"," "$OUT/metrics"
ok "a comm with a newline: the text \\x0a in labels, as in stats" \
	grep -qF "mergefs_process_advised_bytes{pid=\"$nl_pid\",comm=\"n\\\\x0al\"," "$OUT/metrics"
is "$(field "$MNT/$nl_pid/stats" name)" 'n\x0al' "and one line in stats (escaped)"
ok "every library process has its series" sh -c \
	"for p in $lib_pid $pro_pid $nol_pid $odd_pid; do grep -q \"^mergefs_process_saved_bytes{pid=\\\"\$p\\\",\" '$OUT/metrics' || exit 1; done"

# --- every file of /sys/kernel/mm/ksm in stats and metrics
cat "$MNT/stats" > "$OUT/stats"
miss=
for f in /sys/kernel/mm/ksm/*; do
	k=${f##*/}
	grep -q "^$k " "$OUT/stats" || miss="$miss $k"
done
is "$miss" "" "stats has every file of /sys/kernel/mm/ksm"
miss=
for f in /sys/kernel/mm/ksm/*; do
	k=${f##*/}
	case $(cat "$f") in *[!0-9-]*|'') continue ;; esac	# not a number
	m=${k#ksm_}; m=${m%_millisecs}	# base units, no doubled ksm_
	grep -q "^mergefs_ksm_$m\(_total\|_bytes\|_seconds\|_ratio\)\{0,1\} " "$OUT/metrics" || miss="$miss $k"
done
is "$miss" "" "metrics has every numeric file of /sys/kernel/mm/ksm"
# run is global and other tests (under tests/ksm-hold) change it: judge a
# read of stats between two equal reads of the knob
i=0 want=x got=y
while [ $i -lt 20 ]; do
	r1=$(cat /sys/kernel/mm/ksm/run); got=$(field "$MNT/stats" run); r2=$(cat /sys/kernel/mm/ksm/run)
	[ "$r1" = "$r2" ] && { want=$r1; break; }
	i=$((i + 1)); sleep 0.1
done
is "$got" "$want" "stats values are the kernel's (run)"
n=$(field "$OUT/stats" processes_library)
ok "processes_library counts the targets ($n >= 3)" test "${n:-0}" -ge 3

# --- the man page documents every key, file and option
# documented KEY: KEY is a word of mergefs.8 (kind_regions/kind_bytes are
# documented once as "kind _regions" with the list of kinds).
documented() {
	grep -qw -- "$1" "$MAN" && return 0
	case $1 in
	heap_*|arena_*|chunk_*|mmap_*|file_*|stack_*|data_*)
		grep -qw -- "${1%%_*}" "$MAN" && grep -q -- "Sy _${1#*_}" "$MAN" ;;
	*) return 1 ;;
	esac
}
undocumented() { # undocumented FILE...: keys (first words) not in the man page
	for k in $(cat "$@" | awk '/^[a-z]/ {print $1}' | sort -u); do
		documented "$k" || printf ' %s' "$k"
	done
}
is "$(undocumented "$OUT/stats")" "" "every key of /stats is in mergefs.8"
is "$(undocumented "$MNT/$lib_pid/stats")" "" "every key of a library process's stats is in mergefs.8"
is "$(undocumented "$MNT/$pro_pid/stats" "$MNT/$nol_pid/stats")" "" \
	"every key of process-mode and library-less stats is in mergefs.8"
is "$(sed -n '/^$/q; p' "$MNT/$lib_pid/policy" | undocumented /dev/stdin)" "" "policy's keys are in mergefs.8"
is "$(ls "$MNT" "$MNT/$lib_pid" "$MNT/ksm" | awk '/^[a-z]/' | undocumented /dev/stdin)" "" \
	"every file name (host, process, knobs) is in mergefs.8"
fams=$(sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$OUT/metrics")
is "$(echo "$fams" | undocumented /dev/stdin)" "" "every metric family is in mergefs.8"
opts=$("$B/mergefs/mergefs" --help 2>/dev/null |
	sed -n '/^mergefs options:/,/^$/ s/^ *-o \([a-z_]*\)=.*/\1/p')
is "$(echo "$opts" | undocumented /dev/stdin)" "" "every -o option of --help ($opts) is in mergefs.8"
errs=$(sed -n 's/.*return -\(E[A-Z]*\);.*/\1/p; s/.*r = -\(E[A-Z]*\);.*/\1/p' \
	"$KSMP_SRCDIR/mergefs/mergefs.c" "$KSMP_SRCDIR/mergefs/sender.c" | sort -u)
miss=
for e in $errs; do grep -q "Er $e" "$MAN" || miss="$miss $e"; done
is "$miss" "" "every errno the handlers return is in mergefs.8 ($(echo $errs))"

# --- command line
is "$("$B/mergefs/mergefs" --version)" "mergefs $(sed -n 's/^PACKAGE_VERSION = //p' "$B/Makefile")" "--version"
ok "--help mentions -o timeout and exits 0" sh -c "'$B/mergefs/mergefs' --help 2>&1 | grep -q 'timeout=MS'"
setpriv --reuid 65534 --regid 65534 --clear-groups "$B/mergefs/mergefs" -o allow_other "$OUT" 2> "$OUT/nonroot"
is "$?/$(grep -c 'must run as root' "$OUT/nonroot")" 1/1 "a non-root start is refused (exit 1, says why)"
"$B/mergefs/mergefs" -o timeout=0 "$OUT" 2>/dev/null
is "$?" 1 "-o timeout=0 is refused"
# what mount.fuse3 runs for an fstab line: SOURCE MOUNTPOINT -o OPTIONS
MNT2=$(mktemp -d /tmp/mergefs-test2.XXXXXX)
"$B/mergefs/mergefs" mergefs "$MNT2" -o allow_other,timeout=5000
ok "the fstab form (SOURCE MOUNTPOINT -o ...) mounts" grep -q "^mergefs $MNT2 fuse" /proc/mounts
ok "and serves" grep -q '^saved_bytes ' "$MNT2/stats"
done_testing
