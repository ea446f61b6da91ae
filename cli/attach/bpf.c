/*
 * bpf.c - a classic BPF interpreter for seccomp filters, so that attach
 * can tell beforehand what a target's filter would do with the call it is
 * about to inject (a SECCOMP_RET_KILL would end the target).
 *
 * It accepts the instructions the kernel's seccomp_check_filter() accepts
 * (32-bit absolute loads from struct seccomp_data, the scratch memory,
 * ALU, jumps, returns) and refuses anything else with -EINVAL, which the
 * caller turns into a refusal: a filter we cannot judge is never guessed.
 */
#include <errno.h>
#include <linux/filter.h>
#include <string.h>

#include "inject.h"

static int alu(uint16_t op, uint32_t *a, uint32_t v)
{
	switch (op) {
	case BPF_ADD: *a += v; return 0;
	case BPF_SUB: *a -= v; return 0;
	case BPF_MUL: *a *= v; return 0;
	case BPF_DIV: if (!v) return 1; *a /= v; return 0;
	case BPF_MOD: if (!v) return 1; *a %= v; return 0;
	case BPF_AND: *a &= v; return 0;
	case BPF_OR:  *a |= v; return 0;
	case BPF_XOR: *a ^= v; return 0;
	case BPF_LSH: *a = v >= 32 ? 0 : *a << v; return 0;
	case BPF_RSH: *a = v >= 32 ? 0 : *a >> v; return 0;
	case BPF_NEG: *a = -*a; return 0;
	}
	return -EINVAL;
}

static int jump(uint16_t op, uint32_t a, uint32_t v, bool *taken)
{
	switch (op) {
	case BPF_JEQ:  *taken = a == v; return 0;
	case BPF_JGT:  *taken = a > v; return 0;
	case BPF_JGE:  *taken = a >= v; return 0;
	case BPF_JSET: *taken = (a & v) != 0; return 0;
	}
	return -EINVAL;
}

int ksmp_bpf_run(const struct ksmp_bpf_insn *prog, unsigned len,
		 const unsigned char *data, size_t dlen, uint32_t *result)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	/* Jumps only go forward, so at most len steps. */
	for (unsigned pc = 0; pc < len; pc++) {
		const struct ksmp_bpf_insn *i = &prog[pc];
		uint16_t cls = BPF_CLASS(i->code);
		uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;
		bool taken;
		int r;
		switch (cls) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			uint16_t mode = BPF_MODE(i->code);
			if (BPF_SIZE(i->code) != BPF_W)
				return -EINVAL;
			if (mode == BPF_ABS && cls == BPF_LD) {
				if (i->k % 4 || (size_t)i->k + 4 > dlen)
					return -EINVAL;
				memcpy(&v, data + i->k, 4);
			} else if (mode == BPF_IMM) {
				v = i->k;
			} else if (mode == BPF_MEM) {
				if (i->k >= BPF_MEMWORDS)
					return -EINVAL;
				v = mem[i->k];
			} else if (mode == BPF_LEN) {
				v = (uint32_t)dlen;
			} else {
				return -EINVAL;
			}
			if (cls == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (i->k >= BPF_MEMWORDS)
				return -EINVAL;
			mem[i->k] = cls == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			r = alu(BPF_OP(i->code), &a, src);
			if (r < 0)
				return r;
			if (r > 0) {		/* division by zero: the kernel returns 0 */
				*result = 0;
				return 0;
			}
			break;
		case BPF_JMP:
			if (BPF_OP(i->code) == BPF_JA) {
				if (i->k >= len - pc - 1)
					return -EINVAL;
				pc += i->k;
				break;
			}
			if (jump(BPF_OP(i->code), a, src, &taken) < 0)
				return -EINVAL;
			if ((unsigned)(taken ? i->jt : i->jf) >= len - pc - 1)
				return -EINVAL;
			pc += taken ? i->jt : i->jf;
			break;
		case BPF_RET:
			if (BPF_RVAL(i->code) == BPF_K)
				*result = i->k;
			else if (BPF_RVAL(i->code) == BPF_A)
				*result = a;
			else
				return -EINVAL;
			return 0;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else if (BPF_MISCOP(i->code) == BPF_TXA)
				a = x;
			else
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	return -EINVAL;		/* fell off the end: the kernel rejects such filters */
}
