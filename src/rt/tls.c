#include "../evs.h"
#include "tls.h"
#include "sched.h"
#include "task.h"
#include "../obs/log.h"
#include "config.h"
#include "../libc/sys.h"
#include "../arch/cpu.h"
#include <asm/prctl.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define EVS_TLS_MAX_MODS 64

static struct tls_mod {
	ptrdiff_t off;           /* block address - thread pointer */
	size_t memsz, filesz;
	const void *image;
	size_t at;               /* where it sits in a task's save area */
} mods[EVS_TLS_MAX_MODS];
static int nmods;
size_t evs_tls_total;
int evs_tls_by_address;
int evs_tls_armed;
static bool fast_fs;           /* wrfsbase works here (arch/cpu.h) */

/* Blocks that follow the worker rather than the task (glibc's, the
 * shim's): in address mode they are copied from the outgoing thread
 * pointer's area into the incoming one's on every change. */
#define EVS_TLS_MAX_FWD 4
static struct { ptrdiff_t off; size_t memsz; size_t modid; } fwd[EVS_TLS_MAX_FWD];
static int nfwd;

/* Address mode: glibc's own allocator of static TLS (what pthread_create
 * uses: the blocks of every module, initialized, and a DTV pointing at
 * them), the size of its thread descriptor, and where rseq's area sits
 * relative to the thread pointer. */
static void *(*allocate_tls)(void *);
static void (*deallocate_tls)(void *, int);
static size_t tcb_size;
static ptrdiff_t rseq_off;
static size_t list_off;        /* struct pthread's link in glibc's thread list */
static int have_list;
static size_t tid_off;         /* struct pthread's tid */
static int have_tid;
static int have_rseq;
static uintptr_t static_lo;    /* bytes of static TLS below the thread pointer */

struct evs_tls_dtor {
	void (*fn)(void *);
	void *obj;
	struct evs_tls_dtor *next;
};

/* Blocks that follow the worker: glibc's, and those of the libraries the
 * shim itself links that have TLS (libunwind's per-thread caches: the
 * shim's stack walks use them; a program of its own rarely links it, and
 * then a per-worker cache is as good). Counting them as the program's
 * would put every program in address mode and cost a system call per
 * task switch for nothing. */
static int is_libc(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libunwind", 9);
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	char *tp = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_TLS || !info->dlpi_tls_data || !ph->p_memsz)
			continue;
		ptrdiff_t off = (char *)info->dlpi_tls_data - tp;
		ptrdiff_t self = (char *)&evs_self - tp;
		if ((uintptr_t)-off > static_lo)
			static_lo = (uintptr_t)-off;
		if (is_libc(info->dlpi_name) || (self >= off && self < off + (ptrdiff_t)ph->p_memsz)) {
			/* glibc's block, the shim's own block */
			if (nfwd < EVS_TLS_MAX_FWD) {
				fwd[nfwd].off = off;
				fwd[nfwd].memsz = ph->p_memsz;
				fwd[nfwd].modid = info->dlpi_tls_modid;
				nfwd++;
			}
			continue;
		}
		if (nmods == EVS_TLS_MAX_MODS) {
			evs_log(EVS_LOG_WARN, "more than %d TLS modules; %s stays per worker",
				EVS_TLS_MAX_MODS, info->dlpi_name);
			continue;
		}
		struct tls_mod *m = &mods[nmods++];
		m->off = off;
		m->memsz = ph->p_memsz;
		m->filesz = ph->p_filesz;
		m->image = (const void *)(info->dlpi_addr + ph->p_vaddr);
		m->at = evs_tls_total;
		evs_tls_total += (m->memsz + 15) & ~(size_t)15;
	}
	return 0;
}

/* Address mode needs glibc's TLS allocator (GLIBC_PRIVATE, exported by
 * the dynamic loader for libpthread) and the size of struct pthread
 * (exported for libthread_db). Without them the shim copies. */
static void address_mode_init(void)
{
	if (evs_config.tls_copy || nfwd < 2)
		return;
	allocate_tls = (void *(*)(void *))dlsym(RTLD_DEFAULT, "_dl_allocate_tls");
	deallocate_tls = (void (*)(void *, int))dlsym(RTLD_DEFAULT, "_dl_deallocate_tls");
	const unsigned *sz = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	if (!allocate_tls || !deallocate_tls || !sz || *sz < 64) {
		evs_log(EVS_LOG_INFO, "glibc's TLS allocator not found: TLS by copying");
		return;
	}
	tcb_size = *sz;
	/* libthread_db's description of the field: bits, count, offset */
	const uint32_t *ld = dlsym(RTLD_DEFAULT, "_thread_db_pthread_list");
	if (ld && ld[2] + 2 * sizeof(void *) <= tcb_size) {
		list_off = ld[2];
		have_list = 1;
	}
	const uint32_t *td = dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid");
	if (td && td[0] == 32 && td[2] + sizeof(int) <= tcb_size) {
		tid_off = td[2];
		have_tid = 1;
	}
	const ptrdiff_t *ro = dlsym(RTLD_DEFAULT, "__rseq_offset");
	const unsigned *rs = dlsym(RTLD_DEFAULT, "__rseq_size");
	if (ro && rs && *rs >= 8) {
		rseq_off = *ro;
		have_rseq = 1;
	}
	fast_fs = evs_cpu_has_wrfsbase();
	/* Static TLS of the program's own: address mode from the start.
	 * None: armed only, and turned on by the first access to a dlopen'd
	 * module's TLS (evs_tls_dynamic). */
	evs_tls_armed = 1;
	evs_tls_by_address = evs_tls_total != 0;
}

void evs_tls_dynamic(struct evs_worker *w, struct evs_task *t, size_t modid)
{
	for (int i = 0; i < nfwd; i++)
		if (fwd[i].modid == modid)
			return;  /* glibc's, libunwind's: they follow the worker */
	if (!__atomic_load_n(&evs_tls_by_address, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&evs_tls_by_address, 1, __ATOMIC_RELEASE);
		evs_log(EVS_LOG_INFO, "a dlopen'd library has __thread data: each task gets its own "
			"thread pointer from now on");
	}
	if (w->tls_owner != t)
		evs_tls_swap(w, t);
}

/* glibc makes setuid and its kin process-wide by sending SIGSETXID to
 * every thread in its list and waiting until each one's handler has made
 * the call too and cleared the mark in its own struct pthread, found
 * through the thread pointer. In address mode a worker's kernel thread
 * may be on a task's area when the signal comes, and the handler would
 * clear the copy's mark, not the worker's: glibc signals that worker
 * again, forever (squid dropping privileges hung so, as does any setuid
 * from a task, whose own worker is in the list). So glibc's handler runs
 * through this one, on the worker's own thread pointer. Installed with
 * the raw call (glibc's sigaction refuses its internal signals), again
 * after every kernel thread the runtime starts: glibc installs its
 * handler at the first pthread_create, also in a forked child. */
#define EVS_SIGSETXID 33
static void load_tp(char *from, char *to);
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};
static void (*glibc_setxid)(int, siginfo_t *, void *);

static void on_setxid(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	char *cur = __builtin_thread_pointer();
	struct evs_worker *w = evs_self;  /* the shim's block follows the worker */
	char *own = w ? w->tp : NULL;
	if (own && own != cur) {
		load_tp(cur, own);
		glibc_setxid(sig, si, uc);
		load_tp(own, cur);
	} else if (glibc_setxid) {
		glibc_setxid(sig, si, uc);
	}
	errno = saved;
}

void evs_tls_setxid_hook(void)
{
	if (!evs_tls_armed)
		return;
	struct ksigaction old;
	if (evs_sys6(SYS_rt_sigaction, EVS_SIGSETXID, 0, &old, 8, 0, 0) < 0)
		return;
	if (old.handler == (void *)on_setxid || !(old.flags & SA_SIGINFO) ||
	    old.handler == (void *)SIG_DFL || old.handler == (void *)SIG_IGN)
		return;  /* ours already, or glibc has none yet */
	__atomic_store_n(&glibc_setxid, (void (*)(int, siginfo_t *, void *))old.handler,
			 __ATOMIC_RELEASE);
	struct ksigaction sa = old;
	sa.handler = (void *)on_setxid;
	evs_sys6(SYS_rt_sigaction, EVS_SIGSETXID, &sa, 0, 8, 0, 0);
}

void evs_tls_init(void)
{
	dl_iterate_phdr(collect, __builtin_thread_pointer());
	address_mode_init();
}

void evs_tls_worker_start(struct evs_worker *w)
{
	w->tp = __builtin_thread_pointer();
}

static bool give_area(struct evs_task *t);

int evs_tls_task_init(struct evs_task *t)
{
	if (evs_tls_armed) {
		/* In address mode the area is made here, by the creator, as
		 * pthread_create does: glibc's allocator of static TLS calls
		 * the program's malloc, which may take locks (jemalloc's) and
		 * so must run in a task that is running, not in a scheduler
		 * about to switch to this one. Otherwise (armed only) it is
		 * made at the task's first switch once address mode is on
		 * (give_area): a program that never needs one pays nothing. */
		t->tp = NULL;
		t->tcb_ready = 0;
		/* no memory: pthread_create fails with EAGAIN, as natively
		 * when glibc cannot allocate a thread's TLS */
		if (t != &evs_main_task && __atomic_load_n(&evs_tls_by_address, __ATOMIC_ACQUIRE) &&
		    !give_area(t))
			return -ENOMEM;
		return 0;
	}
	if (!evs_tls_total)
		return 0;
	t->tls = malloc(evs_tls_total);
	if (!t->tls)
		return -ENOMEM;
	for (int i = 0; i < nmods; i++) {
		char *dst = (char *)t->tls + mods[i].at;
		memcpy(dst, mods[i].image, mods[i].filesz);
		memset(dst + mods[i].filesz, 0, mods[i].memsz - mods[i].filesz);
	}
	return 0;
}

/* Address mode: load thread pointer `to` on this kernel thread, carrying
 * the blocks that follow the worker (glibc's, the shim's) over from the
 * area now loaded. Nothing may use TLS between the copy and the switch:
 * no calls, the system call is made inline. */
static void load_tp(char *from, char *to)
{
	for (int i = 0; i < nfwd; i++)
		memcpy(to + fwd[i].off, from + fwd[i].off, fwd[i].memsz);
	evs_cpu_set_fs(to, fast_fs);
}

/* The thread descriptor (struct pthread) of a task's area, made from its
 * worker's own the first time the task runs there (tasks never move once
 * they have run): the same stack guard, pointer guard and flags glibc
 * reads through the thread pointer; every pointer into the worker's
 * static TLS or descriptor (the self pointers, the empty robust list)
 * moved to the task's; the task's own DTV kept; rseq's cpu number marked
 * unknown (the kernel updates the worker's area, not this copy), so
 * sched_getcpu asks the kernel; its link in glibc's list of threads made
 * an empty one (glibc's list holds the worker, not this copy: a fork()
 * from the task unlinks "itself" from that list in the child, which must
 * not cut the worker's neighbours). */
static void tcb_prepare(struct evs_worker *w, struct evs_task *t)
{
	char *src = w->tp, *dst = t->tp;
	uintptr_t lo = (uintptr_t)src - static_lo, hi = (uintptr_t)src + tcb_size;
	void *dtv;
	memcpy(&dtv, dst + sizeof(void *), sizeof(dtv));
	memcpy(dst, src, tcb_size);
	memcpy(dst + sizeof(void *), &dtv, sizeof(dtv));
	for (size_t o = 0; o + sizeof(uintptr_t) <= tcb_size; o += sizeof(uintptr_t)) {
		uintptr_t v;
		memcpy(&v, dst + o, sizeof(v));
		if (v >= lo && v < hi && o != sizeof(void *)) {
			v = v - (uintptr_t)src + (uintptr_t)dst;
			memcpy(dst + o, &v, sizeof(v));
		}
	}
	if (have_list) {
		char *self = dst + list_off;
		memcpy(self, &self, sizeof(self));                   /* next */
		memcpy(self + sizeof(self), &self, sizeof(self));    /* prev */
	}
	if (have_rseq) {
		uint32_t unknown = (uint32_t)-1;  /* RSEQ_CPU_ID_UNINITIALIZED */
		memcpy(dst + rseq_off + 4, &unknown, sizeof(unknown));  /* cpu_id */
	}
	t->tcb_ready = 1;
}

void evs_tls_task_free(struct evs_worker *w, struct evs_task *t)
{
	if (evs_tls_by_address) {
		if (w->tls_owner == t) {  /* its area is loaded: back to the worker's */
			if (t->tp && t->tp != w->tp)
				load_tp(t->tp, w->tp);
			w->tls_owner = NULL;
		}
		/* A forked child's only kernel thread runs on the forking
		 * task's area: that one stays. */
		if (t->tp && t->tp != w->tp)
			deallocate_tls(t->tp, 1);
		t->tp = NULL;
		return;
	}
	if (w->tls_owner == t)
		w->tls_owner = NULL;  /* its copy is dead: nothing to save */
	free(t->tls);
	t->tls = NULL;
}

bool evs_tls_movable(void)
{
	return evs_tls_by_address && have_tid;
}

void evs_tls_move(struct evs_worker *w, struct evs_worker *to, struct evs_task *t)
{
	if (w->tls_owner == t) {
		if (t->tp && t->tp != w->tp)
			load_tp(t->tp, w->tp);
		w->tls_owner = NULL;
	}
	memcpy((char *)t->tp + tid_off, (char *)to->tp + tid_off, sizeof(int));
}

void evs_tls_worker_stop(struct evs_worker *w)
{
	if (evs_tls_by_address && w->tls_owner) {
		if (w->tls_owner->tp && w->tls_owner->tp != w->tp)
			load_tp(w->tls_owner->tp, w->tp);
		w->tls_owner = NULL;
	}
}

const char *evs_tls_mode(void)
{
	if (!evs_tls_total && evs_tls_armed)
		return "none yet (no __thread data of the program's own; a task gets its own thread "
		       "pointer once it touches a dlopen'd library's)";
	if (!evs_tls_total)
		return "none (no __thread data of the program's own)";
	if (!evs_tls_by_address)
		return "copy (tasks of a worker share __thread addresses)";
	return fast_fs ? "address (own thread pointer per task, wrfsbase)"
		       : "address (own thread pointer per task, arch_prctl per switch)";
}

bool evs_tls_overlaps(const void *p, size_t n)
{
	if (!evs_tls_total && !evs_tls_by_address)
		return false;
	const char *tp = __builtin_thread_pointer(), *a = p;
	if (evs_tls_by_address) {
		/* Only the blocks that follow the worker move under a task. */
		for (int i = 0; i < nfwd; i++) {
			const char *lo = tp + fwd[i].off, *hi = lo + fwd[i].memsz;
			if (a < hi && a + n > lo)
				return true;
		}
		return false;
	}
	for (int i = 0; i < nmods; i++) {
		const char *lo = tp + mods[i].off, *hi = lo + mods[i].memsz;
		if (a < hi && a + n > lo)
			return true;
	}
	return false;
}

/* A task's own area, made by its creator in address mode, or the first
 * time it is switched to once address mode came on (main keeps the main
 * thread's). false: no memory (evs_tls_swap: the task runs on its
 * worker's area meanwhile, shared addresses as in copy mode; logged
 * once). */
static bool give_area(struct evs_task *t)
{
	if (t == &evs_main_task) {
		t->tp = evs_workers[0].tp;
		t->tcb_ready = 1;
		return true;
	}
	t->tp = allocate_tls(NULL);
	return t->tp != NULL;
}

bool evs_tls_has_area(const struct evs_task *t)
{
	return t->tp != NULL;
}

void evs_tls_swap(struct evs_worker *w, struct evs_task *next)
{
	struct evs_task *old = w->tls_owner;
	if (evs_tls_by_address) {
		char *from = old && old->tp ? old->tp : w->tp;
		if (!next->tp && !give_area(next)) {
			/* It runs on its worker's own area, not on the one
			 * loaded (another task's); tried again next time. */
			static int said;
			if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
				evs_log(EVS_LOG_WARN, "no memory for a task's TLS area: it shares "
					"its worker's until there is");
			if (from != w->tp)
				load_tp(from, w->tp);
			w->tls_owner = NULL;
			return;
		}
		if (!next->tcb_ready)
			tcb_prepare(w, next);
		if (next->tp != from)
			load_tp(from, next->tp);
		w->tls_owner = next;
		return;
	}
	char *tp = w->tp;
	for (int i = 0; i < nmods; i++) {
		char *blk = tp + mods[i].off;
		if (old)
			memcpy((char *)old->tls + mods[i].at, blk, mods[i].memsz);
		memcpy(blk, (char *)next->tls + mods[i].at, mods[i].memsz);
	}
	w->tls_owner = next;
}

int evs_tls_add_dtor(struct evs_task *t, void (*fn)(void *), void *obj)
{
	struct evs_tls_dtor *d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->obj = obj;
	d->next = t->tls_dtors;
	t->tls_dtors = d;
	return 0;
}

void evs_tls_run_dtors(struct evs_task *t)
{
	struct evs_tls_dtor *d;
	while ((d = t->tls_dtors)) {
		t->tls_dtors = d->next;
		d->fn(d->obj);
		free(d);
	}
}
