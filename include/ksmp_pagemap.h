/*
 * ksmp_pagemap.h - /proc/PID/pagemap entry bits, /proc/kpageflags' KSM
 * bit and the PAGEMAP_SCAN ioctl (Linux >= 6.7; declared here because
 * older headers lack it). See the kernel's
 * Documentation/admin-guide/mm/pagemap.rst.
 */
#ifndef KSMP_PAGEMAP_H
#define KSMP_PAGEMAP_H

#include <stdint.h>
#include <sys/ioctl.h>

#define PM_PFN_MASK	((UINT64_C(1) << 55) - 1)
#define PM_EXCLUSIVE	(UINT64_C(1) << 56)
#define PM_FILE		(UINT64_C(1) << 61)
#define PM_SWAP		(UINT64_C(1) << 62)
#define PM_PRESENT	(UINT64_C(1) << 63)

/* /proc/kpageflags: one 64-bit word per PFN (root only). */
#define KPF_KSM_BIT	21

struct ksmp_page_region {
	uint64_t start, end, categories;
};
struct ksmp_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define KSMP_PAGEMAP_SCAN _IOWR('f', 16, struct ksmp_pm_scan_arg)
#define KSMP_PAGE_IS_PRESENT (1u << 3)
#define KSMP_PAGE_IS_SWAPPED (1u << 4)

#endif
