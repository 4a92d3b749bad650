/* Waiting for child processes: the task parks, the kernel's WNOHANG wait
 * gives the answer (rt/child.c). Both return what the system call would
 * (>= 0, -errno; -EINTR after a signal's handler without SA_RESTART;
 * -ECANCELED when the task is being cancelled), or EVS_USE_REAL. */
#ifndef EVS_CHILD_H
#define EVS_CHILD_H
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

long evs_wait4(pid_t pid, int *status, int options, struct rusage *ru);
/* The process traces others (it called ptrace to attach, seize or be
 * traced): from then on its waits are the real blocking calls (counted as
 * fallbacks), since a tracee's stops, which a pidfd never reports, wake
 * only a real wait (strace, gdb). */
void evs_child_tracing(void);
long evs_waitid(idtype_t type, id_t id, siginfo_t *info, int options);
/* The pid of the latest vfork child that left by _exit (hook/proc.c,
 * hook/vfork_x86_64.S), or 0: when vfork returned to its parent, that
 * child was past the point of no return and becomes a zombie within
 * microseconds, so a wait for it waits in the kernel instead of parking
 * on a pidfd (the child's exit and the parent's wake-up race: 9 waits in
 * 10 found no zombie yet). Any new child clears it (evs_child_forking),
 * so a later child that reuses the number is never taken for it. */
extern int evs_vfork_exited;
void evs_child_forking(void);
#endif
