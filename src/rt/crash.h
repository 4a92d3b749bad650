/* Crash reports (rt/crash.c): the fatal signals a program leaves at
 * SIG_DFL (SEGV, BUS, ILL, FPE, ABRT, SYS) get a handler that names the
 * task, gives its backtrace (a stack overflow: the stack size and the
 * variable that raises it), then ends the process by the same signal. */
#ifndef EVS_CRASH_H
#define EVS_CRASH_H
#include <signal.h>
#include <stdbool.h>

/* At start-up, after the signal state is read: the handlers, and the
 * alternate stack of the calling thread (worker 0). */
void evs_crash_init(void);
/* Each worker thread: its alternate stack. */
void evs_crash_thread_start(void);
/* A spare worker leaving: its alternate stack goes. */
void evs_crash_thread_end(void);
/* Is sig one whose SIG_DFL is this handler? */
bool evs_crash_owns(int sig);
/* The kernel disposition standing for the program's SIG_DFL. */
void evs_crash_action(struct sigaction *real);
/* The runtime is about to apply the default action of sig to the running
 * task (rt/signal.c): report it first, as the handler would. */
void evs_crash_note(int sig);
#endif
