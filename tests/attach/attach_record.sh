#!/bin/sh
# attach_record.sh - the attach record (cli/attach/record.c) cannot be
# steered by whoever can write where it is kept: its temporary file has an
# unpredictable name and is created exclusively (a symbolic link planted at
# the name the attacher used to choose is never written through), a
# directory others may write to is refused, and concurrent attaches and
# detaches of one process leave whole records and no temporary files.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
need_root
at_setup
plan 10
mkdir -m 700 "$T/rec"
at_start p "$TGT" hold 0x7a11ac43 1; P=$AT_PID

# the name the attacher chose before: RECORD.ATTACHER_PID.tmp; exec keeps
# the shell's pid, so the link waits at exactly that name
echo "not a record" > "$T/victim"
sh -c 'ln -s "$1" "$2/$3.$$.tmp" && exec "$4" attach --mode process "$3"' \
	sh "$T/victim" "$T/rec" "$P" "$K" > "$T/a.out" 2>&1
is "$?" 0 "attach with a link planted at the old temporary name exits 0"
is "$(cat "$T/victim")" "not a record" "the link's target is not written"
ok "the record is a regular file, not the link" test -f "$T/rec/$P" -a ! -L "$T/rec/$P"
ok "the record is whole" grep -q '^process 1$' "$T/rec/$P"
"$K" detach "$P" > /dev/null 2>&1
find "$T/rec" -name '*.tmp' -type l -delete

# a directory others may write to: no record kept there
chmod 0777 "$T/rec"
out=$("$K" attach --mode process "$P" 2>&1)
case $out in *"cannot keep a record"*) r=0;; *) r=1; diag "$out";; esac
ok "a directory writable by others is refused for the record" [ $r -eq 0 ]
ok "and nothing is written there" [ ! -e "$T/rec/$P" ]
chmod 0700 "$T/rec"
"$K" detach "$P" > /dev/null 2>&1

# concurrent attaches and detaches of one process; a reader meanwhile
# sees either no record or a whole one
( i=0; while [ $i -lt 12 ]; do "$K" attach --mode process "$P" >/dev/null 2>&1; i=$((i + 1)); done ) &
w1=$!
( i=0; while [ $i -lt 12 ]; do "$K" detach "$P" >/dev/null 2>&1; i=$((i + 1)); done ) &
w2=$!
( i=0; while [ $i -lt 12 ]; do "$K" attach --mode process "$P" >/dev/null 2>&1; i=$((i + 1)); done ) &
w3=$!
torn=0; reads=0
while kill -0 $w1 2>/dev/null || kill -0 $w2 2>/dev/null || kill -0 $w3 2>/dev/null; do
	if r=$(cat "$T/rec/$P" 2>/dev/null); then
		reads=$((reads + 1))
		case $r in "ksmpreload-attach 1"*"start "*"process "[01]) ;; *) torn=$((torn + 1)); diag "torn: $r";; esac
	fi
done
wait $w1 $w2 $w3
diag "records read while 36 attaches and detaches ran: $reads"
is "$torn" 0 "every record read meanwhile was whole"
is "$(find "$T/rec" -name '*.tmp' | wc -l)" 0 "no temporary file is left"
# the temporary file of a save that was killed before its rename: the
# next save drops it once it is a minute old (a fresh one may be a save
# in progress elsewhere)
mkdir -p -m 700 "$T/rec"	# the last detach above may have removed it
echo "ksmpreload-attach 1" > "$T/rec/.99999.0123456789abcdef.tmp"
touch -d '2 minutes ago' "$T/rec/.99999.0123456789abcdef.tmp"
echo "ksmpreload-attach 1" > "$T/rec/.99998.0123456789abcdef.tmp"
"$K" attach --mode process "$P" > /dev/null 2>&1
is "$(ls -A "$T/rec" | grep -c '^\.9999[89]\.')/$(ls -A "$T/rec" | grep -c '^\.99998\.')" 1/1 \
	"a save drops a killed save's temporary file older than a minute, keeps a fresh one"
rm -f "$T/rec/.99998.0123456789abcdef.tmp"
"$K" detach "$P" > /dev/null 2>&1
"$K" attach --mode process "$P" > /dev/null 2>&1
"$K" detach "$P" > /dev/null 2>&1
is "$(ls -A "$T/rec" 2>/dev/null)" "" "a final detach leaves nothing behind"
