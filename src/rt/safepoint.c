/* The code map and the stack walk behind safepoint.h. */
#include "../evs.h"
#include "safepoint.h"
#include "../obs/log.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#define EVS_UNWIND_DEPTH 64


/* --- the module map ---------------------------------------------------- */

enum { MOD_PROGRAM, MOD_LIBC, MOD_SHIM, MOD_UNKNOWN, MOD_GONE };

/* Made at start-up, then grown by the monitor (evs_safepoint_refresh)
 * when libraries are loaded with dlopen: entries are only appended (each
 * filled in before the count that covers it is published) or marked
 * MOD_GONE when their library is unloaded, never reused, so a signal
 * handler reading the map while the monitor grows it sees each entry
 * whole. A library past the last slot stays unknown. */
#define EVS_MAX_MODS 1024
static struct mod {
	uintptr_t lo, hi;     /* an executable segment */
	int kind;
	int exe;              /* the main executable */
} mods[EVS_MAX_MODS];
static int nmods;

/* libc functions a task may be interrupted in (top frame only): bare
 * system-call wrappers, and the memory and string functions, which take
 * no lock and keep no state (a CPU-bound program spends much of its time
 * in them: xz's main thread copying input was refused in memcpy every
 * time, and the compressor waiting behind it waited for the copy). */
static const char *const wrappers[] = {
	"syscall", "read", "write", "pread64", "pwrite64", "readv", "writev",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "accept", "accept4",
	"connect", "nanosleep", "clock_nanosleep", "poll", "ppoll", "select",
	"pselect", "epoll_wait", "epoll_pwait", "pause", "sigsuspend",
	"wait4", "waitpid", "msgrcv", "msgsnd", "semop", "flock",
	"memcpy", "memmove", "mempcpy", "memset", "memcmp", "bcmp", "memchr",
	"memrchr", "rawmemchr", "strlen", "strnlen", "strcmp", "strncmp",
	"strchr", "strrchr", "strchrnul", "strcpy", "stpcpy", "strncpy",
	"strcat", "strstr", "wmemset", "wmemcpy", "wmemcmp", "wcslen",
	"__memcpy_chk", "__memmove_chk", "__mempcpy_chk", "__memset_chk",
};
#define NWRAP (sizeof(wrappers) / sizeof(wrappers[0]))
static uintptr_t wrapper_at[NWRAP];
static uintptr_t raise_at, raise_end;  /* libc's raise (abort's, assert's) */

static int kind_of_name(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	if (!strncmp(b, "libc.so", 7) || !strncmp(b, "ld-linux", 8) ||
	    !strncmp(b, "libgcc_s", 8) || !strncmp(b, "libdl.so", 8) ||
	    !strncmp(b, "libpthread.so", 13) || !strncmp(b, "linux-vdso", 10) ||
	    !strncmp(b, "libunwind", 9) || !strncmp(b, "liburing", 8) ||
	    !strncmp(b, "libaio", 6))
		return MOD_LIBC;  /* libc, or a library the shim calls too: ambiguous */
	return MOD_PROGRAM;
}

/* The executable segments of the loaded objects, as dl_iterate_phdr
 * reports them, into a list of up to max entries. */
struct mod_list {
	struct mod *m;
	int n, max;
};

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct mod_list *l = arg;
	int kind = kind_of_name(info->dlpi_name);
	/* The shim's own object: the one whose code holds this function
	 * (no dladdr: it searches the object's whole symbol table, and it
	 * ran once per loaded object in every process's start-up) */
	uintptr_t self = (uintptr_t)evs_safepoint_init;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && self >= info->dlpi_addr + ph->p_vaddr &&
		    self < info->dlpi_addr + ph->p_vaddr + ph->p_memsz)
			kind = MOD_SHIM;
	}
	for (int i = 0; i < info->dlpi_phnum && l->n < l->max; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		struct mod *m = &l->m[l->n++];
		m->lo = info->dlpi_addr + ph->p_vaddr;
		m->hi = m->lo + ph->p_memsz;
		m->kind = kind;
		m->exe = info->dlpi_name[0] == '\0';
	}
	return 0;
}

/* Set by a stack walk that met code in no module: code generated at run
 * time, or a library loaded after the map was made. */
static int map_missed;

static const struct mod *module_of(uintptr_t ip)
{
	int n = __atomic_load_n(&nmods, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (ip >= mods[i].lo && ip < mods[i].hi &&
		    __atomic_load_n(&mods[i].kind, __ATOMIC_RELAXED) != MOD_GONE)
			return &mods[i];
	if (!__atomic_load_n(&map_missed, __ATOMIC_RELAXED))
		__atomic_store_n(&map_missed, 1, __ATOMIC_RELAXED);
	return NULL;  /* generated, or loaded since the last refresh: unknown */
}

/* dlopen and dlclose since start-up, as the loader counts them. */
static int count_loads(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		c[0] = info->dlpi_adds;
		c[1] = info->dlpi_subs;
	}
	return 1;  /* the first object says it */
}

static unsigned long long seen_loads[2];
static struct mod fresh[EVS_MAX_MODS];

void evs_safepoint_refresh(void)
{
	if (!__atomic_load_n(&map_missed, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&map_missed, 0, __ATOMIC_RELAXED);
	unsigned long long c[2] = { 0, 0 };
	dl_iterate_phdr(count_loads, c);
	if (c[0] == seen_loads[0] && c[1] == seen_loads[1])
		return;  /* nothing loaded or unloaded: generated code */
	seen_loads[0] = c[0];
	seen_loads[1] = c[1];
	struct mod_list l = { fresh, 0, EVS_MAX_MODS };
	dl_iterate_phdr(collect, &l);
	int n = nmods;
	for (int i = 0; i < n; i++) {  /* unloaded: forgotten */
		int j = 0;
		while (j < l.n && (fresh[j].lo != mods[i].lo || fresh[j].hi != mods[i].hi))
			j++;
		if (j == l.n)
			__atomic_store_n(&mods[i].kind, MOD_GONE, __ATOMIC_RELAXED);
	}
	for (int j = 0; j < l.n; j++) {  /* loaded: added */
		int i = 0;
		while (i < n && (fresh[j].lo != mods[i].lo || fresh[j].hi != mods[i].hi ||
				 mods[i].kind == MOD_GONE))
			i++;
		if (i < n)
			continue;
		if (n == EVS_MAX_MODS) {
			evs_log(EVS_LOG_INFO, "more than %d code segments loaded: later ones count as "
					      "unknown code for preemption", EVS_MAX_MODS);
			break;
		}
		mods[n] = fresh[j];
		__atomic_store_n(&nmods, ++n, __ATOMIC_RELEASE);
	}
}

/* --- where was the task interrupted? ----------------------------------- */

static int is_wrapper(unw_cursor_t *c)
{
	unw_proc_info_t pi;
	if (unw_get_proc_info(c, &pi) != 0)
		return 0;
	for (size_t i = 0; i < NWRAP; i++)
		if (wrapper_at[i] && pi.start_ip == wrapper_at[i])
			return 1;
	return 0;
}

/* libunwind opens its pipe (for address validation, which local cursors
 * like ours never use) at its set-up: see safepoint.h. */
static int unw_ready;
__thread int evs_unwinding;
__thread struct evs_worker *evs_safepoint_walker;

/* This thread looks like one the runtime does not own while libunwind
 * runs (its libc calls go straight to libc); the worker is kept aside. */
static struct evs_worker *hide_self(void)
{
	struct evs_worker *self = evs_self;
	evs_self = NULL;
	if (self)
		evs_safepoint_walker = self;
	evs_unwinding++;
	return self;
}

static void unhide_self(struct evs_worker *self)
{
	evs_unwinding--;
	if (self)
		evs_safepoint_walker = NULL;
	evs_self = self;
}

void evs_safepoint_unwind_setup(void)
{
	if (__atomic_load_n(&unw_ready, __ATOMIC_ACQUIRE))
		return;
	/* libunwind blocks every signal and puts the mask back around its
	 * set-up: straight to libc, as in a walk (evs_safepoint_classify).
	 * Through the hooks, the task's mask put back let a signal pending
	 * for it run its handler here, inside the runtime's start at the
	 * program's first wait: a pselect whose mask let one in went on
	 * to wait its whole timeout instead of failing with EINTR. */
	struct evs_worker *self = hide_self();
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
	unhide_self(self);
	__atomic_store_n(&unw_ready, 1, __ATOMIC_RELEASE);
}

/* --- generated code ------------------------------------------------------
 * Code in no loaded module (a JIT's output, SBCL's compiled Lisp in its
 * heap) has no unwind information, so libunwind stops there. Such code is
 * the program's own, but what lies below it must still be known: libc
 * holding a lock under a callback would make a switch unsafe. It is
 * crossed by its frame-pointer chain (saved rbp at [rbp], the return
 * address above it: SBCL's Lisp frames and code built with frame pointers
 * keep it), each link checked to stay on the task's stack and go up, to
 * the first return address into a known module, where libunwind takes
 * over; generated code called by libc is unsafe. The interrupted frame
 * may be a leaf without a frame of its own: its return address is at the
 * stack pointer when it pushed nothing, else rbp is still its caller's
 * and the chain skips that caller, so every word of the stack between
 * the interrupted stack pointer and the first link is looked at, and one
 * that is a return address into libc or the shim (a call instruction
 * just before it) makes the answer unsafe. Only there: further up, dead
 * slots of C frames hold stale return addresses into the shim (SBCL's
 * thread start called its hooks), and each frame of the chain names its
 * own caller. */

#define EVS_FP_HOPS 1024          /* frames of generated code crossed at most */
#define EVS_FP_WORDS (64 * 1024)  /* stack words looked at while crossing */

/* Is there a call instruction ending just before ra (in module m, whose
 * bytes are mapped)? The forms compilers emit: call rel32, and call
 * through a register or memory operand (FF /2) of 2, 3, 4, 6 or 7 bytes. */
static bool after_call(const struct mod *m, uintptr_t ra)
{
	if (ra < m->lo + 7 || ra > m->hi)
		return false;
	const unsigned char *p = (const unsigned char *)ra;
	if (p[-5] == 0xe8)
		return true;
	static const int back[] = { 2, 3, 4, 6, 7 };
	for (size_t i = 0; i < sizeof(back) / sizeof(back[0]); i++)
		if (p[-back[i]] == 0xff && ((p[-back[i] + 1] >> 3) & 7) == 2)
			return true;
	return false;
}

/* The top frame is a bare system-call wrapper of libc's by its code, not
 * by its name: the interrupted instruction follows a `syscall` (a call
 * the kernel restarts has the pc back on the instruction instead) and the
 * function has pushed nothing, its return address at the stack pointer,
 * just after a call in the program's own code. glibc's chmod, unlink,
 * rename... are such: `mov $nr, %eax; syscall; cmp; jae; ret`. One called
 * from the shim (its return address in the shim) is not. */
static bool leaf_syscall(const ucontext_t *uc, uintptr_t lo, uintptr_t hi)
{
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	const struct mod *m = module_of(ip);
	if (!m || m->kind != MOD_LIBC || ip < m->lo + 2 || ip > m->hi)
		return false;
	const unsigned char *p = (const unsigned char *)ip;
	if (p[-2] != 0x0f || p[-1] != 0x05)
		return false;
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	if (!hi || sp < lo || sp % 8 || sp >= hi || hi - sp < 8)
		return false;  /* (no sum: sp may be anything, near 2^64 too) */
	uintptr_t ra = *(const uintptr_t *)sp;
	const struct mod *c = module_of(ra);
	return c && c->kind == MOD_PROGRAM && after_call(c, ra);
}

/* The cursor set on a known module's frame at ra, with the stack pointer
 * sp and frame pointer bp there. */
static bool resume_at(unw_cursor_t *c, ucontext_t *uc, uintptr_t ra, uintptr_t sp, uintptr_t bp)
{
	ucontext_t at = *uc;
	at.uc_mcontext.gregs[REG_RIP] = (greg_t)ra;
	at.uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
	at.uc_mcontext.gregs[REG_RBP] = (greg_t)bp;
	return unw_init_local2(c, (unw_context_t *)&at, 0) == 0;
}

/* Generated code called from module m at ra: libc calling it back (its
 * locks may be held: no telling) is unsafe; the program's code, or the
 * shim's task entry, is walked on from there. */
static enum evs_at called_from(unw_cursor_t *c, ucontext_t *uc, const struct mod *m, uintptr_t ra,
			       uintptr_t sp, uintptr_t bp)
{
	if (m->kind == MOD_LIBC)
		return EVS_AT_LIBC;
	return resume_at(c, uc, ra, sp, bp) ? EVS_AT_PROGRAM : EVS_AT_SHIM;
}

/* From the frame of generated code at (sp, bp) to its caller in a known
 * module: the cursor is set there and EVS_AT_PROGRAM returned (the walk
 * classifies that frame and goes on); otherwise the answer. top: the
 * interrupted frame, which may be a leaf that pushed nothing (its return
 * address at sp, rbp still its caller's). */
static enum evs_at cross_generated(unw_cursor_t *c, ucontext_t *uc, uintptr_t sp, uintptr_t bp,
				   uintptr_t lo, uintptr_t hi, bool top, size_t *words)
{
	if (sp < lo || sp >= hi)
		return EVS_AT_LIBC;  /* not on the task's stack: cannot tell */
	if (top && sp % 8 == 0 && sp + 8 <= hi) {
		uintptr_t ra = *(const uintptr_t *)sp;
		const struct mod *m = module_of(ra);
		if (m && after_call(m, ra))
			return called_from(c, uc, m, ra, sp + 8, bp);
	}
	for (int hop = 0; hop < EVS_FP_HOPS; hop++) {
		/* bp is whatever the generated code keeps there (Chez
		 * Scheme's holds -8): compared, never summed, so a value
		 * near 2^64 cannot wrap past the check */
		if (bp < sp || bp % 8 || bp >= hi || hi - bp < 16)
			return EVS_AT_LIBC;  /* no chain to follow: cannot tell */
		for (uintptr_t a = sp; top && hop == 0 && a < bp + 8; a += 8) {
			if (++*words > EVS_FP_WORDS)
				return EVS_AT_LIBC;
			uintptr_t v = *(const uintptr_t *)a;
			const struct mod *m = module_of(v);
			if (m && m->kind != MOD_PROGRAM && after_call(m, v))
				return m->kind == MOD_SHIM ? EVS_AT_SHIM : EVS_AT_LIBC;  /* maybe skipped */
		}
		uintptr_t ra = *(const uintptr_t *)(bp + 8);
		uintptr_t next = *(const uintptr_t *)bp;
		const struct mod *m = module_of(ra);
		if (m)
			return called_from(c, uc, m, ra, bp + 16, next);
		sp = bp + 16;
		bp = next;
	}
	return EVS_AT_LIBC;
}

static enum evs_at walk(ucontext_t *uc, bool main_task, uintptr_t stack_lo, uintptr_t stack_hi,
			bool leaf_ok)
{
	unw_cursor_t c;
	if (unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) != 0)
		return EVS_AT_SHIM;  /* cannot tell: treat as unsafe */
	int program_seen = 0, libc_seen = 0;
	size_t words = 0;
	for (int i = 0; i < EVS_UNWIND_DEPTH; i++) {
		unw_word_t ip;
		unw_get_reg(&c, UNW_REG_IP, &ip);
		const struct mod *m = module_of((uintptr_t)ip);
		int kind = m ? m->kind : MOD_UNKNOWN;
		if (kind == MOD_SHIM) {
			/* Shim frames are allowed only as a task's first frames
			 * (task_entry, then the trampoline that ends the walk),
			 * below the program's. */
			if (!program_seen)
				return EVS_AT_SHIM;
			for (int k = 0; k < 2; k++) {
				if (unw_step(&c) <= 0)
					return libc_seen ? EVS_AT_LIBC : EVS_AT_PROGRAM;
				unw_get_reg(&c, UNW_REG_IP, &ip);
				m = module_of((uintptr_t)ip);
				if (!m || m->kind != MOD_SHIM)
					return EVS_AT_SHIM;
			}
			return unw_step(&c) <= 0 ? (libc_seen ? EVS_AT_LIBC : EVS_AT_PROGRAM) : EVS_AT_SHIM;
		}
		if (kind == MOD_LIBC) {
			if (i == 0 && (is_wrapper(&c) ||
				       (leaf_ok && leaf_syscall(uc, stack_lo, stack_hi)))) {
				/* a bare system call made by the program */
			} else if (main_task && program_seen) {
				/* below main: libc's start code and _start */
				return libc_seen ? EVS_AT_LIBC : EVS_AT_PROGRAM;
			} else {
				libc_seen = 1;
			}
		} else if (kind == MOD_UNKNOWN) {
			unw_word_t sp, bp;
			if (!stack_hi || unw_get_reg(&c, UNW_REG_SP, &sp) || unw_get_reg(&c, UNW_X86_64_RBP, &bp)) {
				libc_seen = 1;
			} else {
				/* generated code: crossed by its frame pointers */
				enum evs_at at = cross_generated(&c, uc, sp, bp, stack_lo, stack_hi, i == 0, &words);
				if (at != EVS_AT_PROGRAM)
					return at;
				program_seen = 1;
				continue;
			}
		} else {
			program_seen = 1;
		}
		if (unw_step(&c) <= 0)
			break;
	}
	return libc_seen || !program_seen ? EVS_AT_LIBC : EVS_AT_PROGRAM;
}

#define EVS_RAISE_WORDS 64  /* raise's return address is this close */

bool evs_safepoint_raised(ucontext_t *uc, uintptr_t stack_lo, uintptr_t stack_hi)
{
	/* No unwinder (it is set up only once the runtime starts, and a
	 * single-threaded program aborts too): the interrupted instruction
	 * is libc's, and a return address into raise, just after a call, is
	 * among the words above the stack pointer (libc's pthread_kill runs
	 * the tgkill for raise with its frame below raise's). */
	if (!raise_at || !stack_hi)
		return false;
	const struct mod *m = module_of((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]);
	if (!m || m->kind != MOD_LIBC)
		return false;
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	if (sp < stack_lo || sp >= stack_hi)
		return false;  /* not on the task's stack: words above it unknown */
	for (int i = 0; i < EVS_RAISE_WORDS && sp + (i + 1) * sizeof(uintptr_t) <= stack_hi; i++) {
		uintptr_t v = ((const uintptr_t *)sp)[i];
		if (v > raise_at && v < raise_end && after_call(m, v))
			return true;
	}
	return false;
}

/* libunwind calls pthread_sigmask and pthread_mutex_lock itself: while it
 * walks, this thread looks like one the runtime does not own, so those
 * calls go straight to libc instead of into the runtime (whose locks the
 * interrupted code may hold). */
static enum evs_at classify(ucontext_t *uc, bool main_task, uintptr_t stack_lo, uintptr_t stack_hi,
			    bool leaf_ok)
{
	if (!__atomic_load_n(&unw_ready, __ATOMIC_ACQUIRE))
		return leaf_ok && leaf_syscall(uc, stack_lo, stack_hi) ? EVS_AT_PROGRAM : EVS_AT_SHIM;
	struct evs_worker *self = hide_self();
	enum evs_at at = walk(uc, main_task, stack_lo, stack_hi, leaf_ok);
	unhide_self(self);
	return at;
}

enum evs_at evs_safepoint_classify(ucontext_t *uc, bool main_task, uintptr_t stack_lo, uintptr_t stack_hi)
{
	return classify(uc, main_task, stack_lo, stack_hi, false);
}

enum evs_at evs_safepoint_classify_sig(ucontext_t *uc, bool main_task, uintptr_t stack_lo,
				       uintptr_t stack_hi)
{
	return classify(uc, main_task, stack_lo, stack_hi, true);
}

/* --- backtraces (the task dump, the crash report) ---------------------- */

size_t evs_backtrace(ucontext_t *uc, bool signal_frame, int max, char *buf, size_t len)
{
	size_t n = 0;
	if (len == 0)
		return 0;
	buf[0] = 0;
	evs_safepoint_unwind_setup();
	struct evs_worker *self = hide_self();  /* libunwind's own libc calls go straight to libc */
	unw_cursor_t c;
	if (unw_init_local2(&c, (unw_context_t *)uc, signal_frame ? UNW_INIT_SIGNAL_FRAME : 0)) {
		evs_text_put(buf, len, &n, "    (no backtrace: the unwinder refused the context)\n");
		unhide_self(self);
		return n;
	}
	for (int i = 0; i < max; i++) {
		unw_word_t ip = 0, off = 0;
		char name[128];
		unw_get_reg(&c, UNW_REG_IP, &ip);
		if (unw_get_proc_name(&c, name, sizeof(name), &off) != 0)
			strcpy(name, "??");
		Dl_info di;
		const char *file = "?";
		if (dladdr((void *)(uintptr_t)ip, &di) && di.dli_fname) {
			file = strrchr(di.dli_fname, '/');
			file = file ? file + 1 : di.dli_fname;
			if (!*file)
				file = program_invocation_short_name;
		}
		evs_text_put(buf, len, &n, "    #%-2d 0x%012lx %s+0x%lx (%s)\n", i, (unsigned long)ip, name,
		    (unsigned long)off, file);
		if (unw_step(&c) <= 0)
			break;
	}
	unhide_self(self);
	return n;
}

enum evs_at evs_safepoint_at_ip(uintptr_t ip)
{
	const struct mod *m = module_of(ip);
	if (!m || m->kind == MOD_LIBC)
		return EVS_AT_LIBC;
	return m->kind == MOD_SHIM ? EVS_AT_SHIM : EVS_AT_PROGRAM;
}

bool evs_safepoint_in_libc_work(ucontext_t *uc)
{
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	const struct mod *m = module_of(ip);
	if (!m || m->kind != MOD_LIBC)
		return false;
	const unsigned char *p = (const unsigned char *)ip;
	long rax = (long)uc->uc_mcontext.gregs[REG_RAX];
	if (p[0] == 0x0f && p[1] == 0x05) {
		/* syscall, rax its number: the call is to be restarted (it
		 * was waiting), or about to be made. Calls that come back at
		 * once (malloc's brk and mmap, with the arena's lock held)
		 * are work; so is a wait for one of libc's own locks (the
		 * holder lets it go soon, but the waiter may hold another:
		 * fork waits for each arena holding the list's lock). */
		switch (rax) {
		case SYS_futex: case SYS_brk: case SYS_mmap: case SYS_munmap:
		case SYS_mremap: case SYS_madvise: case SYS_mprotect:
			break;
		default:
			return false;
		}
	}
	/* just back from a call that a signal interrupted: it was waiting */
	if (ip >= m->lo + 2 && p[-2] == 0x0f && p[-1] == 0x05 && rax == -EINTR)
		return false;
	if (!__atomic_load_n(&unw_ready, __ATOMIC_ACQUIRE))
		return false;
	struct evs_worker *self = hide_self();
	unw_cursor_t c;
	bool work = unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) != 0 || !is_wrapper(&c);
	unhide_self(self);
	return work;
}

void evs_safepoint_init(void)
{
	struct mod_list l = { mods, 0, EVS_MAX_MODS };
	dl_iterate_phdr(collect, &l);
	__atomic_store_n(&nmods, l.n, __ATOMIC_RELEASE);
	dl_iterate_phdr(count_loads, seen_loads);
	for (size_t i = 0; i < NWRAP; i++) {
		void *p = dlsym(RTLD_NEXT, wrappers[i]);
		const struct mod *m = p ? module_of((uintptr_t)p) : NULL;
		/* only libc's own: a wrapper the program defines is its code */
		if (m && m->kind == MOD_LIBC)
			wrapper_at[i] = (uintptr_t)p;
	}
	void *r = dlsym(RTLD_NEXT, "raise");
	const struct mod *m = r ? module_of((uintptr_t)r) : NULL;
	Dl_info di;
	const ElfW(Sym) *sym = NULL;
	if (m && m->kind == MOD_LIBC && dladdr1(r, &di, (void **)&sym, RTLD_DL_SYMENT) && sym &&
	    sym->st_size) {
		raise_at = (uintptr_t)r;
		raise_end = raise_at + sym->st_size;
	}
}
