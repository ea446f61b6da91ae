#!/bin/sh
# preload_java.sh - the built-in default (no policy file) on Debian's OpenJDK: 4 JVMs
# filling the same 24 MiB byte[] (a humongous object in the Java heap)
# merge it, per process.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
JAVA=""
for j in /usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/default-java/bin/java /usr/bin/java; do
	[ -x "$j" ] && { JAVA=$j; break; }
done
need_root
need_ksm
[ -n "$JAVA" ] || skip_all_env "java not installed (openjdk-17-jre-headless)"
pl_need_lib
ksm_fast "$@"
pl_tmp
N=4
plan $((N * 3 + 1))
mkdir "$PL_TMP/src"
cat > "$PL_TMP/src/Work.java" <<'JEOF'
public class Work {
	public static void main(String[] a) throws Exception {
		byte[] b = new byte[24 << 20];
		new java.util.Random(31337).nextBytes(b);
		System.out.println("ready " + b.length);
		System.out.flush();
		Thread.sleep(300000);
		System.out.println(b[7]);
	}
}
JEOF
pids=""
for i in $(seq $N); do
	pl_start "$PL_TMP/j$i.out" env $(pl_real_env) $(pl_default_env) \
		"$JAVA" -Xmx128m -Xms64m -XX:TieredStopAtLevel=1 -Xshare:auto "$PL_TMP/src/Work.java"
	pids="$pids $PL_LAST"
done
for i in $(seq $N); do
	pl_wait_ready "$PL_TMP/j$i.out" 60
	is "$(cat "$PL_TMP/j$i.out")" "ready 25165824" "java $i runs normally"
done
pl_real_judge java $((6144 * 85 / 100)) $pids
is "$(cat "$PL_TMP"/j*.out.err)" "" "nothing on stderr"
pl_stop
done_testing
