/* dwarf.c - function names from the DWARF of a build-id debug file, with
 * elfutils libdw (configure --with-libdw): for a PC that no symbol table
 * covers, as in a debug file whose .symtab was removed. See profile.h. */
#include <dwarf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <elfutils/libdw.h>
#include <unistd.h>

#include "profile.h"

struct dw {
	int fd;
	Dwarf *dbg;		/* NULL: the file has no usable DWARF */
};

static struct dw *dw_open(const char *path)
{
	struct dw *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->fd >= 0)
		d->dbg = dwarf_begin(d->fd, DWARF_C_READ);
	return d;
}

int prof_dwarf_func(void **dw, const char *path, uint64_t at, char *name,
		    size_t namesz, uint64_t *entry)
{
	if (!*dw)
		*dw = dw_open(path);
	struct dw *d = *dw;
	Dwarf_Die cu, *scopes = NULL;
	if (!d || !d->dbg || !dwarf_addrdie(d->dbg, at, &cu))
		return -1;
	int n = dwarf_getscopes(&cu, at, &scopes);
	int ret = -1;
	/* innermost first: the first subprogram is the function the code
	 * belongs to (an inlined one's code counts as its caller's, as in
	 * the symbol table) */
	for (int i = 0; i < n && ret; i++) {
		Dwarf_Addr lo;
		const char *nm;
		if (dwarf_tag(&scopes[i]) != DW_TAG_subprogram ||
		    !(nm = dwarf_diename(&scopes[i])) ||
		    (dwarf_entrypc(&scopes[i], &lo) != 0 && dwarf_lowpc(&scopes[i], &lo) != 0))
			continue;
		snprintf(name, namesz, "%s", nm);
		*entry = lo;
		ret = 0;
	}
	free(scopes);
	return ret;
}

void prof_dwarf_close(void *dw)
{
	struct dw *d = dw;
	if (!d)
		return;
	if (d->dbg)
		dwarf_end(d->dbg);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}
