/*
 * ksmp_state.h - the published state and control ABI between
 * libksmpreload.so (writer, inside each program) and mergefs (reader and
 * command sender).
 *
 * Each process running the library owns one state block: a memfd named
 * KSMP_STATE_MEMFD_NAME, created with MFD_CLOEXEC, mapped MAP_SHARED and
 * then closed, so that the process's fd table is untouched and nothing is
 * left anywhere once the process is gone, even after SIGKILL. The mapping
 * is marked MADV_DONTFORK; a forked child creates its own block.
 *
 * mergefs (root) finds the block in /proc/PID/maps by its name
 * ("/memfd:ksmpreload-state (deleted)"), opens it through
 * /proc/PID/map_files/START-END and maps it too. It checks magic, version,
 * size and pid before trusting it. A reused pid is told apart by the
 * reader itself, not by the block (version 3: the library no longer reads
 * its start time, field 22 of /proc/PID/stat, at start; starttime is 0,
 * and a nonzero one must match): the reader reads the process's start
 * time before and after opening a pidfd (so the pidfd names the process
 * it checked), maps the block from /proc/PID/map_files, and trusts it
 * only if that pidfd's process is still alive afterwards (so the pid was
 * not reused while it opened the block: see ksmp_state_read.h).
 *
 * Concurrency: counters are updated with relaxed atomics and read racily
 * (a reader may see a counter one event behind). Region slots use a
 * per-slot sequence number (odd while being written); a reader retries or
 * skips a slot whose sequence changes under it.
 *
 * Control protocol (one command at a time; mergefs serialises senders):
 *   1. sender checks that it is allowed (root or the target's uid), takes
 *      the next sequence number N (one more than the highest ever put in
 *      req_seq or ack_seq, never 0, never with KSMP_SEQ_WITHDRAWN: numbers
 *      are never reused), fills ctl.cmd, ctl.addr, ctl.len,
 *      ctl.sender_uid and ctl.nonce (fresh random, never 0), then stores
 *      ctl.req_seq = N (release);
 *   2. sender signals the target with pidfd_send_signal(pidfd,
 *      ctl.signo, info with si_code SI_QUEUE and si_value.sival_ptr =
 *      N | nonce << 32 (64-bit value; on 32-bit systems just N));
 *   3. the library's handler checks that the signal came with SI_QUEUE,
 *      that the low 32 bits of si_value equal ctl.req_seq, that the high
 *      32 bits equal ctl.nonce when ctl.nonce is not 0, that req_seq !=
 *      ack_seq (not yet carried out), that no other command is running in
 *      the process, and that the sender's uid as the kernel translated it
 *      into the process's user namespace (si_uid) is 0 or the process's
 *      own, or is the overflow uid (a sender outside the namespace whose
 *      uid is not mapped in it, e.g. host root and a rootless container)
 *      and the nonce was given and matched: only a process that could read
 *      the block (CAP_SYS_ADMIN over /proc/PID/map_files, or ptrace access
 *      to the target) knows the nonce, which the namespace cannot forge.
 *      Then it copies
 *      the command, checks req_seq once more (the sender may have
 *      withdrawn it meanwhile), carries it out, stores ctl.result (0 or
 *      -errno), then ack_seq = N (release) and FUTEX_WAKEs ack_seq;
 *   4. sender FUTEX_WAITs on ack_seq until it equals N, with its timeout
 *      (ETIMEDOUT if the target blocks the signal, is stopped, or does not
 *      answer); on timeout it withdraws the request by setting
 *      KSMP_SEQ_WITHDRAWN in req_seq, so a signal delivered later is
 *      rejected. A command the handler had already started still
 *      finishes and acknowledges its own number, which the next sender
 *      (waiting for N + 1) never takes for its own.
 * All fields are fixed-width; the layout only ever grows at the end, and
 * any incompatible change bumps KSMP_STATE_VERSION.
 */
#ifndef KSMP_STATE_H
#define KSMP_STATE_H

#include <stdint.h>

#define KSMP_STATE_MAGIC	0x504d534bu	/* "KSMP" little-endian */
#define KSMP_STATE_VERSION	3u
#define KSMP_STATE_MEMFD_NAME	"ksmpreload-state"

#define KSMP_STATE_KINDS	8	/* >= KSMP_KIND_COUNT (policy.h) */
#define KSMP_STATE_RULES	64	/* == KSMP_POLICY_MAX_RULES */
#define KSMP_STATE_REGIONS	4096	/* region slots */
#define KSMP_STATE_CALLER_MAX	48	/* basename of the calling object */
#define KSMP_STATE_POLICY_TEXT	(16 * 1024)

/* Engine actually in use (may differ from the policy's mode). */
enum ksmp_engine {
	KSMP_ENGINE_OFF = 0,
	KSMP_ENGINE_PROCESS = 1,	/* PR_SET_MEMORY_MERGE */
	KSMP_ENGINE_REGIONS = 2,	/* madvise */
};

/* Flags in ksmp_state.flags. */
#define KSMP_STF_PROCESS_FALLBACK 0x1u	/* process mode refused by kernel: regions used */
#define KSMP_STF_POLICY_ERROR	0x2u	/* the chosen policy had errors: running unmerged */
#define KSMP_STF_CONTROL	0x4u	/* control agent installed (signo valid) */
#define KSMP_STF_UNMERGED	0x8u	/* unmerged by command; merge_state == 0 */
#define KSMP_STF_TABLE_FULL	0x10u	/* some regions were advised but not recorded */
#define KSMP_STF_HOOKS_BYPASSED	0x20u	/* malloc hooks not in effect (another allocator first) */
#define KSMP_STF_PROCESS_INHERITED 0x40u /* whole-process merging inherited and kept */
#define KSMP_STF_NONCE		0x80u	/* agent checks ctl.nonce (64-bit only): senders outside its
					 * user namespace are accepted with it */

/* Set in ctl.req_seq by a sender that gave up waiting: the request is
 * withdrawn and must not be carried out. Sequence numbers stay below it. */
#define KSMP_SEQ_WITHDRAWN	0x80000000u

/* Control commands. */
enum ksmp_cmd {
	KSMP_CMD_NONE = 0,
	KSMP_CMD_UNMERGE = 1,		/* everything the library advised / prctl 0 */
	KSMP_CMD_MERGE = 2,		/* apply the policy again */
	KSMP_CMD_RANGE_MERGE = 3,	/* madvise(addr, len, MADV_MERGEABLE) */
	KSMP_CMD_RANGE_UNMERGE = 4,	/* madvise(addr, len, MADV_UNMERGEABLE) */
	KSMP_CMD_PING = 5,		/* answer 0, do nothing */
	/* mode auto (the controller in mergefs): MADV_UNMERGEABLE over the
	 * parts of [addr, addr+len) that the library advised and are
	 * mergeable, which become KSMP_REGION_PRUNED; and MADV_MERGEABLE
	 * over the pruned parts again. Never touches memory the library did
	 * not advise. -EBUSY when the region table is busy (retry later). */
	KSMP_CMD_RANGE_PRUNE = 6,
	KSMP_CMD_RANGE_PROBE = 7,
	KSMP_CMD_PAGES_UNMERGE = 8,	/* madvise(addr, len, MADV_UNMERGEABLE), region
					 * table untouched: one batch of an unmerge */
	KSMP_CMD_PAGES_MERGE = 9,	/* madvise(addr, len, MADV_MERGEABLE), table
					 * untouched: undo the batches of a stopped one */
};

/* Errno counters for failed madvise/prctl calls. */
enum ksmp_err_slot {
	KSMP_ERR_EINVAL = 0,
	KSMP_ERR_ENOMEM,
	KSMP_ERR_EAGAIN,
	KSMP_ERR_EPERM,
	KSMP_ERR_OTHER,
	KSMP_ERR_SLOTS
};

/* Region slot states. */
enum ksmp_region_state {
	KSMP_REGION_FREE = 0,
	KSMP_REGION_MERGEABLE = 1,	/* advised MADV_MERGEABLE */
	KSMP_REGION_UNMERGED = 2,	/* advised, then unmerged by command */
	KSMP_REGION_FAILED = 3,		/* madvise failed (see errno counters) */
	KSMP_REGION_PRUNED = 4,		/* advised, then found not to merge by mode
					 * auto's controller: MADV_UNMERGEABLE until
					 * it is probed again; unmerge/merge commands
					 * leave it alone */
};

struct ksmp_region {
	uint32_t seq;			/* odd while being written */
	uint8_t state;			/* enum ksmp_region_state */
	uint8_t kind;			/* enum ksmp_kind (policy.h) */
	int16_t rule;			/* rule index, -1 = none (e.g. process mode) */
	uint64_t start;
	uint64_t len;
	char caller[KSMP_STATE_CALLER_MAX];	/* NUL-terminated basename, "" = unknown */
	uint64_t caller_pc;		/* return address the caller was found from, 0 = none
					 * (version 2; recorded when KSMP_PROFILE=1 or the
					 * policy has caller= rules) */
};

struct ksmp_counter {
	uint64_t regions;		/* regions advised since start (cumulative) */
	uint64_t bytes;			/* bytes advised now (gauge) */
};

struct ksmp_ctl {
	uint32_t req_seq;		/* written by sender */
	uint32_t ack_seq;		/* written by target; futex word */
	uint32_t cmd;			/* enum ksmp_cmd */
	uint32_t sender_uid;
	uint64_t addr;
	uint64_t len;
	int32_t result;			/* 0 or -errno */
	uint32_t nonce;			/* written by sender: proof of block access, 0 = none */
	uint64_t commands;		/* commands carried out */
	uint64_t rejected;		/* signals ignored: bad seq, uid or code */
};

struct ksmp_state {
	/* identity: checked by readers before anything else */
	uint32_t magic;
	uint32_t version;
	uint32_t size;			/* sizeof(struct ksmp_state) */
	int32_t pid;
	uint64_t starttime;		/* 0 (not recorded; v2: field 22 of /proc/self/stat) */
	uint32_t uid;			/* real uid at start */
	uint32_t flags;			/* KSMP_STF_* */

	/* what runs */
	uint32_t engine;		/* enum ksmp_engine in use now */
	uint32_t mode;			/* enum ksmp_mode the policy asked for */
	uint32_t merge_state;		/* 1 merged (policy applied), 0 unmerged */
	int32_t signo;			/* control signal, 0 = no control */
	char policy_name[64];
	char policy_source[256];	/* path, or "built-in default" */
	char exe[256];			/* /proc/self/exe once the library needed it, "" before */

	struct ksmp_ctl ctl;

	/* counters */
	struct ksmp_counter kind[KSMP_STATE_KINDS];
	struct ksmp_counter rule[KSMP_STATE_RULES];
	uint64_t madvise_calls;
	uint64_t madvise_errors[KSMP_ERR_SLOTS];
	uint64_t regions_dropped;	/* advised but the table was full */
	uint64_t vmas_added;		/* estimate of VMAs our advice split off */

	/* the active policy, canonical text (ksmp_policy_format) */
	uint32_t policy_text_len;
	char policy_text[KSMP_STATE_POLICY_TEXT];

	/* region table */
	uint32_t nregions_hint;		/* highest slot index ever used + 1 */
	uint32_t pad_;
	struct ksmp_region regions[KSMP_STATE_REGIONS];
};

#endif
