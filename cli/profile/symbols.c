/* symbols.c - "function+0xoff" for a calling PC: the mapping it falls in,
 * the ELF program headers to turn the file offset into a link-time address,
 * and the object's .symtab (else .dynsym) through libelf, cached per path.
 * A PC that no symbol of the object covers (a static function of a
 * stripped binary) is looked up in the object's build-id debug file,
 * DIR/.build-id/xx/yyyy.debug for each DIR of $KSMP_DEBUGINFO_PATH and
 * then /usr/lib/debug: its .symtab, read with libelf like the object's
 * own, and with libdw (when built with it) its DWARF. */
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

#define DEBUG_DIR "/usr/lib/debug"

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
	unsigned char id[64];		/* GNU build-id */
	size_t idlen;
	struct elfsyms *debug;		/* its build-id debug file, if found */
	bool debug_tried;
	void *dw;			/* the debug file's DWARF (dwarf.c) */
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

/* The GNU build-id note, from the note sections (kept in a debug file). */
static void read_build_id(Elf *e, struct elfsyms *es)
{
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + name_off, "GNU", 4) &&
			    nh.n_descsz && nh.n_descsz <= sizeof(es->id)) {
				memcpy(es->id, (char *)d->d_buf + desc_off, nh.n_descsz);
				es->idlen = nh.n_descsz;
				return;
			}
		}
	}
}

/* The object's loadable program headers, build-id and function symbols
 * (.symtab, else .dynsym). */
static void read_elf(struct elfsyms *es)
{
	int fd = open(es->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
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
		read_build_id(e, es);
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
	if (es->path)
		read_elf(es);
	return es;
}

static void free_syms(struct elfsyms *es)
{
	if (!es)
		return;
	for (size_t i = 0; i < es->n; i++)
		free(es->s[i].name);
	free(es->s);
	free(es->ph);
	free(es->path);
	free_syms(es->debug);
#ifdef HAVE_LIBDW
	prof_dwarf_close(es->dw);
#endif
	free(es);
}

/* DIR/.build-id/xx/yyyy.debug (dir: len bytes) when it carries es's
 * build-id, else NULL. */
static struct elfsyms *try_debug(const struct elfsyms *es, const char *dir,
				 size_t len, const char *rest)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%.*s/.build-id/%02x/%s.debug", (int)len,
		     dir, es->id[0], rest) >= (int)sizeof(path))
		return NULL;
	struct elfsyms *dbg = calloc(1, sizeof(*dbg));
	if (!dbg)
		return NULL;
	dbg->path = strdup(path);
	if (dbg->path)
		read_elf(dbg);
	if (dbg->idlen == es->idlen && !memcmp(dbg->id, es->id, es->idlen))
		return dbg;
	free_syms(dbg);
	return NULL;
}

/* The build-id debug file of es: in the first directory of
 * $KSMP_DEBUGINFO_PATH (colon-separated), then /usr/lib/debug, that has
 * one with the same build-id; NULL when none does. Looked for once. */
static struct elfsyms *debug_syms(struct elfsyms *es)
{
	if (es->debug_tried || es->idlen < 2)
		return es->debug;
	es->debug_tried = true;
	char rest[2 * sizeof(es->id) + 1];
	for (size_t i = 1; i < es->idlen; i++)
		snprintf(rest + 2 * (i - 1), 3, "%02x", es->id[i]);
	for (const char *d = getenv("KSMP_DEBUGINFO_PATH"); d && *d;) {
		size_t len = strcspn(d, ":");
		if (len && (es->debug = try_debug(es, d, len, rest)))
			return es->debug;
		d += len + (d[len] == ':');
	}
	es->debug = try_debug(es, DEBUG_DIR, strlen(DEBUG_DIR), rest);
	return es->debug;
}

/* The symbol containing at: among the last few starting at or below it,
 * one whose size covers it (*covers set), else the nearest one without a
 * size; NULL when neither. */
static const struct sym *find_sym(const struct elfsyms *es, uint64_t at, bool *covers)
{
	*covers = false;
	if (!es || !es->n)
		return NULL;
	size_t lo = 0, hi = es->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (es->s[mid].lo <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0 && lo - i <= 16;)
		if (es->s[i].size && at < es->s[i].lo + es->s[i].size) {
			*covers = true;
			return &es->s[i];
		}
	if (lo > 0 && !es->s[lo - 1].size)
		return &es->s[lo - 1];
	return NULL;
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
	if (!mapped) {
		snprintf(out, outsz, "0x%" PRIx64, vaddr);
		return;
	}
	/* a symbol covering the call, the object's own or its debug file's,
	 * else the debug file's DWARF, else the nearest symbol without a size
	 * (the debug file's, else the object's) */
	uint64_t at = vaddr - 1;
	bool covers = false;
	const struct sym *best = find_sym(es, at, &covers);
	if (!covers) {
		struct elfsyms *d = debug_syms(es);
		const struct sym *ds = d ? find_sym(d, at, &covers) : NULL;
#ifdef HAVE_LIBDW
		char fn[256];
		uint64_t entry;
		if (d && !covers &&
		    prof_dwarf_func(&d->dw, d->path, at, fn, sizeof(fn), &entry) == 0) {
			snprintf(out, outsz, "%s+0x%" PRIx64, fn, vaddr - entry);
			return;
		}
#endif
		if (ds)
			best = ds;
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
		free_syms(elf_cache);
		elf_cache = n;
	}
}
