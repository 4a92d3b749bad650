/* Handing off a blocking system call the shim could not see (rt/handoff.c).
 * Called by the monitor's signal handler on the task it interrupted, at a
 * safe point: true when the call was made elsewhere and the context set to
 * resume after it. */
#ifndef EVS_HANDOFF_H
#define EVS_HANDOFF_H
#include <stdbool.h>
#include <ucontext.h>

bool evs_handoff_syscall(ucontext_t *uc);
/* The same for the runtime's own call at its one site for calls that may
 * wait on what it cannot see (arch/window.h evs_offable_syscall): with no
 * program code on the stack, never learned as a site. */
bool evs_handoff_offable(ucontext_t *uc);
/* A call (number and six arguments) the monitor would hand off: a
 * blocking one that acts on no thread state, no argument in swapped TLS. */
bool evs_handoff_call_ok(const long call[7]);
/* The call (number and six arguments) made on this thread. */
long evs_handoff_raw(void *call);
/* Make it on a pool thread now, the task parked meanwhile; uc, the
 * context on the instruction that makes the call, is set to resume after
 * it with its result. A signal for the task ends a call that waits
 * interruptibly as the kernel would: the handlers run with uc, and the
 * call is made again if the kernel would have. */
void evs_handoff_run(ucontext_t *uc, long call[7]);

/* The monitor, about to signal w: note the system call w's thread is
 * blocked in, if any (its number, arguments, sp and pc, from
 * /proc/self/task/TID/syscall). */
struct evs_worker;
void evs_handoff_note(struct evs_worker *w);
/* The handler, on w: the signal ended that call with -EINTR, a call the
 * kernel does not restart but that may be made again (a wait without a
 * time limit, or until an absolute time, that did nothing): the context
 * is set to make it again, as a restart; true then. in_libc: the call is
 * libc's own (the task was interrupted inside libc): only its futex
 * waits until an absolute time are made again. */
bool evs_handoff_redo(struct evs_worker *w, ucontext_t *uc, bool in_libc);
#endif
