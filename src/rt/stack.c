#include "../evs.h"
#include "stack.h"
#include "task.h"
#include "sched.h"
#include "config.h"
#include "timer.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* How much of a finished stack's top stays resident for the next task:
 * EVS_STACK_WARM for up to EVS_STACK_WARM_MAX stacks (64 MiB at most in
 * all, and never more than those tasks had touched while they ran),
 * EVS_STACK_KEEP for the others. Giving back pages a task touched costs a
 * TLB shootdown whenever another worker runs: 55 us a stack here with two
 * threads busy, against 1.5 us for a madvise that finds nothing to give
 * back (measured with a 1 MiB map, two threads, 2 CPUs). A connection's
 * task that read into a 16 KiB stack buffer went past EVS_STACK_KEEP and
 * paid it at every exit; 1,000 connections that ended together paid it
 * 744 times with a budget of 256. */
#define EVS_STACK_KEEP (16UL << 10)
#define EVS_STACK_WARM (64UL << 10)
#define EVS_STACK_WARM_MAX EVS_STACK_CACHE_MAX
/* Even a madvise that finds nothing to give back is a system call (2.2 of
 * the 2.9 us a spawn+join took). It is skipped for a task that lived
 * less than EVS_STACK_BRIEF_NS from its first run to its end: too short
 * to fault in more than a few pages (a fault costs about 1 us here),
 * and at most EVS_STACK_SKIPS times in a row for one stack, so what
 * brief tasks touched beyond the warm top is given back within that many
 * reuses (memory only: a stack's contents are never relied on). How deep
 * a task switched says nothing here: a pool thread waits shallow and
 * computes deep (tests/progs/stack_trim.c). */
#define EVS_STACK_BRIEF_NS 5000
#define EVS_STACK_SKIPS 16
/* Cached mappings beyond this are unmapped: each costs two VMAs. */
#define EVS_STACK_CACHE_MAX 1024
/* glibc's default when RLIMIT_STACK is unlimited. */
#define EVS_STACK_FALLBACK (8UL << 20)

static size_t page;

/* The cache: a LIFO of finished mappings, any size, under one lock (the
 * path is a few loads and stores; tasks are created far less often than
 * they switch). */
static int cache_lock;
static struct evs_task *cache[EVS_STACK_CACHE_MAX];
static int ncache;
static int nwarm;  /* atomic: retired warm stacks not yet reused or unmapped */

static void unwarm(struct evs_task *t)
{
	if (t->stack_warm)
		__atomic_sub_fetch(&nwarm, 1, __ATOMIC_RELAXED);
}

static size_t round_page(size_t n)
{
	return (n + page - 1) & ~(page - 1);
}

size_t evs_stack_default(void)
{
	if (evs_config.stack_size)
		return evs_config.stack_size;
	/* The process default, as glibc computes it for new threads. */
	pthread_attr_t a;
	size_t sz = 0;
	if (pthread_getattr_default_np(&a) == 0) {
		pthread_attr_getstacksize(&a, &sz);
		pthread_attr_destroy(&a);
	}
	if (!sz) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			sz = rl.rlim_cur;
		else
			sz = EVS_STACK_FALLBACK;
	}
	return sz;
}

static size_t struct_bytes(void)
{
	return round_page(sizeof(struct evs_task));
}

/* The task's struct sits at the very top of its mapping and the stack
 * runs up to it, so the struct's page also holds the stack's first
 * frames (glibc lays out a thread's descriptor above its stack the same
 * way). A new task's first run touches one page fewer: a first touch
 * costs 15-40 us on this VM (shadow paging; docs/benchmarks.md,
 * 2026-12-03). */
static size_t struct_off(size_t len)
{
	return (len - sizeof(struct evs_task)) & ~(size_t)63;
}

int evs_stack_alloc(size_t size, size_t guard, struct evs_task **out)
{
	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	size = round_page(size);
	guard = round_page(guard);
	size_t len = guard + size + struct_bytes();

	struct evs_task *t = NULL;
	evs_spin_lock(&cache_lock);
	for (int i = ncache - 1; i >= 0; i--) {
		if (cache[i]->map_len == len && cache[i]->guard == guard) {
			t = cache[i];
			cache[i] = cache[--ncache];
			break;
		}
	}
	evs_spin_unlock(&cache_lock);
	if (t)
		unwarm(t);

	if (t) {
		evs_stat_add(EVS_ST_stack_reuse, 1);
	} else {
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
			       -1, 0);
		if (m == MAP_FAILED)
			return -EAGAIN;
		if (guard && mprotect(m, guard, PROT_NONE) != 0) {
			munmap(m, len);
			return -EAGAIN;
		}
		t = (struct evs_task *)(m + struct_off(len));
		evs_stat_add(EVS_ST_stack_mmap, 1);
		t->map = m;
		t->map_len = len;
		t->guard = guard;
	}
	void *map = t->map;
	int skips = t->trim_skips;  /* 0 for a new mapping */
	memset(t, 0, sizeof(*t));
	t->map = map;
	t->map_len = len;
	t->guard = guard;
	t->trim_skips = skips;
	t->stack_lo = (char *)map + guard;
	t->stack_size = (size_t)((char *)t - (char *)t->stack_lo);
	*out = t;
	return 0;
}

size_t evs_stack_asked(const struct evs_task *t)
{
	if (t->user_stack || !t->map)
		return t->stack_size;
	return t->map_len - t->guard - struct_bytes();
}

void evs_stack_retire(struct evs_task *t)
{
	if (t->user_stack)
		return;
	size_t keep = EVS_STACK_KEEP;
	if (__atomic_add_fetch(&nwarm, 1, __ATOMIC_RELAXED) <= EVS_STACK_WARM_MAX) {
		t->stack_warm = 1;
		keep = EVS_STACK_WARM;
	} else {
		__atomic_sub_fetch(&nwarm, 1, __ATOMIC_RELAXED);
	}
	if (t->stack_size <= keep)
		return;
	bool brief = !t->first_run_ns || evs_now_ns() - t->first_run_ns < EVS_STACK_BRIEF_NS;
	if (t->stack_warm && brief && t->trim_skips < EVS_STACK_SKIPS) {
		t->trim_skips++;
		return;
	}
	t->trim_skips = 0;
	madvise(t->stack_lo, (t->stack_size - keep) & ~(page - 1), MADV_DONTNEED);
}

void evs_stack_free(struct evs_task *t)
{
	t->magic = EVS_TASK_GONE;  /* a stale pthread_t: ESRCH (task.h) */
	evs_spin_lock(&cache_lock);
	if (ncache < EVS_STACK_CACHE_MAX) {
		cache[ncache++] = t;
		t = NULL;
	}
	evs_spin_unlock(&cache_lock);
	if (t) {
		unwarm(t);
		munmap(t->map, t->map_len);
	}
}
