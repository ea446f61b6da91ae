/*
 * mergefs_fake.c - see mergefs_fake.h. Test code only: never linked into
 * the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "mergefs_fake.h"
#include "engine.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif

static struct ksmp_state *fake_st;
static int fake_process;	/* the engine, kept apart from the block */
int fake_fail_errno;
int fake_slow_ms;
int fake_block = FAKE_BLOCK_SEALED;

static uint64_t self_starttime(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p += 2;	/* field 3 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

struct ksmp_state *fake_state_create(int process)
{
	size_t sz = sizeof(struct ksmp_state);
	unsigned flags = MFD_CLOEXEC;
	if (fake_block == FAKE_BLOCK_SEALED)
		flags |= MFD_ALLOW_SEALING;
	if (fake_block == FAKE_BLOCK_HUGETLB) {
		flags |= MFD_HUGETLB;
		sz = (sz + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
	}
	int fd = memfd_create(KSMP_STATE_MEMFD_NAME, flags);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)sz) < 0) {
		close(fd);
		return NULL;
	}
	/* as the library does: the size can never change again */
	if (fake_block == FAKE_BLOCK_SEALED)
		fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	struct ksmp_state *st = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED)
		return NULL;
	madvise(st, sz, MADV_DONTFORK);
	st->magic = KSMP_STATE_MAGIC;
	st->version = KSMP_STATE_VERSION;
	st->size = (uint32_t)sizeof(struct ksmp_state);
	st->pid = getpid();
	st->starttime = self_starttime();
	st->uid = getuid();
	st->engine = process ? KSMP_ENGINE_PROCESS : KSMP_ENGINE_REGIONS;
	fake_process = process;
	st->mode = process ? 1 : 2;
	st->merge_state = 1;
	snprintf(st->policy_name, sizeof(st->policy_name), "mergefs-test");
	snprintf(st->policy_source, sizeof(st->policy_source), "tests/progs/mergefs_fake.c");
	ssize_t n = readlink("/proc/self/exe", st->exe, sizeof(st->exe) - 1);
	if (n > 0)
		st->exe[n] = 0;
	const char *text = process ? "mode process\n" : "mode regions\nmerge mmap\n";
	st->policy_text_len = (uint32_t)strlen(text);
	memcpy(st->policy_text, text, strlen(text));
	if (process && prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) != 0)
		st->merge_state = 0;
	fake_st = st;
	return st;
}

static void slot_set_state(struct ksmp_region *r, int state)
{
	__atomic_fetch_add(&r->seq, 1, __ATOMIC_ACQ_REL);
	r->state = (uint8_t)state;
	__atomic_fetch_add(&r->seq, 1, __ATOMIC_RELEASE);
}

void fake_region_add(struct ksmp_state *st, uint64_t start, uint64_t len,
		     int kind, int rule, const char *caller)
{
	uint32_t i = st->nregions_hint;
	if (i >= KSMP_STATE_REGIONS)
		return;
	struct ksmp_region *r = &st->regions[i];
	__atomic_fetch_add(&r->seq, 1, __ATOMIC_ACQ_REL);
	r->state = KSMP_REGION_MERGEABLE;
	r->kind = (uint8_t)kind;
	r->rule = (int16_t)rule;
	r->start = start;
	r->len = len;
	snprintf(r->caller, sizeof(r->caller), "%s", caller ? caller : "");
	__atomic_fetch_add(&r->seq, 1, __ATOMIC_RELEASE);
	st->nregions_hint = i + 1;
	if (kind >= 0 && kind < KSMP_STATE_KINDS) {
		st->kind[kind].regions++;
		st->kind[kind].bytes += len;
	}
	if (rule >= 0 && rule < KSMP_STATE_RULES) {
		st->rule[rule].regions++;
		st->rule[rule].bytes += len;
	}
	st->madvise_calls++;
}

static int all(int advice, int newstate)
{
	struct ksmp_state *st = fake_st;
	if (!st)
		return -ENOSYS;
	if (fake_fail_errno)
		return -fake_fail_errno;
	if (fake_slow_ms > 0 && advice == MADV_UNMERGEABLE) {
		struct timespec ts = { fake_slow_ms / 1000, (long)(fake_slow_ms % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	/* the engine from our own memory, not the block: a scribbled block
	 * (safety_corrupt) must not turn this into prctl(PR_SET_MEMORY_MERGE,
	 * 0), which in a sanitizer build walks terabytes of shadow for minutes
	 * with the memory map locked (mergefs's reads of it then wait) */
	if (fake_process) {
		if (prctl(PR_SET_MEMORY_MERGE, advice == MADV_MERGEABLE, 0, 0, 0) != 0)
			return -errno;
	} else {
		/* the block may be scribbled (safety_corrupt): clamp, as the
		 * library does */
		uint32_t n = st->nregions_hint;
		if (n > KSMP_STATE_REGIONS)
			n = KSMP_STATE_REGIONS;
		for (uint32_t i = 0; i < n; i++) {
			struct ksmp_region *r = &st->regions[i];
			if (r->state != KSMP_REGION_MERGEABLE && r->state != KSMP_REGION_UNMERGED)
				continue;
			if (madvise((void *)(uintptr_t)r->start, r->len, advice) != 0) {
				int e = errno;
				st->madvise_errors[e == ENOMEM ? KSMP_ERR_ENOMEM :
						   e == EAGAIN ? KSMP_ERR_EAGAIN :
						   e == EINVAL ? KSMP_ERR_EINVAL : KSMP_ERR_OTHER]++;
				return -e;
			}
			st->madvise_calls++;
			slot_set_state(r, newstate);
		}
	}
	st->merge_state = advice == MADV_MERGEABLE;
	if (advice == MADV_MERGEABLE)
		__atomic_fetch_and(&st->flags, ~KSMP_STF_UNMERGED, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or(&st->flags, KSMP_STF_UNMERGED, __ATOMIC_RELAXED);
	return 0;
}

int ksmp_engine_unmerge_all(void)
{
	return all(MADV_UNMERGEABLE, KSMP_REGION_UNMERGED);
}

int ksmp_engine_merge_all(void)
{
	return all(MADV_MERGEABLE, KSMP_REGION_MERGEABLE);
}

int ksmp_engine_range(uint64_t addr, uint64_t len, int advice)
{
	long pg = sysconf(_SC_PAGESIZE);
	if (!fake_st)
		return -ENOSYS;
	if (len == 0 || addr % (uint64_t)pg || len % (uint64_t)pg || addr + len < addr)
		return -EINVAL;
	if (madvise((void *)(uintptr_t)addr, len, advice) != 0)
		return -errno;
	fake_st->madvise_calls++;
	return 0;
}

int ksmp_engine_auto(uint64_t addr, uint64_t len, int prune)
{
	(void)addr;
	(void)len;
	(void)prune;
	return -EOPNOTSUPP;	/* the stand-in has no mode auto */
}

int ksmp_engine_pages(uint64_t addr, uint64_t len, int advice)
{
	long pg = sysconf(_SC_PAGESIZE);
	if (!fake_st)
		return -ENOSYS;
	if (len == 0 || addr % (uint64_t)pg || addr + len < addr)
		return -EINVAL;
	if (madvise((void *)(uintptr_t)addr, len, advice) != 0)
		return -errno;
	fake_st->madvise_calls++;
	return 0;
}
