/*
 * names.c - every name table of the project (region kinds, modes,
 * engines, log levels), defined once here, and sizes with K/M/G suffixes
 * as the policy language writes them. The ABI's array sizes
 * (ksmp_state.h) are tied to the policy's counts by the asserts below.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ksmp_state.h"
#include "policy-int.h"

/* The state block (ksmp_state.h) has a counter per kind and per rule. */
_Static_assert(KSMP_STATE_KINDS >= KSMP_KIND_COUNT,
	       "ksmp_state.h: KSMP_STATE_KINDS below the policy's kind count");
_Static_assert(KSMP_STATE_RULES == KSMP_POLICY_MAX_RULES,
	       "ksmp_state.h: KSMP_STATE_RULES differs from KSMP_POLICY_MAX_RULES");
_Static_assert(sizeof(((struct ksmp_region *)0)->caller) == KSMP_STATE_CALLER_MAX,
	       "ksmp_state.h: caller field size");

const char *const ksmp_mode_names[KSMP_MODE_COUNT] = {
	[KSMP_MODE_OFF] = "off",
	[KSMP_MODE_PROCESS] = "process",
	[KSMP_MODE_REGIONS] = "regions",
	[KSMP_MODE_AUTO] = "auto",
};
const char *const ksmp_kind_names[KSMP_KIND_COUNT] = {
	[KSMP_KIND_HEAP] = "heap",
	[KSMP_KIND_ARENA] = "arena",
	[KSMP_KIND_CHUNK] = "chunk",
	[KSMP_KIND_MMAP] = "mmap",
	[KSMP_KIND_FILE] = "file",
	[KSMP_KIND_STACK] = "stack",
	[KSMP_KIND_DATA] = "data",
};
const char *const ksmp_engine_names[] = {
	[KSMP_ENGINE_OFF] = "off",
	[KSMP_ENGINE_PROCESS] = "process",
	[KSMP_ENGINE_REGIONS] = "regions",
};
const char *const ksmp_log_names[KSMP_LOG_COUNT] = {
	[KSMP_LOG_NONE] = "none",
	[KSMP_LOG_ERROR] = "error",
	[KSMP_LOG_INFO] = "info",
	[KSMP_LOG_DEBUG] = "debug",
};

const char *ksmp_mode_name(enum ksmp_mode m)
{
	return (unsigned)m < sizeof ksmp_mode_names / sizeof *ksmp_mode_names ?
		ksmp_mode_names[m] : "unknown";
}

const char *ksmp_kind_name(enum ksmp_kind k)
{
	return (unsigned)k < KSMP_KIND_COUNT ? ksmp_kind_names[k] : "unknown";
}

const char *ksmp_engine_name(unsigned e)
{
	return e < sizeof ksmp_engine_names / sizeof *ksmp_engine_names ?
		ksmp_engine_names[e] : "unknown";
}

const char *ksmp_loglevel_name(enum ksmp_loglevel l)
{
	return (unsigned)l < sizeof ksmp_log_names / sizeof *ksmp_log_names ?
		ksmp_log_names[l] : "unknown";
}

const char *ksmp_errno_text(int err)
{
	switch (err) {
	case ENOENT: return "No such file or directory";
	case EACCES: return "Permission denied";
	case EPERM: return "Operation not permitted";
	case EISDIR: return "Is a directory";
	case ENOTDIR: return "Not a directory";
	case ELOOP: return "Too many levels of symbolic links";
	case ENAMETOOLONG: return "File name too long";
	case EFBIG: return "File too large";
	case EIO: return "Input/output error";
	case EMFILE: return "Too many open files";
	case ENFILE: return "Too many open files in system";
	case ENOMEM: return "Cannot allocate memory";
	case ENXIO: return "No such device or address";
	case EINVAL: return "Invalid argument";
	case ENODEV: return "No such device";
	case ENOTSUP: return "Operation not supported";
	case EROFS: return "Read-only file system";
	default: return "Unknown error";
	}
}

void ksmp_diag_errno(ksmp_diag_fn diag, void *ctx, const char *file,
		     const char *what, int err)
{
	char msg[160];
	struct ksmp_sb sb;

	if (!diag)
		return;
	ksmp_sb_init(&sb, msg, sizeof msg);
	ksmp_sb_puts(&sb, what);
	if (err == EFBIG) {
		ksmp_sb_puts(&sb, ": file too big (more than ");
		ksmp_sb_putu(&sb, KSMP_POLICY_MAX_FILE);
		ksmp_sb_puts(&sb, " bytes)");
	} else if (err) {
		ksmp_sb_puts(&sb, ": ");
		ksmp_sb_puts(&sb, ksmp_errno_text(err));
	}
	diag(ctx, file, 0, msg);
}

/* ---------------------------------------------------------------- sizes */

int ksmp_parse_size(const char *s, size_t len, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;

	if (!s || len == 0)
		return -EINVAL;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		i++;
	}
	if (i == 0)
		return -EINVAL;
	unsigned shift = 0;
	if (i < len) {
		switch (s[i]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: return -EINVAL;
		}
		i++;
		if (i < len) {
			/* KiB, MiB, GiB */
			if (len - i != 2 || s[i] != 'i' || s[i + 1] != 'B')
				return -EINVAL;
			i += 2;
		}
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void ksmp_sb_putsize(struct ksmp_sb *sb, uint64_t v)
{
	static const char suffix[] = "GMK";
	for (int i = 0; i < 3; i++) {
		unsigned shift = (unsigned)(30 - 10 * i);
		if (v && (v & ((1ull << shift) - 1)) == 0) {
			ksmp_sb_putu(sb, v >> shift);
			ksmp_sb_putc(sb, suffix[i]);
			return;
		}
	}
	ksmp_sb_putu(sb, v);
}

