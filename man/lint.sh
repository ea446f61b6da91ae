#!/bin/sh
# Every man page in man/ is clean under `mandoc -Tlint -W warning`, and
# each page the build installs is in the source tree (and the reverse).
. "${KSMP_SRCDIR:-$(dirname "$0")/..}/tests/tap.sh"
command -v mandoc >/dev/null 2>&1 || skip_all "mandoc not installed"
pages=$(ls "$KSMP_SRCDIR"/man/*.[1-8] 2>/dev/null)
[ -n "$pages" ] || skip_all "no man pages yet"
n=0; for p in $pages; do n=$((n + 1)); done
plan $((n + 1))
for p in $pages; do
	out=$(mandoc -Tlint -W warning "$p" 2>&1)
	[ -z "$out" ] || echo "$out" | sed 's/^/# /'
	is "$out" "" "mandoc -Tlint clean: $(basename "$p")"
done
# NAME section present and matching the file name (catches copy-paste).
bad=""
for p in $pages; do
	b=$(basename "$p"); name=${b%.*}
	grep -Eiq "^\.(Nm|TH) \"?$name\"?( |$)" "$p" || bad="$bad $b"
done
is "$bad" "" "every page names itself (.Nm/.TH matches the file name)"
done_testing
