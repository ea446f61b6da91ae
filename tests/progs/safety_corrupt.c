/*
 * safety_corrupt - a corrupted state block must not crash, hang or
 * mislead mergefs.
 *
 *   safety_corrupt MNT SECS SEED OUTDIR
 *
 * A child publishes a state block (tests/progs/mergefs_fake.c, with the
 * real control agent) and a MADV_MERGEABLE buffer (so the kernel shows
 * it in ksm_stat and mergefs lists it whatever its block says), then
 * scribbles over the block for SECS seconds: random bytes, wrong magic,
 * version, size, pid or start time, huge counts (nregions_hint,
 * policy_text_len, counters), strings without a NUL (and with newlines,
 * tabs, '%', quotes, backslashes), region slots with absurd starts,
 * lengths, states, kinds and rules, sequence numbers odd for ever,
 * nonsense engine/flags/signo and control fields; now and then it puts
 * the good block back so that mergefs attaches it again.
 *
 * Meanwhile the parent reads MNT/PID/{stats,regions,regions_ksm,policy,
 * merge}, MNT/stats and MNT/metrics in a loop, and writes to
 * MNT/PID/merge, each under a watchdog (a read that takes more than 5 s,
 * or a write that takes more than the timeout + 2 s, is a hang), and
 * checks that what it reads is well-formed:
 *  - stats: "key value" lines, key [a-z0-9_]+, the first "pid PID",
 *    "library 0" or "library 1", no NUL or control byte, ends in newline;
 *  - regions: the header, then "START-END KIND RULE CALLER BYTES STATE"
 *    lines with START, END in hex, RULE and BYTES decimal, END - START ==
 *    BYTES (mod 2^64), KIND and STATE from the known names;
 *  - policy: "name X", "source Y", a blank line; no NUL;
 *  - merge: "0\n" or "1\n";
 *  - the child (the fake library with the real control agent) lives;
 *  - metrics: saved to OUTDIR/metrics.N for tests/progs/mergefs_promcheck
 *    (the last few are kept).
 * Errors allowed for a read: EIO (mergefs(8): the block changed under
 * it), and ENOENT for the per-process files (counted): a write of 0 makes
 * the agent unmerge through the scribbled region table, which may unmerge
 * the buffer too; without KSM use and without a trusted block the process
 * is rightly not listed until the child advises the buffer again. Any
 * other error is wrong. Writes may fail with any errno, but in time.
 * No byte below 0x20 but the newline, and no DEL, may appear in stats,
 * regions, policy, regions_ksm or the host stats (mergefs escapes them).
 * The child catches every signal but the fault signals with a handler
 * that does nothing; signo is scribbled freely.
 *
 * Prints "reads R writes W errors E attached A wrong X control-bytes C
 * enoent N" (A: stats reads that saw "library 1", so that the scribbled
 * block really was being read) and exits 1 when X > 0.
 *
 * A fifth argument runs one fixed case instead (regression tests of the
 * bugs this program found, bugs-mergefs.md "[safety2]"):
 *  escape  the child puts terminal escapes (ESC ] title BEL, ESC [ 2J),
 *          tab, DEL, backspace and CR in its policy name, source, exe, a
 *          region's caller and its policy text; stats, regions, policy
 *          and regions_ksm are read once and must hold none of them;
 *  signo   the block names an RT signal the child leaves at SIG_DFL; a
 *          write of 0 to its merge file must not kill it;
 *  advsum  the block says 0x7000000000000000 advised bytes for two
 *          kinds; the process's mergefs_process_advised_bytes in
 *          /metrics must not be negative, and mergefs must still answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mergefs_fake.h"
#include "control.h"
#include "safety_util.h"

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char junk[] = "\n\t\r%s%n\"\\{}= \x01\x7f\xff";

static void junk_fill(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rnd() % 3 ? (char)('A' + rnd() % 26) : junk[rnd() % (sizeof(junk) - 1)];
}

/* ------------------------------------------------------------ scribbler */

/* Signals the child cannot catch or must not catch (synchronous faults). */
static int unsafe_signo(int32_t sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP: case SIGILL: case SIGTRAP: case SIGABRT:
	case SIGBUS: case SIGFPE: case SIGSEGV: case SIGSYS:
		return 1;
	default:
		return 0;
	}
}

static void noop(int sig)
{
	(void)sig;
}

/* Catch every other signal with a handler that does nothing, so that a
 * scribbled signo naming one of them takes mergefs's send path (it sends
 * only a real-time signal the target catches) and the write times out;
 * one naming any other signal must be refused without killing the child. */
static void catch_all(int agent_sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < 65; sig++)
		if (sig != agent_sig && !unsafe_signo(sig))
			sigaction(sig, &sa, NULL);	/* 32, 33: EINVAL, fine */
}

static void scribble(struct ksmp_state *st, const struct ksmp_state *good)
{
	unsigned what = (unsigned)(rnd() % 12);
	/* a wrong identity makes mergefs drop the block (and not look again
	 * for a second): rarer, so that most reads see a trusted, scribbled
	 * block */
	if (what == 2 && rnd() % 16)
		what = 1;
	size_t sz = sizeof(*st);
	switch (what) {
	case 0: /* put the good block back (identity and all) */
		memcpy(st, good, sz);
		break;
	case 1: { /* random bytes anywhere past the identity */
		size_t off = 24 + rnd() % (sz - 24), n = 1 + rnd() % 512;
		if (off + n > sz)
			n = sz - off;
		for (size_t i = 0; i < n; i++)
			((unsigned char *)st)[off + i] = (unsigned char)rnd();
		break;
	}
	case 2: /* identity */
		switch (rnd() % 5) {
		case 0: st->magic = (uint32_t)rnd(); break;
		case 1: st->version = (uint32_t)rnd(); break;
		case 2: st->size = rnd() % 2 ? 0xffffffffu : (uint32_t)rnd(); break;
		case 3: st->pid = (int32_t)rnd(); break;
		default: st->starttime = rnd(); break;
		}
		break;
	case 3: /* huge counts */
		st->nregions_hint = rnd() % 2 ? 0xffffffffu : (uint32_t)rnd();
		st->policy_text_len = rnd() % 2 ? 0xffffffffu : (uint32_t)rnd();
		for (int k = 0; k < KSMP_STATE_KINDS; k++) {
			st->kind[k].regions = rnd() % 2 ? UINT64_MAX : rnd();
			st->kind[k].bytes = rnd() % 2 ? UINT64_MAX : rnd();
		}
		for (int k = 0; k < KSMP_STATE_RULES; k++)
			st->rule[k].bytes = rnd();
		st->madvise_calls = UINT64_MAX;
		for (int k = 0; k < KSMP_ERR_SLOTS; k++)
			st->madvise_errors[k] = rnd();
		st->regions_dropped = UINT64_MAX;
		st->vmas_added = rnd();
		break;
	case 4: /* strings without a NUL */
		junk_fill(st->policy_name, sizeof(st->policy_name));
		junk_fill(st->policy_source, sizeof(st->policy_source));
		junk_fill(st->exe, sizeof(st->exe));
		junk_fill(st->policy_text, sizeof(st->policy_text));
		st->policy_text_len = KSMP_STATE_POLICY_TEXT + (uint32_t)(rnd() % 100000);
		break;
	case 5: /* absurd region slots */
		for (int n = 0; n < 64; n++) {
			struct ksmp_region *r = &st->regions[rnd() % KSMP_STATE_REGIONS];
			r->seq = (uint32_t)(rnd() & ~1ull);
			r->state = (uint8_t)rnd();
			r->kind = (uint8_t)rnd();
			r->rule = (int16_t)rnd();
			r->start = rnd() % 2 ? UINT64_MAX - 4095 : rnd();
			r->len = rnd() % 2 ? UINT64_MAX : rnd();
			junk_fill(r->caller, sizeof(r->caller));
			r->caller_pc = rnd();
		}
		st->nregions_hint = KSMP_STATE_REGIONS + (uint32_t)(rnd() % 10);
		break;
	case 6: /* sequence numbers odd for ever */
		for (int i = 0; i < KSMP_STATE_REGIONS; i++)
			st->regions[i].seq |= 1;
		st->nregions_hint = KSMP_STATE_REGIONS;
		break;
	case 7: /* what runs */
		st->engine = (uint32_t)rnd();
		st->mode = (uint32_t)rnd();
		st->merge_state = (uint32_t)rnd();
		st->flags = (uint32_t)rnd();
		st->signo = rnd() % 2 ? (int32_t)rnd() : (int32_t)(rnd() % 70);
		break;
	case 8: /* the control block */
		st->ctl.req_seq = (uint32_t)rnd();
		st->ctl.ack_seq = (uint32_t)rnd();
		st->ctl.cmd = (uint32_t)rnd();
		st->ctl.result = (int32_t)rnd();
		st->ctl.commands = rnd();
		st->ctl.rejected = rnd();
		break;
	case 9: /* the whole block random, identity kept */
		for (size_t i = 24; i < sz; i += 8) {
			uint64_t v = rnd();
			memcpy((char *)st + i, &v, sz - i < 8 ? sz - i : 8);
		}
		break;
	default: /* identity right, the rest as corrupted as it is */
		memcpy(st, good, 24);
		break;
	}
}

static const char esc[] = "\033]0;owned\007\033[2J\033[1;31mx\tGOT\x7f\b\r";

static int child_main(int wfd, double secs, int escape)
{
	struct ksmp_state *st = fake_state_create(0);
	if (!st)
		return 1;
	ksmp_control_init(st);
	size_t len = 1 << 20;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	memset(buf, 0x5a, len);
	if (madvise(buf, len, MADV_MERGEABLE) != 0)
		return 1;
	fake_region_add(st, (uintptr_t)buf, len, 3, 0, escape == 1 ? esc : "safety_corrupt");
	if (escape == 1) {
		/* what a program (any user's) can put in its own block */
		snprintf(st->policy_name, sizeof(st->policy_name), "%s", esc);
		snprintf(st->policy_source, sizeof(st->policy_source), "/tmp/%s", esc);
		snprintf(st->exe, sizeof(st->exe), "/bin/%s", esc);
		int n = snprintf(st->policy_text, sizeof(st->policy_text), "mode regions\nmerge mmap # %s\n", esc);
		st->policy_text_len = (uint32_t)n;
		if (write(wfd, "r", 1) != 1)
			return 1;
		for (;;)
			pause();
	}
	if (escape == 3) {
		/* advised bytes that a signed 64-bit sum cannot hold */
		st->kind[0].bytes = 0x7000000000000000ull;
		st->kind[1].bytes = 0x7000000000000000ull;
		if (write(wfd, "r", 1) != 1)
			return 1;
		for (;;)
			pause();
	}
	if (escape == 2) {
		/* a signo that this process does not catch (an RT signal
		 * other than the agent's, left at SIG_DFL: terminate) */
		int other = st->signo == SIGRTMIN + 3 ? SIGRTMIN + 4 : SIGRTMIN + 3;
		st->signo = other;
		if (write(wfd, "r", 1) != 1)
			return 1;
		for (;;)
			pause();
	}
	if (!escape)
		catch_all(st->signo);
	struct ksmp_state *good = malloc(sizeof(*good));
	if (!good)
		return 1;
	memcpy(good, st, sizeof(*good));
	if (write(wfd, "r", 1) != 1)
		return 1;
	close(wfd);
	double end = sft_now() + secs + 2;
	while (sft_now() < end) {
		scribble(st, good);
		madvise(buf, len, MADV_MERGEABLE);	/* keep it listed (see ENOENT) */
		usleep((useconds_t)(rnd() % 2000));
	}
	return 0;
}

/* ------------------------------------------------------------ reader */

static long n_reads, n_writes, n_errors, n_attached, n_wrong, n_ctl, n_enoent;
#define WRONG(...) do { fprintf(stderr, "WRONG " __VA_ARGS__); n_wrong++; } while (0)
static int strict_ctl = 1;	/* a control byte in a value is wrong (else counted) */

/* Bytes below 0x20 (but the newline ending a line) and DEL: terminal
 * escapes and field separators that a process could slip into what an
 * operator reads. */
static int ctl_byte(const char *s, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f) {
			if (strict_ctl)
				WRONG("%s: control byte %#x at %zu: '%.60s'\n", what, c, i, s);
			else
				n_ctl++;
			return 1;
		}
	}
	return 0;
}
static const char *cur_what = "";


static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "WRONG hang: no answer from mergefs within the watchdog time\n";
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(3);
	_exit(3);
}

/* Read a file, but never hang on it: SIGALRM after 5 s fails the test. */
static ssize_t slurp(const char *path, char *buf, size_t sz)
{
	alarm(5);
	ssize_t r = sft_slurp(path, buf, sz);
	alarm(0);
	return r;
}

static int clean_text(const char *b, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] == 0) {
			WRONG("%s: NUL byte at %zu\n", what, i);
			return -1;
		}
	if (n && b[n - 1] != '\n') {
		WRONG("%s: does not end in a newline\n", what);
		return -1;
	}
	return 0;
}

static void check_stats(char *b, size_t n, int pid)
{
	if (clean_text(b, n, "stats") < 0)
		return;
	char want[32];
	snprintf(want, sizeof(want), "pid %d\n", pid);
	if (strncmp(b, want, strlen(want)))
		WRONG("stats: first line is not \"pid %d\"\n", pid);
	for (char *l = b; *l;) {
		char *nl = strchr(l, '\n');
		*nl = 0;
		char *sp = strchr(l, ' ');
		if (!sp || sp == l) {
			WRONG("stats: line without a value: '%.60s'\n", l);
			return;
		}
		for (char *c = l; c < sp; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
				WRONG("stats: bad key in '%.60s'\n", l);
				return;
			}
		if (ctl_byte(sp + 1, strlen(sp + 1), "stats") && strict_ctl)
			return;
		*sp = 0;
		if (!strcmp(l, "library")) {
			if (!strcmp(sp + 1, "1"))
				n_attached++;
			else if (strcmp(sp + 1, "0"))
				WRONG("stats: library '%s'\n", sp + 1);
		}
		l = nl + 1;
	}
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static void check_regions(char *b, size_t n)
{
	static const char *const kinds[] = { "heap", "arena", "chunk", "mmap", "file", "stack", "data",
		"kind6", "kind7", "unknown", NULL };
	static const char *const states[] = { "mergeable", "unmerged", "failed", "pruned",
		"unknown", NULL };
	if (clean_text(b, n, "regions") < 0 || (ctl_byte(b, n, "regions") && strict_ctl))
		return;
	static const char head[] = "# start-end kind rule caller bytes state\n";
	if (strncmp(b, head, sizeof(head) - 1)) {
		WRONG("regions: no header\n");
		return;
	}
	for (char *l = b + sizeof(head) - 1; *l;) {
		char *nl = strchr(l, '\n');
		*nl = 0;
		if (*l == '#') {
			l = nl + 1;
			continue;
		}
		/* fields from the left: range, kind, rule; from the right:
		 * state, bytes; the caller is what lies between */
		unsigned long long s, e, bytes;
		int rule, used = 0;
		char kind[32];
		if (sscanf(l, "%llx-%llx %31s %d %n", &s, &e, kind, &rule, &used) < 4 || !used) {
			WRONG("regions: bad line '%.80s'\n", l);
			return;
		}
		char *st = strrchr(l, ' ');
		*st++ = 0;
		char *by = strrchr(l, ' ');
		if (!by || by < l + used - 1) {
			WRONG("regions: no bytes field\n");
			return;
		}
		char *end;
		bytes = strtoull(by + 1, &end, 10);
		if (*end || end == by + 1 || e - s != bytes || !in_list(kind, kinds) ||
		    !in_list(st, states)) {
			WRONG("regions: inconsistent line '%.80s ... %s'\n", l, st);
			return;
		}
		l = nl + 1;
	}
}

static void check_policy(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] == 0) {
			WRONG("policy: NUL byte\n");
			return;
		}
	ctl_byte(b, n, "policy");
	const char *l2 = strchr(b, '\n');
	const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
	if (strncmp(b, "name ", 5) || !l2 || strncmp(l2 + 1, "source ", 7) || !l3 ||
	    (l3[1] != '\n' && strcmp(b + n - 1, "\n")))
		WRONG("policy: not \"name\", \"source\", blank line: '%.60s'\n", b);
}

int main(int argc, char **argv)
{
	int mode = argc != 6 ? 0 : !strcmp(argv[5], "escape") ? 1 : !strcmp(argv[5], "signo") ? 2 :
		   !strcmp(argv[5], "advsum") ? 3 : -1;
	if ((argc != 5 && argc != 6) || mode < 0) {
		fprintf(stderr, "usage: safety_corrupt MNT SECS SEED OUTDIR [escape|signo|advsum]\n");
		return 2;
	}
	const char *mnt = argv[1], *out = argv[4];
	double secs = atof(argv[2]);
	rng = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ull + 7;
	int p[2];
	if (pipe(p) != 0)
		return 1;
	pid_t child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(p[0]);
		rng ^= 0x1234567;
		_exit(child_main(p[1], secs, mode));
	}
	close(p[1]);
	char c;
	if (read(p[0], &c, 1) != 1) {
		fprintf(stderr, "child failed to start\n");
		return 1;
	}
	signal(SIGALRM, on_alarm);
	static char buf[1 << 20];
	char path[4096];
	static const char *const files[] = { "stats", "regions", "regions_ksm", "policy", "merge",
		"/stats", "/metrics" };
	double end = sft_now() + secs;
	long metrics_n = 0;
	if (mode == 3) {
		/* advsum: metrics of a block with huge advised bytes: read, no
		 * negative value, mergefs still there */
		snprintf(path, sizeof(path), "%s/metrics", mnt);
		ssize_t n = slurp(path, buf, sizeof(buf));
		n_reads++;
		char want[64];
		snprintf(want, sizeof(want), "pid=\"%d\"", (int)child);
		int seen = 0;
		for (char *l = n > 0 ? buf : NULL; l && *l;) {
			char *nl = strchr(l, '\n');
			if (nl)
				*nl = 0;
			if (!strncmp(l, "mergefs_process_advised_bytes{", 30) && strstr(l, want)) {
				seen = 1;
				const char *v = strrchr(l, ' ');
				printf("metric: %s\n", v ? v + 1 : "?");
				if (!v || v[1] == '-')
					WRONG("advised bytes read as negative: %s\n", l);
			}
			l = nl ? nl + 1 : NULL;
		}
		if (n < 0)
			WRONG("metrics: %s\n", strerror((int)-n));
		else if (!seen)
			WRONG("metrics: no advised bytes for %d\n", (int)child);
		snprintf(path, sizeof(path), "%s/stats", mnt);
		n = slurp(path, buf, sizeof(buf));
		if (n < 0)
			WRONG("mergefs gone after reading the metrics: %s\n", strerror((int)-n));
		end = 0;
	}
	if (mode == 2) {
		/* signo: a write to merge must not kill the target */
		snprintf(path, sizeof(path), "%s/%d/merge", mnt, (int)child);
		alarm(30);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		int e = fd < 0 ? errno : write(fd, "0", 1) < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		alarm(0);
		n_writes++;
		printf("write: %s\n", e ? strerror(e) : "OK");
		usleep(100000);
		end = 0;
	}
	if (mode == 1) {
		/* escape: each file once, no byte below 0x20 but newlines */
		strict_ctl = 1;
		static const char *const esc_files[] = { "stats", "regions", "policy", "regions_ksm" };
		for (size_t i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%d/%s", mnt, (int)child, esc_files[i]);
			ssize_t n = slurp(path, buf, sizeof(buf));
			n_reads++;
			if (n < 0) {
				WRONG("%s: %s\n", esc_files[i], strerror((int)-n));
				continue;
			}
			if (i == 0)
				check_stats(buf, (size_t)n, (int)child);
			else if (i == 1)
				check_regions(buf, (size_t)n);
			else if (i == 2)
				check_policy(buf, (size_t)n);
			else if (clean_text(buf, (size_t)n, esc_files[i]) == 0)
				ctl_byte(buf, (size_t)n, esc_files[i]);
		}
		end = 0;
	}
	while (sft_now() < end && n_wrong <= 20) {
		/* writes are rare: a scribbled control block makes them wait
		 * for the timeout */
		const char *f = rnd() % 100 == 0 ? "write" : files[rnd() % (sizeof(files) / sizeof(files[0]))];
		cur_what = f;
		if (!strcmp(f, "write")) {
			snprintf(path, sizeof(path), "%s/%d/merge", mnt, (int)child);
			double t = sft_now();
			alarm(30);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				if (write(fd, rnd() % 2 ? "1" : "0", 1) < 0)
					n_errors++;
				close(fd);
			}
			alarm(0);
			n_writes++;
			if (getenv("SAFETY_VERBOSE") && sft_now() - t > 0.2)
				fprintf(stderr, "slow: write %.2f s\n", sft_now() - t);
			if (sft_now() - t > 4)
				WRONG("a write took %.1f s\n", sft_now() - t);
			continue;
		}
		if (f[0] == '/')
			snprintf(path, sizeof(path), "%s%s", mnt, f);
		else
			snprintf(path, sizeof(path), "%s/%d/%s", mnt, (int)child, f);
		double t = sft_now();
		ssize_t n = slurp(path, buf, sizeof(buf));
		n_reads++;
		if (getenv("SAFETY_VERBOSE") && sft_now() - t > 0.2)
			fprintf(stderr, "slow: %s %.2f s\n", f, sft_now() - t);
		if (n < 0) {
			n_errors++;
			/* ENOENT: a command made the agent unmerge through the
			 * scribbled region table, the buffer included, so the
			 * kernel no longer shows KSM use and the block is not
			 * trusted: then the process is rightly not listed */
			if (n == -ENOENT && f[0] != '/') {
				n_enoent++;
				if (getenv("SAFETY_VERBOSE") && n_enoent < 5) {
					char kp[64], kb[512];
					snprintf(kp, sizeof(kp), "/proc/%d/ksm_stat", (int)child);
					slurp(kp, kb, sizeof(kb));
					fprintf(stderr, "ENOENT %s; %s\n", f, kb);
				}
			}
			else if (n != -EIO)
				WRONG("%s: %s\n", f, strerror((int)-n));
			continue;
		}
		if (!strcmp(f, "stats"))
			check_stats(buf, (size_t)n, (int)child);
		else if (!strcmp(f, "regions"))
			check_regions(buf, (size_t)n);
		else if (!strcmp(f, "policy"))
			check_policy(buf, (size_t)n);
		else if (!strcmp(f, "merge")) {
			if (strcmp(buf, "0\n") && strcmp(buf, "1\n"))
				WRONG("merge reads '%.20s'\n", buf);
		} else if (!strcmp(f, "regions_ksm") || !strcmp(f, "/stats")) {
			if (clean_text(buf, (size_t)n, f) == 0)
				ctl_byte(buf, (size_t)n, f);
		} else if (!strcmp(f, "/metrics")) {
			snprintf(path, sizeof(path), "%s/metrics.%ld", out, metrics_n++ % 20);
			FILE *fp = fopen(path, "w");
			if (!fp || fwrite(buf, 1, (size_t)n, fp) != (size_t)n)
				WRONG("cannot save metrics\n");
			if (fp)
				fclose(fp);
		}
	}
	int status;
	if (waitpid(child, &status, WNOHANG) == child) {
		/* the child (the fake library and the real control agent) must
		 * outlive its own scribbling */
		WRONG("the scribbling child died early: %s %d\n",
		      WIFSIGNALED(status) ? "signal" : "exit",
		      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	} else {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	printf("reads %ld writes %ld errors %ld attached %ld wrong %ld control-bytes %ld enoent %ld\n",
	       n_reads, n_writes, n_errors, n_attached, n_wrong, n_ctl, n_enoent);
	return n_wrong ? 1 : 0;
}
