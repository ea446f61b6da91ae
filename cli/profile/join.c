/* join.c - what the library advised (its state block's region table)
 * joined with what KSM merged (pagemap + kpageflags as root, else smaps KSM:
 * shared out by length). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include "ksmp_pagemap.h"
#include "ksmp_state.h"
#include "ksmp_state_read.h"
#include "ksmp_util.h"
#include "profile.h"

/* A copy of the process's state block (read through /proc/PID/mem), once
 * it passed the identity check; *addr gets its address there. */
static struct ksmp_state *read_state(pid_t pid, const struct vmas *maps, int memfd,
				     uint64_t *addr)
{
	static const char name[] = "/memfd:" KSMP_STATE_MEMFD_NAME " (deleted)";
	uint64_t start;
	if (memfd < 0 || ksmp_proc_starttime(pid, &start) < 0)
		return NULL;
	/* memfd mappings show as "/memfd:NAME (deleted)" paths */
	for (size_t i = 0; i < maps->n; i++) {
		const struct vma *v = &maps->v[i];
		if (!v->path || strcmp(v->path, name) ||
		    v->hi - v->lo < sizeof(struct ksmp_state))
			continue;
		struct ksmp_state *st = malloc(sizeof(*st));
		if (!st)
			return NULL;
		ssize_t n = pread(memfd, st, sizeof(*st), (off_t)v->lo);
		if (n == (ssize_t)sizeof(*st) &&
		    ksmp_state_identity_ok(st, (size_t)(v->hi - v->lo), pid, 0, start)) {
			*addr = v->lo;
			return st;
		}
		free(st);
	}
	return NULL;
}

/* Slot i of the copy, consistent: a slot that was being written when the
 * block was copied is read again from the process (a few tries). */
static int read_slot(struct ksmp_state *st, uint32_t i, int memfd, uint64_t addr,
		     struct ksmp_region *out)
{
	struct ksmp_region *r = &st->regions[i];
	off_t off = (off_t)(addr + offsetof(struct ksmp_state, regions) +
			    (uint64_t)i * sizeof(*r));
	for (int tries = 0; tries < 4; tries++) {
		if (ksmp_region_read(r, out) == 0)
			return 0;
		if (!(r->seq & 1) ||
		    pread(memfd, r, sizeof(*r), off) != (ssize_t)sizeof(*r))
			return -1;	/* free, or unreadable */
	}
	return -1;
}

/* Exact figures for [lo, hi): bytes present and bytes on KSM pages, from
 * pagemap PFNs and kpageflags (root only: otherwise PFNs read as 0 and
 * this returns -EPERM, and the caller shares out smaps figures). */
static int exact_pages(int pm, int kpf, uint64_t lo, uint64_t hi,
		       uint64_t *merged, uint64_t *rss)
{
	if (pm < 0 || kpf < 0)
		return -EPERM;
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t ent[512];
	*merged = *rss = 0;
	for (uint64_t a = lo; a < hi;) {
		size_t cnt = (size_t)((hi - a) / (uint64_t)psz);
		if (cnt > 512)
			cnt = 512;
		if (!cnt)
			break;
		ssize_t n = pread(pm, ent, cnt * 8, (off_t)(a / (uint64_t)psz * 8));
		if (n <= 0)
			return -EIO;
		cnt = (size_t)n / 8;
		for (size_t i = 0; i < cnt; i++) {
			if (!(ent[i] & PM_PRESENT))
				continue;
			uint64_t pfn = ent[i] & PM_PFN_MASK, fl;
			if (!pfn)
				return -EPERM;
			*rss += (uint64_t)psz;
			if (pread(kpf, &fl, 8, (off_t)(pfn * 8)) == 8 &&
			    (fl >> KPF_KSM_BIT) & 1)
				*merged += (uint64_t)psz;
		}
		a += cnt * (uint64_t)psz;
	}
	return 0;
}

void prof_join_instance(struct inst *ins, struct origins *os)
{
	struct vmas sm = { 0 };
	if (prof_read_vmas(ins->pid, "smaps", &sm) < 0)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)ins->pid);
	int memfd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t addr = 0;
	struct ksmp_state *st = read_state(ins->pid, &sm, memfd, &addr);
	if (!st) {
		if (memfd >= 0)
			close(memfd);
		prof_vmas_free(&sm);
		return;
	}
	ins->merging = prof_ksm_stat(ins->pid, "ksm_merging_pages");
	ins->rmap = prof_ksm_stat(ins->pid, "ksm_rmap_items");
	ins->profit = prof_ksm_stat(ins->pid, "ksm_process_profit");
	ins->read_ok = true;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)ins->pid);
	int pm = open(path, O_RDONLY | O_CLOEXEC);
	int kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	uint32_t nr = ksmp_state_slots(st);
	for (uint32_t i = 0; i < nr; i++) {
		struct ksmp_region rr;
		if (read_slot(st, i, memfd, addr, &rr) < 0)
			continue;
		const struct ksmp_region *r = &rr;
		if (r->state != KSMP_REGION_MERGEABLE || !r->len)
			continue;
		char obj[KSMP_STATE_CALLER_MAX], site[224];
		memcpy(obj, r->caller, sizeof(obj));
		obj[sizeof(obj) - 1] = '\0';
		prof_resolve_pc(&sm, r->caller_pc, obj, sizeof(obj), site, sizeof(site));
		struct origin *o = prof_origin_get(os, r->kind, obj, site);
		if (!o)
			continue;
		uint64_t lo = r->start, hi = r->start + r->len;
		double merged = 0, rss = 0;
		uint64_t em, er;
		if (exact_pages(pm, kpf, lo, hi, &em, &er) == 0) {
			merged = (double)em;
			rss = (double)er;
		} else {
			for (size_t k = 0; k < sm.n; k++) {
				const struct vma *v = &sm.v[k];
				if (v->hi <= lo || v->lo >= hi)
					continue;
				uint64_t a = v->lo > lo ? v->lo : lo;
				uint64_t b = v->hi < hi ? v->hi : hi;
				double share = (double)(b - a) / (double)(v->hi - v->lo);
				merged += share * (double)v->ksm_kb * 1024.0;
				rss += share * (double)v->rss_kb * 1024.0;
			}
			ins->estimated = true;
		}
		o->advised += r->len;
		o->merged += (uint64_t)merged;
		o->rss += (uint64_t)rss;
		o->regions++;
		ins->advised += r->len;
	}
	if (pm >= 0)
		close(pm);
	if (kpf >= 0)
		close(kpf);
	close(memfd);
	free(st);
	prof_vmas_free(&sm);
}
