/* The signal mask belongs to the worker, and the monitor's preemption
 * signal must reach it: a program that blocks every signal (to leave them
 * to a sigwait thread, say) blocks all but that one. The old mask it gets
 * back never shows the signal. docs/differences.md. */
#include "hook.h"
#include "../rt/monitor.h"
#include "../rt/config.h"

static int masked(int (*real)(int, const sigset_t *, sigset_t *), int how,
		  const sigset_t *set, sigset_t *old)
{
	if (evs_config.disable)
		return real(how, set, old);
	sigset_t copy;
	if (set && how != SIG_UNBLOCK && sigismember(set, EVS_SIG_PREEMPT)) {
		copy = *set;
		sigdelset(&copy, EVS_SIG_PREEMPT);
		set = &copy;
	}
	int r = real(how, set, old);
	if (r == 0 && old)
		sigdelset(old, EVS_SIG_PREEMPT);
	return r;
}

EVS_HOOK int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return masked(REAL(sigprocmask), how, set, old);
}

EVS_HOOK int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return masked(REAL(pthread_sigmask), how, set, old);
}
