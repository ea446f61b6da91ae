/*
 * policy_select.c - policy file loading and selection precedence:
 * KSMP_POLICY, then the first matching file of the policy directory
 * (KSMP_POLICY_DIR), then the built-in default; and which file the
 * program lines of the former shipped policies give real Debian
 * executables.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/xattr.h>

#include "policy-int.h"
#include "../tap.h"

static char diags[16384];
static unsigned ndiags;
static struct ksmp_policy P;
static char buf[KSMP_POLICY_MAX_FILE + 1];
static char tmp[] = "/tmp/ksmp-policy-select-XXXXXX";

static void collect(void *ctx, const char *file, unsigned line, const char *msg)
{
	size_t n = strlen(diags);
	(void)ctx;
	snprintf(diags + n, sizeof diags - n, "%s:%u: %s\n", file ? file : "-",
		 line, msg);
	ndiags++;
}

static void reset_diags(void)
{
	diags[0] = '\0';
	ndiags = 0;
}

static const char *at(const char *rel)
{
	static char path[8][PATH_MAX];
	static int i;
	i = (i + 1) % 8;
	snprintf(path[i], sizeof path[i], "%s/%s", tmp, rel);
	return path[i];
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		tap_bail("cannot write test file");
}

static int sel(const char *envp, const char *dir, const char *exe, const char *argv0)
{
	reset_diags();
	return ksmp_policy_select(&P, envp, dir, exe, argv0, buf, sizeof buf,
				  collect, NULL);
}

static void test_load(void)
{
	put("ok.policy", "mode process\n");
	reset_diags();
	ok(ksmp_policy_load(&P, at("ok.policy"), buf, sizeof buf, collect, NULL) == 0 &&
	   P.mode == KSMP_MODE_PROCESS && !strcmp(P.name, "ok") &&
	   !strcmp(P.source, at("ok.policy")), "load a file: name from the stem, source = path");

	reset_diags();
	int r = ksmp_policy_load(&P, at("missing.policy"), buf, sizeof buf, collect, NULL);
	ok(r == -ENOENT && ndiags == 1 &&
	   strstr(diags, "missing.policy:0: cannot open: No such file or directory"),
	   "missing file: -ENOENT, one report");

	reset_diags();
	r = ksmp_policy_load(&P, tmp, buf, sizeof buf, collect, NULL);
	ok(r == -EISDIR && ndiags == 1 && strstr(diags, "cannot read: Is a directory"),
	   "directory: -EISDIR, one report");

	/* A FIFO would block open() and read() for ever: refused at once. */
	if (mkfifo(at("fifo.policy"), 0600) == 0) {
		reset_diags();
		r = ksmp_policy_load(&P, at("fifo.policy"), buf, sizeof buf, collect, NULL);
		ok(r == -EINVAL && ndiags == 1 &&
		   strstr(diags, "fifo.policy:0: cannot open: not a regular file") &&
		   P.mode == KSMP_MODE_REGIONS,
		   "FIFO: refused without blocking, one report");
		unlink(at("fifo.policy"));
	} else {
		ok(0, "mkfifo for the FIFO test: %s", strerror(errno));
	}
	reset_diags();
	r = ksmp_policy_load(&P, "/dev/zero", buf, sizeof buf, collect, NULL);
	ok(r == -EINVAL && ndiags == 1 && strstr(diags, "not a regular file"),
	   "character device: refused, one report");

	/* Exactly the limit is fine; one byte more is not. */
	static char big[KSMP_POLICY_MAX_FILE + 3];
	memset(big, '#', sizeof big);
	big[KSMP_POLICY_MAX_FILE - 1] = '\n';
	big[KSMP_POLICY_MAX_FILE] = '\0';
	for (size_t i = 1000; i < KSMP_POLICY_MAX_FILE; i += 1000)
		big[i] = '\n';
	put("limit.policy", big);
	reset_diags();
	ok(ksmp_policy_load(&P, at("limit.policy"), buf, sizeof buf, collect, NULL) == 0,
	   "a file of exactly 64 KiB loads");
	big[KSMP_POLICY_MAX_FILE] = '\n';
	big[KSMP_POLICY_MAX_FILE + 1] = '\0';
	put("big.policy", big);
	reset_diags();
	r = ksmp_policy_load(&P, at("big.policy"), buf, sizeof buf, collect, NULL);
	ok(r == -EFBIG && ndiags == 1 && strstr(diags, "file too big (more than 65536 bytes)"),
	   "a file of 64 KiB + 1 byte: -EFBIG");
	reset_diags();
	r = ksmp_policy_load(&P, at("ok.policy"), buf, 4, collect, NULL);
	ok(r == -EFBIG, "a buffer too small for the file: -EFBIG, no overflow");

	/* EACCES: root reads anything, so try as nobody in a child. */
	put("secret.policy", "mode off\n");
	chmod(at("secret.policy"), 0600);
	chmod(tmp, 0755);
	pid_t pid = fork();
	if (pid == 0) {
		if (getuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(3);
		reset_diags();
		int rr = ksmp_policy_load(&P, at("secret.policy"), buf, sizeof buf,
					  collect, NULL);
		_exit(rr == -EACCES && strstr(diags, "cannot open: Permission denied") ? 0 :
		      getuid() == 0 ? 2 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		tap_skip(1, "cannot switch to uid 65534 to test EACCES");
	else
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unreadable file: -EACCES, reported");
	chmod(tmp, 0700);

	reset_diags();
	put("broken.policy", "mode off\nstrict yes\nlog debug\nmerge heapp\nfoo\n");
	r = ksmp_policy_load(&P, at("broken.policy"), buf, sizeof buf, collect, NULL);
	ok(r == 2 && ndiags == 2 && strstr(diags, "broken.policy:4: ") &&
	   strstr(diags, "broken.policy:5: "), "problems reported with the path and line");
}

static void test_precedence(void)
{
	char dir[PATH_MAX];
	int r;

	snprintf(dir, sizeof dir, "%s/d", tmp);
	mkdir(dir, 0755);
	put("d/b.policy", "program foo\nmode process\n");
	put("d/a.policy", "program foo bar\nmode off\n");
	put("d/B.policy", "program baz\nlog debug\n");
	put("d/c.conf", "program qux\n");
	put("d/.hidden.policy", "program qux\n");
	put("d/.policy", "program qux\n");
	put("d/other.policy", "program other\nmode fast\nfrob\n");
	put("d/broken.policy", "program brk\nmode fast\nfrob\n");
	put("d/strict.policy", "program strictprog\nstrict yes\nlog none\nfrob\n");
	put("target.txt", "program linked\nmode process\n");
	mkdir(at("d/sub.policy"), 0755);
	symlink("../target.txt", at("d/link.policy"));
	symlink("../nowhere", at("d/dangling.policy"));
	symlink("sub.policy", at("d/dirlink.policy"));
	put("env.policy", "program nomatch\nmode process\n");

	r = sel(NULL, dir, "/usr/bin/foo", NULL);
	ok(r == 0 && !strcmp(P.source, at("d/a.policy")) && P.mode == KSMP_MODE_OFF &&
	   ndiags == 0, "first matching file in byte order (a before b)");
	r = sel(NULL, dir, "/usr/bin/baz", NULL);
	ok(r == 0 && !strcmp(P.source, at("d/B.policy")), "B.policy found");
	r = sel(NULL, dir, "/usr/bin/qux", "qux");
	ok(r == 0 && !strcmp(P.source, "built-in default") && ndiags == 0,
	   "*.conf, hidden files and directories are not policies");
	r = sel(NULL, dir, "/usr/bin/linked", NULL);
	ok(r == 0 && !strcmp(P.source, at("d/link.policy")) && P.mode == KSMP_MODE_PROCESS,
	   "a symlink to a regular file is a policy");
	/* Program lines as the parser reads them, which the quick look for
	 * one (files without are passed over unparsed) must not miss. */
	put("d/c1.policy", "\xef\xbb\xbf\t program\tcrlfprog\r\nmode off\r\n");
	put("d/c2.policy", "# program nocomment\nmode off # program nocomment\n"
	    "programs nocomment\n  #program nocomment\nxprogram nocomment\n");
	put("d/c3.policy", "name x\n\n  program  lastprog");
	r = sel(NULL, dir, "/usr/bin/crlfprog", NULL);
	ok(r == 0 && !strcmp(P.source, at("d/c1.policy")) && P.mode == KSMP_MODE_OFF,
	   "program line after a byte order mark and blanks, CRLF");
	r = sel(NULL, dir, "/usr/bin/lastprog", NULL);
	ok(r == 0 && !strcmp(P.source, at("d/c3.policy")),
	   "program line last, without a newline");
	r = sel(NULL, dir, "/usr/bin/nocomment", "nocomment");
	ok(r == 0 && !strcmp(P.source, "built-in default") && ndiags == 0,
	   "'program' in comments or other words is no program line");
	static const struct { const char *text; bool want; } look[] = {
		{ "", false }, { "program", true }, { "program\n", true },
		{ "mode off\n\t\tprogram x", true }, { "  program\r\n", true },
		{ "#program x\n", false }, { "programs x\n", false },
		{ "mode off program x\n", false }, { "\xef\xbb\xbfprogram x", true },
		{ "x\n\xef\xbb\xbfprogram x", false }, { "progra", false },
	};
	for (size_t i = 0; i < sizeof look / sizeof *look; i++)
		ok(ksmp_policy_may_have_program(look[i].text, strlen(look[i].text)) ==
		   look[i].want, "quick look for a program line: case %zu", i);
	r = sel(NULL, dir, "/opt/x/bin/python", "bar");
	ok(r == 0 && !strcmp(P.source, at("d/a.policy")), "argv0 name matched");
	r = sel(NULL, dir, "/usr/bin/nothing", "nothing");
	static struct ksmp_policy def;
	ksmp_policy_default(&def);
	ok(r == 0 && ndiags == 0 && !memcmp(&P, &def, sizeof def),
	   "no match: the built-in default, quietly");
	ok(ndiags == 0, "broken files of other programs are not reported");

	r = sel(NULL, dir, "/usr/bin/brk", NULL);
	ok(r == 2 && ndiags == 2 && strstr(diags, "broken.policy:2: unknown mode") &&
	   strstr(diags, "broken.policy:3: unknown keyword"),
	   "broken matching file: its problems are reported");
	ok(P.mode == KSMP_MODE_OFF && !strcmp(P.source, at("d/broken.policy")),
	   "broken matching file: run unmerged, source kept");
	r = sel(NULL, dir, "/usr/bin/strictprog", NULL);
	ok(r == 1 && P.mode == KSMP_MODE_OFF && P.strict == 1 && P.loglevel == KSMP_LOG_NONE,
	   "broken file keeps strict and log settings");

	r = sel(at("env.policy"), dir, "/usr/bin/foo", NULL);
	ok(r == 0 && !strcmp(P.source, at("env.policy")) && P.mode == KSMP_MODE_PROCESS,
	   "KSMP_POLICY wins over the directory, whatever its program line");
	r = sel("", dir, "/usr/bin/foo", NULL);
	ok(r == 0 && !strcmp(P.source, at("d/a.policy")), "empty KSMP_POLICY is unset");
	r = sel(at("nope.policy"), dir, "/usr/bin/foo", NULL);
	ok(r == -ENOENT && P.mode == KSMP_MODE_OFF && ndiags == 1 &&
	   strstr(diags, "cannot open"), "missing KSMP_POLICY: -ENOENT, unmerged, reported");
	r = sel(at("d/broken.policy"), dir, "/usr/bin/foo", NULL);
	ok(r == 2 && P.mode == KSMP_MODE_OFF, "broken KSMP_POLICY: problems, unmerged");
	r = sel(NULL, at("nodir"), "/usr/bin/foo", NULL);
	ok(r == -ENOENT && P.mode == KSMP_MODE_OFF && ndiags == 1 &&
	   strstr(diags, "cannot open policy directory"),
	   "missing KSMP_POLICY_DIR: -ENOENT, unmerged, reported");
	r = sel(NULL, at("d/a.policy"), "/usr/bin/foo", NULL);
	ok(r == -ENOTDIR && P.mode == KSMP_MODE_OFF, "KSMP_POLICY_DIR not a directory: -ENOTDIR");
	r = sel(NULL, NULL, "/usr/bin/foo", NULL);
	ok(r >= 0, "compiled-in directory: no error when absent (got %d)", r);

	/* Many files: the scan needs several getdents64 calls. */
	char big[PATH_MAX];
	snprintf(big, sizeof big, "%s/many", tmp);
	mkdir(big, 0755);
	for (int i = 299; i >= 0; i--) {
		char rel[64], text[128];
		snprintf(rel, sizeof rel, "many/f%03d-with-a-long-name-to-fill-buffers.policy", i);
		snprintf(text, sizeof text, "program %s\n",
			 i == 150 || i == 250 ? "target" : "x");
		put(rel, text);
	}
	r = sel(NULL, big, "/bin/target", NULL);
	ok(r == 0 && strstr(P.source, "/many/f150-") != NULL,
	   "300 files: the first matching one in name order");
}

/* Program lines for real Debian executables (the per-program policies
 * that were shipped until none beat the built-in default): globs over
 * versioned names, argv[0] for symbolic links (redis-server is a link to
 * redis-check-rdb, java to the JVM's own path). */
static void test_programs(void)
{
	static const struct { const char *file, *text; } f[] = {
		{ "prog/python.policy",
		  "program /usr/bin/python3* /usr/local/bin/python3* python3 python3.*\n" },
		{ "prog/node.policy",
		  "program /usr/bin/node /usr/bin/nodejs /usr/local/bin/node node nodejs\n" },
		{ "prog/redis.policy",
		  "program /usr/bin/redis-server /usr/bin/redis-check-* redis-server\n" },
		{ "prog/memcached.policy",
		  "program /usr/bin/memcached /usr/local/bin/memcached memcached\n" },
		{ "prog/jvm.policy",
		  "program /usr/lib/jvm/*/bin/java /usr/lib/jvm/*/jre/bin/java /usr/bin/java java\n" },
	};
	static const struct { const char *exe, *argv0, *want; } t[] = {
		{ "/usr/bin/python3.11", "python3", "python.policy" },
		{ "/usr/bin/python3.13", NULL, "python.policy" },
		{ "/usr/local/bin/python3.12", NULL, "python.policy" },
		{ "/home/u/venv/bin/python3", "python3", "python.policy" },
		{ "/usr/bin/node", "node", "node.policy" },
		{ "/usr/bin/nodejs", NULL, "node.policy" },
		{ "/usr/bin/redis-server", "redis-server", "redis.policy" },
		{ "/usr/bin/redis-check-rdb", NULL, "redis.policy" },
		{ "/usr/bin/memcached", NULL, "memcached.policy" },
		{ "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "java", "jvm.policy" },
		{ "/usr/lib/jvm/java-11-openjdk-amd64/bin/java", "/usr/bin/java", "jvm.policy" },
		{ "/usr/bin/ls", "ls", NULL },
		{ "/usr/bin/perl", "perl", NULL },
		{ "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac", "javac", NULL },
	};
	char dir[PATH_MAX];

	mkdir(at("prog"), 0755);
	for (size_t i = 0; i < sizeof f / sizeof *f; i++)
		put(f[i].file, f[i].text);
	snprintf(dir, sizeof dir, "%s", at("prog"));
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		int r = sel(NULL, dir, t[i].exe, t[i].argv0);
		const char *got = strrchr(P.source, '/');
		got = got ? got + 1 : P.source;
		ok(r == 0 && !strcmp(got, t[i].want ? t[i].want : "built-in default"),
		   "program lines: %s -> %s (got %s)", t[i].exe,
		   t[i].want ? t[i].want : "built-in default", P.source);
	}
	/* The real executables on this machine, where installed. */
	static const char *const real[][2] = {
		{ "/usr/bin/python3", "python.policy" },
		{ "/usr/bin/node", "node.policy" },
		{ "/usr/bin/nodejs", "node.policy" },
		{ "/usr/bin/redis-server", "redis.policy" },
		{ "/usr/bin/memcached", "memcached.policy" },
		{ "/usr/bin/java", "jvm.policy" },
	};
	const char *src = getenv("KSMP_SRCDIR");
	char shipped[PATH_MAX];
	snprintf(shipped, sizeof shipped, "%s/policy", src ? src : ".");
	for (size_t i = 0; i < sizeof real / sizeof *real; i++) {
		char *exe = realpath(real[i][0], NULL);
		if (!exe) {
			tap_skip(2, "program not installed");
			continue;
		}
		int r = sel(NULL, dir, exe, real[i][0]);
		ok(r == 0 && strstr(P.source, real[i][1]) != NULL,
		   "installed %s (%s) -> %s", real[i][0], exe, real[i][1]);
		/* The shipped directory (default.policy only) claims none. */
		r = src ? sel(NULL, shipped, exe, real[i][0]) : -1;
		ok(r == 0 && !strcmp(P.source, "built-in default"),
		   "installed %s, shipped directory -> built-in default (got %s)",
		   real[i][0], src ? P.source : "no KSMP_SRCDIR");
		free(exe);
	}
}

/* The quick look for a program line (selection passes over files it
 * rules out) against the parser, on texts made of the pieces that could
 * fool it: blanks the parser does not split on, control bytes, NUL, CR,
 * case, byte order marks, comments, lines over the parser's limit. Then
 * a file of the largest size read, whose program line is its last. */
static void test_quick_look(void)
{
	static const char *const piece[] = {
		" ", "\t", "\r", "\n", "\v", "\f", "\0", "program", "Program",
		"PROGRAM", "progra", "m", "#", "\xef\xbb\xbf", "x", "/usr/bin/*",
		"\\", "\r\n", "mode off", "\"program\"", "\xc2\xa0", "merge any",
	};
	static char text[4096];
	static struct ksmp_policy q;
	unsigned long seed = 12345, found = 0, missed = 0;

	for (int it = 0; it < 200000; it++) {
		size_t len = 0;
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		for (unsigned k = (unsigned)(seed >> 60); k; k--) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			const char *w = piece[(seed >> 33) % (sizeof piece / sizeof *piece)];
			size_t n = *w ? strlen(w) : 1;
			memcpy(text + len, w, n);
			len += n;
		}
		if ((seed >> 20) % 64 == 0) {	/* a line over 1024 bytes */
			memset(text + len, ' ', 1030);
			memcpy(text + len + 1030, "program x\n", 10);
			len += 1040;
		}
		ksmp_policy_parse_programs(&q, "t", text, len);
		found += q.nprograms > 0;
		if (q.nprograms && !ksmp_policy_may_have_program(text, len) && !missed++)
			diag("missed a program line in case %d", it);
	}
	ok(missed == 0 && found > 100,
	   "quick look: no program line the parser reads is missed (%lu found, %lu missed)",
	   found, missed);

	static char big[KSMP_POLICY_MAX_FILE + 1];
	static const char last[] = "program /usr/bin/bigprog\n";
	size_t fill = KSMP_POLICY_MAX_FILE - (sizeof last - 1);
	for (size_t i = 0; i < fill; i += 64) {
		size_t n = fill - i < 64 ? fill - i : 64;
		memset(big + i, '#', n);
		big[i + n - 1] = '\n';
	}
	memcpy(big + fill, last, sizeof last);
	mkdir(at("big"), 0755);
	put("big/big.policy", big);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", at("big"));
	int r = sel(NULL, dir, "/usr/bin/bigprog", NULL);
	ok(r == 0 && strlen(big) == KSMP_POLICY_MAX_FILE && !strcmp(P.source, at("big/big.policy")),
	   "a file of the largest size with its program line last is chosen (got %s)",
	   P.source);
}

/* The directory index (index.c): selection with a current index opens
 * only the files that may have a program line; a file changed in place,
 * added or removed since, or an index that is malformed or another
 * directory's, is noticed and the directory read as without one; the
 * trust checks of a privileged process still apply. */
static char text[4096], fbuf[KSMP_POLICY_MAX_FILE + 1];

static int index_dir(const char *dir)
{
	reset_diags();
	return ksmp_policy_index_write(dir, text, sizeof text, fbuf, sizeof fbuf,
				       collect, NULL);
}

/* select from dir for exe with flags: the file chosen ("" for none) and
 * the number of files opened */
static const char *pick(const char *dir, const char *exe, unsigned flags,
			unsigned *opens, int *ret)
{
	reset_diags();
	unsigned before = ksmp_policy_opens;
	*ret = ksmp_policy_select_flags(&P, NULL, dir, exe, NULL, flags, buf,
					sizeof buf, collect, NULL);
	*opens = ksmp_policy_opens - before;
	const char *slash = strrchr(P.source, '/');
	return slash ? slash + 1 : "";
}

static void test_index(void)
{
	char d[PATH_MAX];
	unsigned opens;
	const char *got;
	int r;

	snprintf(d, sizeof d, "%s", at("idx"));
	if (mkdir(d, 0755) != 0)
		tap_bail("mkdir");
	put("idx/a.policy", "program /usr/bin/alpha\nmode process\n");
	put("idx/b.policy", "# no program line here\nmode process\n");
	put("idx/c.policy", "mode off\n");
	put("idx/notes.conf", "program /usr/bin/zeta\n");
	if (setxattr(d, "user.ksmpreload.probe", "x", 1, 0) != 0) {
		tap_skip(13, "no user extended attributes here");
		return;
	}
	removexattr(d, "user.ksmpreload.probe");

	/* without an index: every candidate opened */
	got = pick(d, "/usr/bin/zeta", 0, &opens, &r);
	ok(!strcmp(got, "") && r == 0 &&
	   opens == 3, "no index: the three files opened (%u), built-in default", opens);
	r = index_dir(d);
	ok(r == 0 && !ndiags, "index written (%d) %s", r, diags);
	got = pick(d, "/usr/bin/zeta", 0, &opens, &r);
	ok(!strcmp(got, "") && r == 0 &&
	   opens == 1, "current index: only the file with a program line opened (%u)", opens);
	got = pick(d, "/usr/bin/alpha", 0, &opens, &r);
	ok(!strcmp(got, "a.policy") && r == 0 &&
	   P.mode == KSMP_MODE_PROCESS, "current index: alpha still gets a.policy");

	/* changed in place: same inode, the directory's time unchanged */
	put("idx/b.policy", "program /usr/bin/zeta\nmode off\n");
	got = pick(d, "/usr/bin/zeta", 0, &opens, &r);
	ok(!strcmp(got, "b.policy") && r == 0 &&
	   P.mode == KSMP_MODE_OFF, "a file changed in place since indexed: read, chosen (%u opens)",
	   opens);
	put("idx/b.policy", "# no program line here\nmode process\n");
	r = index_dir(d);
	ok(r == 0, "indexed again");

	/* added, then removed, since indexed */
	put("idx/0.policy", "program /usr/bin/zeta\n");
	got = pick(d, "/usr/bin/zeta", 0, &opens, &r);
	ok(!strcmp(got, "0.policy") && r == 0,
	   "a file added since indexed: chosen");
	if (unlink(at("idx/0.policy")) != 0 || unlink(at("idx/a.policy")) != 0)
		tap_bail("unlink");
	got = pick(d, "/usr/bin/alpha", 0, &opens, &r);
	ok(!strcmp(got, "") && r == 0 &&
	   opens == 2, "files removed since indexed: not chosen, directory read (%u opens)", opens);

	/* malformed, or another directory's (or time's) */
	const char *bad[] = { "junk", "ksmpreload-index 1 1 2 3 4\n",
			      "ksmpreload-index 2 0 0 0 0\n" };
	bool all = true;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setxattr(d, KSMP_INDEX_XATTR, bad[i], strlen(bad[i]), 0);
		pick(d, "/usr/bin/zeta", 0, &opens, &r);
		all = all && r == 0 && opens == 2;
	}
	ok(all, "a malformed index, or one not this directory's: ignored");

	/* a privileged process: a file others can write is refused even
	 * when the index says it has no program line */
	put("idx/d.policy", "program /usr/bin/alpha\n");
	chmod(at("idx/b.policy"), 0666);
	r = index_dir(d);
	ok(r == 0, "indexed with a 0666 file");
	got = pick(d, "/usr/bin/alpha", 0, &opens, &r);
	ok(!strcmp(got, "d.policy") && r == 0 &&
	   opens == 1, "unprivileged: the 0666 file passed over unopened (%u opens)", opens);
	pick(d, "/usr/bin/alpha", KSMP_SELECT_PRIVILEGED, &opens, &r);
	ok(r == -EPERM && strstr(diags, "b.policy:0: refused in a privileged process: writable"),
	   "privileged: the 0666 file refused as without an index (%d) %s", r, diags);

	/* removed */
	ok(ksmp_policy_index_remove(d) == 0 &&
	   getxattr(d, KSMP_INDEX_XATTR, NULL, 0) < 0 && errno == ENODATA,
	   "index removed");
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
}

int main(void)
{
	if (!mkdtemp(tmp))
		tap_bail("mkdtemp failed");
	test_load();
	test_precedence();
	test_programs();
	test_quick_look();
	test_index();
	cleanup();
	tap_plan(tap_n_);
	return tap_done();
}
