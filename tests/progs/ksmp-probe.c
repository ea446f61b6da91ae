/*
 * ksmp-probe - read what the kernel and libksmpreload.so say about a
 * process, for shell tests and benchmarks.
 *
 *   ksmp-probe mg PID ADDR|NAME   "mg", "nomg" or "none": VmFlags of the
 *                                 mapping holding ADDR (hex) or the first
 *                                 one named NAME (e.g. [heap])
 *   ksmp-probe ksmkb PID ADDR|NAME  the KSM: kB of that mapping
 *   ksmp-probe mgcount PID        number of mappings with mg
 *   ksmp-probe maps PID           number of mappings
 *   ksmp-probe stat PID KEY       a /proc/PID/ksm_stat field
 *   ksmp-probe plateau TIMEOUT PID...  wait until the sum of
 *                                 ksm_merging_pages stops growing; prints
 *                                 "PID PAGES" per process and "sum N"
 *   ksmp-probe state PID          the library's published state block:
 *                                 "engine N mode N flags 0xN policy NAME"
 *   ksmp-probe records PID        the library's region table, one record a
 *                                 line: "START LEN KIND STATE CALLER"
 *   ksmp-probe identity PID       "ok" when the block passes the readers'
 *                                 identity check (pid, start time)
 *   ksmp-probe policy PID         the policy text the block publishes
 *   ksmp-probe ksmd-cpu           ksmd's utime+stime in clock ticks
 *   ksmp-probe hz                 clock ticks per second
 * Exit status 0, or 1 when the process or item cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ksmtest.h"
#include "ksmp_state.h"
#include "ksmp_state_read.h"
#include "policy.h"

/* Find the smaps entry for addr (or name); fills flags and KSM kB. */
static int smaps_find(int pid, const char *what, char *flags, size_t flen,
		      long *ksm_kb)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int byname = what[0] == '[' || what[0] == '/';
	uintptr_t addr = byname ? 0 : (uintptr_t)strtoull(what, NULL, 16);
	int in = 0, found = 0;
	*ksm_kb = -1;
	flags[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char name[512] = "";
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %511s", &s, &e, name) >= 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (found)
				break;
			in = byname ? strcmp(name, what) == 0 : (addr >= s && addr < e);
			continue;
		}
		if (!in)
			continue;
		found = 1;
		if (!strncmp(line, "KSM:", 4))
			*ksm_kb = strtol(line + 4, NULL, 10);
		else if (!strncmp(line, "VmFlags:", 8))
			snprintf(flags, flen, "%s", line + 8);
	}
	fclose(f);
	return found ? 0 : -1;
}

/* A ksm_stat field; also "key: yes|no" lines (ksm_merge_any, ksm_mergeable)
 * as 1/0, which ksmt_stat() does not parse. */
static long stat_field(int pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) != 0 || (line[kl] != ' ' && line[kl] != ':'))
			continue;
		char *p = line + kl + 1;
		while (*p == ' ')
			p++;
		v = !strncmp(p, "yes", 3) ? 1 : !strncmp(p, "no", 2) ? 0 : strtol(p, NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

static int has_flag(const char *flags, const char *fl)
{
	char buf[1100];
	snprintf(buf, sizeof(buf), " %s", flags);
	char *p = buf;
	size_t n = strlen(fl);
	while ((p = strstr(p, fl))) {
		if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == 0))
			return 1;
		p += n;
	}
	return 0;
}

static int count_maps(int pid, int mg_only)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, mg_only ? "smaps" : "maps");
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!mg_only)
			n++;
		else if (!strncmp(line, "VmFlags:", 8) && has_flag(line + 8, "mg"))
			n++;
	}
	fclose(f);
	return n;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 if unknown. */
static unsigned long long proc_starttime(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long long v = 0;
	for (int field = 2; p && *p; p++)
		if (*p == ' ' && ++field == 22) {
			v = strtoull(p + 1, NULL, 10);
			break;
		}
	return v;
}

/* The library's state block of pid, mapped read-only (its length in
 * *lenp), or NULL after printing why not. */
static const struct ksmp_state *map_state(int pid, size_t *lenp)
{
	char path[128], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	unsigned long long s = 0, e = 0;
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "/memfd:" KSMP_STATE_MEMFD_NAME) &&
		    sscanf(line, "%llx-%llx", &s, &e) == 2) {
			found = 1;
			break;
		}
	}
	fclose(f);
	if (!found) {
		printf("nostate\n");
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid, s, e);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("nostate\n");
		return NULL;
	}
	size_t len = (size_t)(e - s);
	const struct ksmp_state *st = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED || len < sizeof(*st) || st->magic != KSMP_STATE_MAGIC) {
		printf("badstate\n");
		return NULL;
	}
	*lenp = len;
	return st;
}

/* records: one line per record of the region table,
 * "START LEN KIND STATE CALLER" (hex start, kind name, state number). */
static int print_records(int pid)
{
	size_t len;
	const struct ksmp_state *st = map_state(pid, &len);
	if (!st)
		return 1;
	uint32_t n = ksmp_state_slots(st);
	for (uint32_t i = 0; i < n; i++) {
		struct ksmp_region r;
		if (ksmp_region_read(&st->regions[i], &r) == 0)
			printf("%" PRIx64 " %" PRIu64 " %s %u %s\n", r.start, r.len,
			       ksmp_kind_name((enum ksmp_kind)r.kind), r.state,
			       r.caller[0] ? r.caller : "-");
	}
	munmap((void *)st, len);
	return 0;
}

/* identity: print "ok" when the block passes the readers' identity check
 * against /proc/PID/stat, else both start times; else the summary. */
static int print_state(int pid, int identity)
{
	size_t len;
	const struct ksmp_state *st = map_state(pid, &len);
	if (!st)
		return 1;
	if (identity) {
		unsigned long long t = proc_starttime(pid);
		int good = ksmp_state_identity_ok(st, len, pid, 0, t);
		if (good)
			printf("ok\n");
		else
			printf("bad block %llu proc %llu\n",
			       (unsigned long long)st->starttime, t);
		munmap((void *)st, len);
		return !good;
	}
	uint64_t bytes = 0;
	for (int k = 0; k < KSMP_STATE_KINDS; k++)
		bytes += st->kind[k].bytes;
	printf("engine %u mode %u flags 0x%x pid %d policy %.64s bytes %" PRIu64
	       " source %.256s\n", st->engine, st->mode, st->flags, st->pid,
	       st->policy_name, bytes, st->policy_source);
	munmap((void *)st, len);
	return 0;
}

static int print_policy(int pid)
{
	size_t len;
	const struct ksmp_state *st = map_state(pid, &len);
	if (!st)
		return 1;
	uint32_t n = st->policy_text_len;
	if (n >= KSMP_STATE_POLICY_TEXT)
		n = KSMP_STATE_POLICY_TEXT - 1;
	fwrite(st->policy_text, 1, n, stdout);
	munmap((void *)st, len);
	return 0;
}

static long ksmd_cpu(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long ticks = -1;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], buf[1024];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (!strstr(buf, "(ksmd)"))
			continue;
		char *p = strrchr(buf, ')');
		unsigned long ut = 0, stt = 0;
		/* after ") ": state(3) ... utime is field 14, stime 15 */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &stt) == 2)
			ticks = (long)(ut + stt);
		break;
	}
	closedir(d);
	return ticks;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	const char *cmd = argv[1];
	if ((!strcmp(cmd, "mg") || !strcmp(cmd, "ksmkb")) && argc == 4) {
		char flags[1024];
		long kb;
		if (smaps_find(atoi(argv[2]), argv[3], flags, sizeof(flags), &kb) != 0) {
			printf("none\n");
			return 1;
		}
		if (cmd[0] == 'm')
			printf("%s\n", has_flag(flags, "mg") ? "mg" : "nomg");
		else
			printf("%ld\n", kb);
		return 0;
	}
	if ((!strcmp(cmd, "maps") || !strcmp(cmd, "mgcount")) && argc == 3) {
		int n = count_maps(atoi(argv[2]), cmd[1] == 'g');
		printf("%d\n", n);
		return n < 0;
	}
	if (!strcmp(cmd, "stat") && argc == 4) {
		long v = stat_field(atoi(argv[2]), argv[3]);
		printf("%ld\n", v);
		return v < 0;
	}
	if (!strcmp(cmd, "plateau") && argc >= 4) {
		int n = argc - 3;
		pid_t pids[256];
		if (n > 256)
			n = 256;
		for (int i = 0; i < n; i++)
			pids[i] = atoi(argv[3 + i]);
		long sum = ksmt_wait_plateau(pids, n, atof(argv[2]));
		for (int i = 0; i < n; i++)
			printf("%d %ld\n", (int)pids[i], ksmt_stat(pids[i], "ksm_merging_pages"));
		printf("sum %ld\n", sum);
		return 0;
	}
	if (!strcmp(cmd, "records") && argc == 3)
		return print_records(atoi(argv[2]));
	if (!strcmp(cmd, "state") && argc == 3)
		return print_state(atoi(argv[2]), 0);
	if (!strcmp(cmd, "identity") && argc == 3)
		return print_state(atoi(argv[2]), 1);
	if (!strcmp(cmd, "policy") && argc == 3)
		return print_policy(atoi(argv[2]));
	if (!strcmp(cmd, "ksmd-cpu")) {
		long t = ksmd_cpu();
		printf("%ld\n", t);
		return t < 0;
	}
	if (!strcmp(cmd, "hz")) {
		printf("%ld\n", sysconf(_SC_CLK_TCK));
		return 0;
	}
usage:
	fprintf(stderr, "usage: ksmp-probe mg|ksmkb|mgcount|maps|stat|plateau|state|records|identity|policy|ksmd-cpu ...\n");
	return 2;
}
