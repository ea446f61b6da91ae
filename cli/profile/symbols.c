/* symbols.c - "function+0xoff" for a calling PC: the mapping it falls in,
 * the ELF program headers to turn the file offset into a link-time address,
 * and the object's .symtab (else .dynsym) through libelf, cached per path. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include "profile.h"

struct sym {
	uint64_t lo, size;
	char *name;
};

struct elfsyms {
	char *path;
	struct sym *s;
	size_t n;
	GElf_Phdr *ph;
	size_t nph;
	struct elfsyms *next;
};

static struct elfsyms *elf_cache;

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void load_table(Elf *e, Elf_Scn *scn, GElf_Shdr *sh, struct elfsyms *es)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !sh->sh_entsize)
		return;
	size_t cnt = sh->sh_size / sh->sh_entsize;
	es->s = calloc(cnt ? cnt : 1, sizeof(*es->s));
	if (!es->s)
		return;
	for (size_t i = 0; i < cnt; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		const char *nm = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!nm || !*nm)
			continue;
		es->s[es->n].lo = sym.st_value;
		es->s[es->n].size = sym.st_size;
		es->s[es->n].name = strdup(nm);
		if (es->s[es->n].name)
			es->n++;
	}
	qsort(es->s, es->n, sizeof(*es->s), sym_cmp);
}

static struct elfsyms *elf_syms(const char *path)
{
	for (struct elfsyms *c = elf_cache; c; c = c->next)
		if (!strcmp(c->path, path))
			return c;
	struct elfsyms *es = calloc(1, sizeof(*es));
	if (!es)
		return NULL;
	es->path = strdup(path);
	es->next = elf_cache;
	elf_cache = es;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && elf_kind(e) == ELF_K_ELF) {
		size_t nph = 0;
		if (elf_getphdrnum(e, &nph) == 0 && nph) {
			es->ph = calloc(nph, sizeof(*es->ph));
			for (size_t i = 0; es->ph && i < nph; i++)
				if (gelf_getphdr(e, (int)i, &es->ph[es->nph]) &&
				    es->ph[es->nph].p_type == PT_LOAD)
					es->nph++;
		}
		Elf_Scn *symtab = NULL, *dynsym = NULL;
		GElf_Shdr sh_sym, sh_dyn, sh;
		for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
			if (!gelf_getshdr(scn, &sh))
				continue;
			if (sh.sh_type == SHT_SYMTAB) {
				symtab = scn;
				sh_sym = sh;
			} else if (sh.sh_type == SHT_DYNSYM) {
				dynsym = scn;
				sh_dyn = sh;
			}
		}
		if (symtab)
			load_table(e, symtab, &sh_sym, es);
		if (!es->n && dynsym) {
			free(es->s);
			es->s = NULL;
			load_table(e, dynsym, &sh_dyn, es);
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return es;
}

/* "function+0xoff" for pc in one of the process's file mappings, into out;
 * the object's basename into obj (when obj[0] is empty). */
void prof_resolve_pc(const struct vmas *maps, uint64_t pc, char *obj,
		       size_t objsz, char *out, size_t outsz)
{
	out[0] = '\0';
	if (!pc)
		return;
	const struct vma *v = NULL;
	for (size_t i = 0; i < maps->n; i++)
		if (pc - 1 >= maps->v[i].lo && pc - 1 < maps->v[i].hi) {
			v = &maps->v[i];
			break;
		}
	if (!v || !v->path) {
		snprintf(out, outsz, "0x%" PRIx64, pc);
		return;
	}
	if (!obj[0])
		snprintf(obj, objsz, "%s", prof_base(v->path));
	uint64_t fileoff = pc - v->lo + v->off;
	struct elfsyms *es = elf_syms(v->path);
	uint64_t vaddr = fileoff;
	bool mapped = false;
	for (size_t i = 0; es && i < es->nph; i++) {
		const GElf_Phdr *p = &es->ph[i];
		if (fileoff >= p->p_offset && fileoff < p->p_offset + p->p_filesz) {
			vaddr = fileoff - p->p_offset + p->p_vaddr;
			mapped = true;
			break;
		}
	}
	/* the symbol containing the call instruction (pc - 1): among the
	 * last few starting at or below it, one whose size covers it, else
	 * the nearest one without a size */
	const struct sym *best = NULL;
	if (es && mapped && es->n) {
		uint64_t at = vaddr - 1;
		size_t lo = 0, hi = es->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (es->s[mid].lo <= at)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i-- > 0 && lo - i <= 16 && !best;)
			if (es->s[i].size && at < es->s[i].lo + es->s[i].size)
				best = &es->s[i];
		if (!best && lo > 0 && !es->s[lo - 1].size)
			best = &es->s[lo - 1];
	}
	if (best)
		snprintf(out, outsz, "%s+0x%" PRIx64, best->name, vaddr - best->lo);
	else
		snprintf(out, outsz, "0x%" PRIx64, vaddr);
}

void prof_elf_cache_free(void)
{
	while (elf_cache) {
		struct elfsyms *n = elf_cache->next;
		for (size_t i = 0; i < elf_cache->n; i++)
			free(elf_cache->s[i].name);
		free(elf_cache->s);
		free(elf_cache->ph);
		free(elf_cache->path);
		free(elf_cache);
		elf_cache = n;
	}
}
