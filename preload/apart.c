/*
 * apart.c - the main arena's memory apart from the brk heap. When brk
 * cannot grow (a mapping sits right above the break: node's V8 code range
 * lands there in some runs), glibc's malloc maps the main arena's next
 * piece with its own internal mmap, which no interposer sees, and carves
 * chunks out of it as out of the heap: chunks with neither the mmapped
 * nor the non-main-arena bit, above the break. The first such chunk
 * found (ksmp_after_alloc) tells the piece: glibc starts the piece with
 * the chunk that made it map one and ends it with the arena's top chunk,
 * whose end is the end of the mapping. That span is advised as heap.
 *
 * The end is taken only when it may be the top's: the chunk after ours
 * ends on a page boundary. That is not proof (any chunk may end there,
 * and the chunk seen first need not be the piece's first: another
 * thread's, or one after tcache's own), but every chunk header in the
 * piece is glibc's and describes memory inside the piece, so even a
 * header another thread rewrites meanwhile cannot point past its end:
 * what is advised stays inside the piece. A piece may thus be advised in
 * several parts (each a record and a VMA, counted against PIECES); a
 * look that does not fit is tried again at the next chunk. Pieces below
 * the break (the legacy mmap layout) and pieces over PIECE_MAX are not
 * advised. Needs glibc 2.34 or later (no malloc hooks: the word before a
 * block is glibc's size word).
 *
 * Never: allocate, take a lock that a signal handler could hold, or
 * advise memory outside a piece (only from our chunk's start to the end
 * of a glibc chunk that follows it).
 */
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "lib.h"

#define PIECES 64		/* pieces remembered; more are not advised */
#define PIECE_MAX (1ull << 30)	/* no piece is larger (glibc maps what
				 * one request needs, 1 MiB at least) */

static uintptr_t lo[PIECES], hi[PIECES];
static unsigned npieces;
static int plock;

__attribute__((no_sanitize_address))
static size_t head_at(uintptr_t chunk)
{
	return ((const size_t *)chunk)[1];
}

static bool known(uintptr_t a, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a >= __atomic_load_n(&lo[i], __ATOMIC_RELAXED) &&
		    a < __atomic_load_n(&hi[i], __ATOMIC_RELAXED))
			return true;
	return false;
}

void ksmp_engine_heap_apart(void *p, size_t head)
{
	uintptr_t a = (uintptr_t)p;
	unsigned n = __atomic_load_n(&npieces, __ATOMIC_ACQUIRE);
	if (n >= PIECES || known(a, n))
		return;
	uintptr_t ps = ksmp_pagesize();
	uintptr_t chunk = a - 2 * sizeof(size_t);
	uintptr_t next = chunk + (head & ~(size_t)KSMP_CHUNK_FLAGS);
	if (next <= chunk || (next & 15))
		return;
	size_t nh = head_at(next);
	uintptr_t end = next + (nh & ~(size_t)KSMP_CHUNK_FLAGS);
	uintptr_t start = (chunk + ps - 1) & ~(ps - 1);
	if ((nh & (KSMP_CHUNK_MMAPPED | KSMP_CHUNK_NONMAIN)) || !(nh & 1) ||
	    end <= next || (end & (ps - 1)) || end <= start ||
	    end - start > PIECE_MAX)
		return;
	int saved = errno;
	ksmp_busy++;
	ksmp_spin_lock(&plock);
	n = npieces;
	if (!known(a, n) && n < PIECES) {
		__atomic_store_n(&lo[n], chunk & ~(ps - 1), __ATOMIC_RELAXED);
		__atomic_store_n(&hi[n], end, __ATOMIC_RELAXED);
		__atomic_store_n(&npieces, n + 1, __ATOMIC_RELEASE);
		ksmp_engine_heap_piece(start, end - start);
	}
	ksmp_spin_unlock(&plock);
	ksmp_busy--;
	errno = saved;
}

void ksmp_apart_after_fork(void)
{
	plock = 0;
}
