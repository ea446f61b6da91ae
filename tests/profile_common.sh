# profile_common.sh - sourced by the profile_*.sh tests on real programs
# (after tap.sh and preload_common.sh, with PL_TMP set).
#
# prof_e2e LABEL N ORIGIN_RE CMD...: `ksmpreload profile -n N -- CMD`, then
# checks (5 results): it exits 0; the report has an origin matching
# ORIGIN_RE (awk regex on "kind origin") with merged bytes > 0; the
# suggested policy passes `ksmpreload check`; and N instances of CMD under
# the suggested policy merge (sum of per-process ksm_merging_pages) at
# least 97% of what N instances under whole-process merging do.
KP="$KSMP_BUILDDIR/cli/ksmpreload"

prof_run_set() { # prof_run_set POLICY N CMD... -> sum of ksm_merging_pages
	pol=$1; n=$2; shift 2
	PL_PIDS=""
	pids=""
	for i in $(seq "$n"); do
		pl_start "$PL_TMP/set$i.out" env LD_PRELOAD="$(ksmp_lib)" KSMP_POLICY="$pol" "$@"
		pids="$pids $PL_LAST"
	done
	for i in $(seq "$n"); do pl_wait_ready "$PL_TMP/set$i.out" 15 || true; done
	pl_probe plateau 10 $pids | awk '$1 == "sum" { print $2 }'
	pl_stop
}

prof_e2e() {
	label=$1; n=$2; re=$3; shift 3
	timeout 25 "$KP" profile -n "$n" -o "$PL_TMP/$label.policy" \
		--report "$PL_TMP/$label.report" -- "$@" > "$PL_TMP/$label.out" 2> "$PL_TMP/$label.err"
	is "$?" 0 "$label: profile exits 0"
	sed 's/^/# /' "$PL_TMP/$label.report"
	m=$(awk -v re="$re" '($1 " " $2) ~ re && $5 != "0" { print $5; exit }' "$PL_TMP/$label.report")
	ok "$label: origin /$re/ merged something ($m)" test -n "$m"
	ok "$label: suggested policy passes ksmpreload check" \
		"$KP" check "$PL_TMP/$label.policy"
	grep -E '^(merge|skip) ' "$PL_TMP/$label.policy" | grep -v 'caller=libcrypto\|caller=libnss3' |
		sed 's/^/# rule: /'
	printf 'mode process\ncontrol no\n' > "$PL_TMP/$label.process.policy"
	sug=$(prof_run_set "$PL_TMP/$label.policy" "$n" "$@")
	whole=$(prof_run_set "$PL_TMP/$label.process.policy" "$n" "$@")
	diag "$label: suggested policy $sug merging pages, whole process $whole"
	pl_ge "${whole:-0}" 1 "$label: whole-process merging merges"
	pl_ge $(( ${sug:-0} * 100 )) $(( ${whole:-1} * 97 )) \
		"$label: suggested policy keeps >= 97% of whole-process merging"
}
