/* Learned system-call sites: a `syscall` instruction outside libc that
 * the monitor has found blocking, rewritten so that its next calls come
 * to the runtime at once (sitetrap.c). */
#ifndef EVS_SITETRAP_H
#define EVS_SITETRAP_H
#include <signal.h>
#include <stdbool.h>
#include <ucontext.h>

/* The monitor's handler has just handed off the call uc was making (the
 * instruction pointer still on it): remember the site and rewrite it, if
 * it is the program's code. Async-signal-safe. */
void evs_sitetrap_learn(ucontext_t *uc);
/* SIGILL's action as the program (or the crash report) wants it, while
 * the runtime's trap handler sits in front of it: recorded, not
 * installed. True when the trap handler is in place (rt/signal.c). */
bool evs_sitetrap_chain(const struct sigaction *act);
#endif
