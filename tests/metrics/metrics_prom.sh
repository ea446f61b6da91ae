#!/bin/sh
# metrics_prom - /metrics against the real promtool and node_exporter:
# `promtool check metrics` is clean (counters _total, base units, HELP,
# build info), also with a process that named itself "\e]2;PWNED\a\xff"
# (prctl PR_SET_NAME): its labels are valid UTF-8 with no control byte;
# uid 65534 gets the host figures and its own processes only;
# -o process_metrics=0 drops per-process series; the per-process
# saved_bytes add up to the host's within 1%; and node_exporter's textfile
# collector, run as uid 65534 on loopback, serves it through a symlink.
# Runs under tests/ksm-hold (fast ksmd, knobs restored).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
need_root
need_ksm
need_fuse
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
command -v promtool >/dev/null 2>&1 || skip_all_env "promtool not installed (Debian package prometheus)"
NE=$(command -v prometheus-node-exporter || command -v node_exporter) ||
	skip_all_env "node_exporter not installed (Debian package prometheus-node-exporter)"
# the interpreter itself, not a wrapper script (pyenv's shims are shell)
PY=
for p in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
	[ -x "$p" ] && head -c 4 "$p" | grep -q ELF && { PY=$p; break; }
done
[ -n "$PY" ] || skip_all_env "python3 (an ELF interpreter) not installed"
command -v curl >/dev/null 2>&1 || skip_all_env "curl not installed"
ksm_fast "$@"
mfs_init setpriv
chmod 755 "$OUT"
NE_PID=
cleanup_all() { [ -n "$NE_PID" ] && kill "$NE_PID" 2>/dev/null; mfs_cleanup; }
trap cleanup_all EXIT

plan 16
mfs_mount allow_other || { echo "1..0 # mount failed"; exit 1; }
seed=$(( $$ % 100000 + 515151 ))
start a -s "$seed" -m 8
start b -s "$seed" -m 8
spawn u setpriv --reuid 65534 --regid 65534 --clear-groups "$P/mergefs_target" -s 77 -m 1
# a hostile name, set by the process itself, under the real library
spawn evil env LD_PRELOAD="$(ksmp_preload)" "$PY" -c '
import ctypes, sys, time
ctypes.CDLL(None).prctl(15, b"\x1b]2;PWNED\x07\xff", 0, 0, 0)
print("ready", flush=True)
time.sleep(120)'
i=0; until grep -q PWNED "/proc/$evil_pid/comm" 2>/dev/null || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done

pages=$(( 8 * 1048576 / $(getconf PAGESIZE) ))
i=0; while [ "$(sed -n 's/^ksm_merging_pages //p' "$MNT/$b_pid/stats")" -lt "$pages" ] && [ $i -lt 400 ]; do
	sleep 0.05; i=$((i + 1)); done

cat "$MNT/metrics" > "$OUT/root.prom"
promtool check metrics < "$OUT/root.prom" > "$OUT/lint" 2>&1
ok "promtool check metrics: clean for root ($(head -c 300 "$OUT/lint"))" test $? -eq 0 -a ! -s "$OUT/lint"
esc=$(printf '\033'); bel=$(printf '\007'); ff=$(printf '\377')
ok "no raw ESC, BEL or 0xff byte in the file" sh -c "! grep -aq '[$esc$bel$ff]' '$OUT/root.prom'"
ok "the file is valid UTF-8" sh -c "iconv -f UTF-8 -t UTF-8 '$OUT/root.prom' >/dev/null"
ok "the hostile name is escaped as \\xHH text" \
	grep -qF "mergefs_process_merge_state{pid=\"$evil_pid\",comm=\"\\\\x1b]2;PWNED\\\\x07\\\\xff\"" "$OUT/root.prom"
ok "a build-info series" grep -q '^mergefs_build_info{version="[^"]*"} 1$' "$OUT/root.prom"
ok "counters end in _total; no doubled prefix, no millisecs" sh -c "
	grep -q '^# TYPE mergefs_ksm_full_scans_total counter' '$OUT/root.prom' &&
	! grep -q 'ksm_ksm_\|millisecs' '$OUT/root.prom' &&
	! grep -q '^# HELP [^ ]* /sys' '$OUT/root.prom'"
ok "per-process series carry cgroup and unit labels" \
	grep -q "^mergefs_process_saved_bytes{pid=\"$a_pid\",comm=\"[^\"]*\",cgroup=\"[^\"]*\",unit=\"[^\"]*\"} " "$OUT/root.prom"

# --- another uid: host figures, its own processes, nothing of root's
setpriv --reuid 65534 --regid 65534 --clear-groups cat "$MNT/metrics" > "$OUT/nobody.prom"
ok "uid 65534's view is promtool-clean too" sh -c "promtool check metrics < '$OUT/nobody.prom' >/dev/null 2>&1"
others=$(sed -n 's/^mergefs_process_[a-z_]*{pid="\([0-9]*\)".*/\1/p' "$OUT/nobody.prom" | sort -u |
	while read -r p; do
		o=$(stat -c %u "/proc/$p" 2>/dev/null) || continue	# exited since
		[ "$o" = 65534 ] || printf ' %s(uid %s)' "$p" "$o"
	done)
ok "uid 65534 sees no series of another uid's process (root's: a $a_pid, evil $evil_pid;$others)" \
	test -z "$others" -a -n "$(grep -c "pid=\"$a_pid\"" "$OUT/root.prom" | grep -v '^0$')"
ok "uid 65534 sees its own process and the host figures" sh -c "
	grep -q 'mergefs_process_merge_state{pid=\"$u_pid\"' '$OUT/nobody.prom' &&
	grep -q '^mergefs_saved_bytes ' '$OUT/nobody.prom'"

# --- per-process savings add up to the host's (ksmd may still move:
# retry until one snapshot agrees)
sum_ok() {
	cat "$MNT/metrics" > "$OUT/s.prom"
	awk '/^mergefs_saved_bytes / {h = $2}
	     /^mergefs_process_saved_bytes\{/ {s += $NF}
	     END { d = h - s; if (d < 0) d = -d; printf "host %d sum %d\n", h, s;
	           exit !(h > 0 && d <= h / 100) }' "$OUT/s.prom" > "$OUT/sum"
}
i=0; until sum_ok || [ $i -ge 40 ]; do sleep 0.25; i=$((i + 1)); done
ok "per-process saved_bytes add up to the host's within 1% ($(cat "$OUT/sum"))" sum_ok
mb=$(field "$MNT/$a_pid/stats" merged_bytes); sb=$(field "$MNT/$a_pid/stats" saved_bytes)
ok "stats: a merged_bytes ($mb) counts its pages, saved_bytes ($sb) its share" \
	test "${mb:-0}" -ge $(( pages * $(getconf PAGESIZE) )) -a "${sb:-0}" -lt "${mb:-0}" -a "${sb:-0}" -gt 0

# --- node_exporter's textfile collector reads it through a symlink
TF=$OUT/textfile; mkdir "$TF"; chmod 755 "$TF"
ln -s "$MNT/metrics" "$TF/mergefs.prom"
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setpriv --reuid 65534 --regid 65534 --clear-groups "$NE" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$TF" \
	--web.listen-address="127.0.0.1:$port" > "$OUT/ne.log" 2>&1 &
NE_PID=$!
i=0; until curl -sf "http://127.0.0.1:$port/metrics" > "$OUT/scrape" || [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1)); done
ok "node_exporter serves mergefs_saved_bytes" grep -q '^mergefs_saved_bytes ' "$OUT/scrape"
ok "and reports no textfile error" grep -q '^node_textfile_scrape_error 0' "$OUT/scrape"
ok "and shows none of root's processes (it reads as uid 65534)" sh -c "! grep -q 'pid=\"$a_pid\"' '$OUT/scrape'"
kill "$NE_PID"; wait "$NE_PID" 2>/dev/null; NE_PID=

# --- -o process_metrics=0
fusermount3 -u "$MNT"
mfs_mount allow_other,process_metrics=0
cat "$MNT/metrics" > "$OUT/nopm.prom"
ok "process_metrics=0: host series only, still clean" sh -c "
	! grep -q '^mergefs_process_' '$OUT/nopm.prom' && grep -q '^mergefs_saved_bytes ' '$OUT/nopm.prom' &&
	promtool check metrics < '$OUT/nopm.prom' >/dev/null 2>&1"
done_testing
