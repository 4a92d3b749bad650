/* Where was a task interrupted? The monitor (preemption) and signal
 * delivery ask this of a signal's saved context, to know whether the
 * runtime may act on that task there. Built on a map of the process's
 * code made at start-up and grown by the monitor as libraries are
 * loaded, so the answer is async-signal-safe. */
#ifndef EVS_SAFEPOINT_H
#define EVS_SAFEPOINT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

enum evs_at {
	EVS_AT_SHIM,      /* the shim is on the stack (its state may be mid-update), or we cannot tell */
	EVS_AT_LIBC,      /* libc, the loader, or code not crossed, above the program's own */
	EVS_AT_PROGRAM,   /* nothing but the program's own code (or a bare system-call wrapper it called) */
};

void evs_safepoint_init(void);      /* at load: the code map */
/* The monitor's, before it signals a worker: when a walk met code in no
 * module since the last call and the loader has loaded or unloaded a
 * library since, the map takes in what dlopen added (and forgets what
 * dlclose removed). Not async-signal-safe (dl_iterate_phdr). A library
 * loaded with dlopen is the program's code like one loaded at start-up
 * (OCaml's bytecode threads run under dllthreads.so, which ocamlrun
 * loads so: every preemption was refused there). */
void evs_safepoint_refresh(void);
/* Nonzero while this thread walks a stack with libunwind: the pipe
 * libunwind opens for its memory checks (at its first walk) is then made
 * one of the runtime's hidden fds (hook/fdio.c), out of the program's
 * numbers and safe from its close(). */
extern __thread int evs_unwinding __attribute__((tls_model("initial-exec")));
/* Meanwhile evs_self is NULL (libunwind's libc calls go straight to
 * libc), and the worker is here: a signal that comes then came inside the
 * runtime (rt/signal.c). */
struct evs_worker;
extern __thread struct evs_worker *evs_safepoint_walker __attribute__((tls_model("initial-exec")));
/* libunwind's one-time set-up, done when the runtime starts, with the
 * workers' pollers (rt/worker.c): a process that never starts the runtime
 * has none of its fds. The pipe libunwind opens for its memory checks is
 * hidden at a high number (see evs_unwinding), so it never shifts the
 * program's fd numbers. Until it is done evs_safepoint_classify answers
 * from the interrupted instruction alone. */
void evs_safepoint_unwind_setup(void);
/* The whole stack (main_task: libc's start code below main is fine).
 * [stack_lo, stack_hi): the task's stack, readable; code in no module
 * (generated) is crossed by its frame pointers within it, and with
 * stack_hi 0 it counts as libc (cannot tell). */
enum evs_at evs_safepoint_classify(ucontext_t *uc, bool main_task, uintptr_t stack_lo, uintptr_t stack_hi);
/* For a signal's delivery (rt/signal.c): the same, where a top frame
 * that is a bare system-call wrapper of libc's by its code (it follows a
 * `syscall` and pushed nothing: its return address, just after a call in
 * the program's code, is at the stack pointer) counts as one of the named
 * wrappers; before the unwinder is set up (a process that never started
 * the runtime), that frame alone makes it EVS_AT_PROGRAM. The kernel
 * hands over a signal a system call raised (a directory notification,
 * SIGIO, SIGPIPE) as that call returns, nearly always in such a wrapper:
 * noted there, its handler ran only at the task's next hooked call, and
 * the program's look right after the call found it had not run
 * (tests/progs/sig_at_bare_call.c; stress-ng --dnotify). Not for the
 * monitor's preemptions, whose redo of interrupted calls knows only the
 * named wrappers. */
enum evs_at evs_safepoint_classify_sig(ucontext_t *uc, bool main_task, uintptr_t stack_lo,
				       uintptr_t stack_hi);
/* Was the thread interrupted inside libc's own raise (within its first
 * frames: abort, assert and glibc's fatal errors call it directly, past
 * the shim's hook)? Natively the handler of such a signal has run when
 * raise returns; abort then restores the default action and raises again
 * (in libc, where the shim does not see it), so a signal only noted
 * there would never reach the program's handler. */
bool evs_safepoint_raised(ucontext_t *uc, uintptr_t stack_lo, uintptr_t stack_hi);
/* The interrupted instruction alone: EVS_AT_PROGRAM when it is in the
 * program's own code (the shim calls the program only at clean points, so
 * no shim state can be half-updated then), EVS_AT_SHIM when in the shim,
 * EVS_AT_LIBC otherwise (libc, or a library both may call: ambiguous). */
enum evs_at evs_safepoint_at_ip(uintptr_t ip);
/* Was the task interrupted at work inside libc (or the loader, or another
 * library classed with libc) itself: not in a bare system-call wrapper
 * nor a memory or string function, and not waiting in a system call
 * (one to be restarted, or just back with EINTR; a wait for one of
 * libc's own locks, and the memory calls malloc makes, count as work)?
 * Such code may hold one of libc's own locks (malloc's arena, a FILE's,
 * the loader's), which the worker's other tasks would wait for in the
 * kernel, holding the worker. Only after evs_safepoint_classify has
 * answered EVS_AT_LIBC (the unwinder is set up then). */
bool evs_safepoint_in_libc_work(ucontext_t *uc);
/* Up to max frames of the stack uc describes, one line each ("#N ADDR
 * function+offset (module)"), into buf; returns the length. signal_frame:
 * uc is a signal's context (the top frame faulted or was interrupted),
 * else a suspended task's (rt/dump.c). Not async-signal-safe (symbol
 * lookups): used where the process is dying or from the dump thread. */
size_t evs_backtrace(ucontext_t *uc, bool signal_frame, int max, char *buf, size_t len);
#endif
