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
long evs_waitid(idtype_t type, id_t id, siginfo_t *info, int options);
#endif
