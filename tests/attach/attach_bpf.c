/*
 * attach_bpf - the seccomp cBPF interpreter that `ksmpreload attach` uses
 * to decide whether a target's filter allows the injected call: the
 * filters libseccomp and hand-written programs produce (syscall number,
 * arch, 64-bit argument words, ALU, scratch memory, JSET), and every
 * instruction the kernel would refuse is refused, not guessed.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "inject.h"
#include "../tap.h"

#define I(c, k) { (uint16_t)(c), 0, 0, (uint32_t)(k) }
#define J(c, k, t, f) { (uint16_t)(c), (uint8_t)(t), (uint8_t)(f), (uint32_t)(k) }
#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
#define OFF_ARG(i, hi) (offsetof(struct seccomp_data, args) + 8 * (i) + 4 * (hi))
#define N(p) (unsigned)(sizeof(p) / sizeof(p[0]))

static uint32_t run(const struct ksmp_bpf_insn *p, unsigned n, long nr,
		    uint64_t a0, uint64_t a2, int *err)
{
	struct seccomp_data d = { .nr = (int)nr, .arch = AUDIT_ARCH_X86_64 };
	d.args[0] = a0;
	d.args[2] = a2;
	uint32_t r = 0xdeadbeef;
	*err = ksmp_bpf_run(p, n, (const unsigned char *)&d, sizeof(d), &r);
	return r;
}

int main(void)
{
	tap_plan(14);
	int err;
	/* arch check, then kill prctl, allow the rest (libseccomp's shape) */
	static const struct ksmp_bpf_insn kill_prctl[] = {
		I(BPF_LD | BPF_W | BPF_ABS, OFF_ARCH),
		J(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		I(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		I(BPF_LD | BPF_W | BPF_ABS, OFF_NR),
		J(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 0, 1),
		I(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	ok(run(kill_prctl, N(kill_prctl), SYS_prctl, 67, 0, &err) == SECCOMP_RET_KILL_PROCESS &&
	   !err, "prctl is killed");
	ok(run(kill_prctl, N(kill_prctl), SYS_madvise, 0, 12, &err) == SECCOMP_RET_ALLOW &&
	   !err, "madvise is allowed");

	/* madvise with args[2] == 12 (both 32-bit halves) returns ERRNO(1) */
	static const struct ksmp_bpf_insn arg[] = {
		I(BPF_LD | BPF_W | BPF_ABS, OFF_NR),
		J(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0, 5),
		I(BPF_LD | BPF_W | BPF_ABS, OFF_ARG(2, 1)),
		J(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
		I(BPF_LD | BPF_W | BPF_ABS, OFF_ARG(2, 0)),
		J(BPF_JMP | BPF_JEQ | BPF_K, 12, 0, 1),
		I(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	ok(run(arg, N(arg), SYS_madvise, 0, 12, &err) == (SECCOMP_RET_ERRNO | 1),
	   "an argument compared in 32-bit halves: equal");
	ok(run(arg, N(arg), SYS_madvise, 0, 13, &err) == SECCOMP_RET_ALLOW,
	   "an argument compared in 32-bit halves: low word differs");
	ok(run(arg, N(arg), SYS_madvise, 0, (1ull << 32) | 12, &err) == SECCOMP_RET_ALLOW,
	   "an argument compared in 32-bit halves: high word differs");

	/* ALU, scratch memory, X register, JSET, RET A */
	static const struct ksmp_bpf_insn alu[] = {
		I(BPF_LD | BPF_W | BPF_ABS, OFF_ARG(0, 0)),
		I(BPF_ST, 3),
		I(BPF_ALU | BPF_AND | BPF_K, 0xf0),
		I(BPF_ALU | BPF_RSH | BPF_K, 4),
		I(BPF_MISC | BPF_TAX, 0),
		I(BPF_LD | BPF_MEM, 3),
		I(BPF_ALU | BPF_ADD | BPF_X, 0),
		J(BPF_JMP | BPF_JSET | BPF_K, 0x100, 1, 0),
		I(BPF_RET | BPF_A, 0),
		I(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	ok(run(alu, N(alu), 0, 0x35, 0, &err) == 0x38 && !err,
	   "ALU, scratch memory, TAX, RET A (0x35 + 3 = 0x38)");
	ok(run(alu, N(alu), 0, 0xff, 0, &err) == SECCOMP_RET_TRAP,
	   "JSET taken (0xff + 0xf = 0x10e)");

	static const struct ksmp_bpf_insn div0[] = {
		I(BPF_LDX | BPF_W | BPF_IMM, 0),
		I(BPF_LD | BPF_W | BPF_IMM, 5),
		I(BPF_ALU | BPF_DIV | BPF_X, 0),
		I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	ok(run(div0, N(div0), 0, 0, 0, &err) == 0 && !err,
	   "division by a zero X returns 0 (kill), as in the kernel");

	static const struct ksmp_bpf_insn byte_load[] = {
		I(BPF_LD | BPF_B | BPF_ABS, 0), I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	run(byte_load, N(byte_load), 0, 0, 0, &err);
	ok(err < 0, "a byte load (refused by seccomp) is refused");
	static const struct ksmp_bpf_insn unaligned[] = {
		I(BPF_LD | BPF_W | BPF_ABS, 2), I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	run(unaligned, N(unaligned), 0, 0, 0, &err);
	ok(err < 0, "an unaligned load is refused");
	static const struct ksmp_bpf_insn beyond[] = {
		I(BPF_LD | BPF_W | BPF_ABS, 64), I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	run(beyond, N(beyond), 0, 0, 0, &err);
	ok(err < 0, "a load past struct seccomp_data is refused");
	static const struct ksmp_bpf_insn far[] = {
		J(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), I(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	run(far, N(far), 0, 0, 0, &err);
	ok(err < 0, "a jump past the end is refused");
	static const struct ksmp_bpf_insn noret[] = {
		I(BPF_LD | BPF_W | BPF_ABS, OFF_NR),
	};
	run(noret, N(noret), 0, 0, 0, &err);
	ok(err < 0, "a program without a return is refused");
	static const struct ksmp_bpf_insn ja[] = {
		I(BPF_JMP | BPF_JA, 1), I(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
		I(BPF_RET | BPF_K, SECCOMP_RET_LOG),
	};
	ok(run(ja, N(ja), 0, 0, 0, &err) == SECCOMP_RET_LOG && !err, "JA skips forward");
	return tap_done();
}
