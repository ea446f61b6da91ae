/*
 * ksm_knobs.c - the one table of ksmd's sysfs files (/sys/kernel/mm/ksm):
 * the knobs an administrator sets, with type, range, unit and meaning,
 * then the counters. `ksmpreload ksm` shows and validates from it and
 * mergefs serves its knobs (in this order) under /MNT/ksm/.
 */
#include <limits.h>
#include <string.h>

#include "ksmp_util.h"

const struct ksmp_knob ksmp_knobs[] = {
	{ "run", KSMP_KNOB_RUN, 0, 1, "",
	  "0 ksmd stopped (merged pages stay merged), 1 running, 2 stopped and all unmerged" },
	{ "pages_to_scan", KSMP_KNOB_UINT, 0, UINT_MAX, "pages",
	  "pages scanned per wake-up" },
	{ "sleep_millisecs", KSMP_KNOB_UINT, 0, UINT_MAX, "ms",
	  "pause between two wake-ups" },
	{ "max_page_sharing", KSMP_KNOB_UINT, 2, INT_MAX, "sharers",
	  "most page-table entries sharing one KSM page (only with no KSM pages)" },
	{ "merge_across_nodes", KSMP_KNOB_BOOL, 0, 1, "",
	  "1: merge pages of different NUMA nodes (only with no KSM pages)" },
	{ "use_zero_pages", KSMP_KNOB_BOOL, 0, 1, "",
	  "1: merge empty pages with the kernel's zero page" },
	{ "smart_scan", KSMP_KNOB_BOOL, 0, 1, "",
	  "1: skip pages that did not merge in recent scans" },
	{ "stable_node_chains_prune_millisecs", KSMP_KNOB_UINT, 0, UINT_MAX, "ms",
	  "how often stale stable-node chains are pruned" },
	{ "advisor_mode", KSMP_KNOB_ENUM, 0, 0, "",
	  "none, or scan-time: the kernel tunes pages_to_scan itself" },
	{ "advisor_max_cpu", KSMP_KNOB_UINT, 1, 100, "%",
	  "scan-time advisor: most CPU ksmd may use" },
	{ "advisor_min_pages_to_scan", KSMP_KNOB_UINT, 1, ULONG_MAX, "pages",
	  "scan-time advisor: lowest pages_to_scan" },
	{ "advisor_max_pages_to_scan", KSMP_KNOB_UINT, 1, ULONG_MAX, "pages",
	  "scan-time advisor: highest pages_to_scan" },
	{ "advisor_target_scan_time", KSMP_KNOB_UINT, 1, ULONG_MAX, "s",
	  "scan-time advisor: wanted time for one full scan" },
	{ "pages_shared", KSMP_KNOB_COUNTER, 0, 0, "pages",
	  "KSM pages in use (one per distinct content)" },
	{ "pages_sharing", KSMP_KNOB_COUNTER, 0, 0, "pages",
	  "further mappings of them: about the pages saved" },
	{ "pages_unshared", KSMP_KNOB_COUNTER, 0, 0, "pages",
	  "unique pages scanned again and again" },
	{ "pages_volatile", KSMP_KNOB_COUNTER, 0, 0, "pages",
	  "pages changing too fast to be merged" },
	{ "pages_scanned", KSMP_KNOB_COUNTER, 0, 0, "pages", "pages scanned since boot" },
	{ "pages_skipped", KSMP_KNOB_COUNTER, 0, 0, "pages", "pages smart_scan skipped" },
	{ "full_scans", KSMP_KNOB_COUNTER, 0, 0, "", "full scans of all mergeable memory" },
	{ "general_profit", KSMP_KNOB_COUNTER, 0, 0, "bytes",
	  "memory saved, minus ksmd's own bookkeeping" },
};
const size_t ksmp_nknobs = sizeof ksmp_knobs / sizeof ksmp_knobs[0];

const struct ksmp_knob *ksmp_knob_find(const char *name, size_t n)
{
	for (size_t i = 0; i < ksmp_nknobs; i++)
		if (strlen(ksmp_knobs[i].name) == n && !memcmp(ksmp_knobs[i].name, name, n))
			return &ksmp_knobs[i];
	return NULL;
}
