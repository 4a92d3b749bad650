/* The signal mask belongs to the worker, and the monitor's preemption
 * signal must reach it: a program that blocks every signal (to leave them
 * to a sigwait thread, say) blocks all but that one. The old mask it gets
 * back never shows the signal. docs/differences.md. */
#include "hook.h"
#include "../rt/monitor.h"
#include "../rt/config.h"

static const sigset_t *filter(int how, const sigset_t *set, sigset_t *copy)
{
	if (evs_config.disable || !set || how == SIG_UNBLOCK ||
	    !sigismember(set, EVS_SIG_PREEMPT))
		return set;
	*copy = *set;
	sigdelset(copy, EVS_SIG_PREEMPT);
	return copy;
}

EVS_HOOK int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t copy;
	int r = REAL(sigprocmask)(how, filter(how, set, &copy), old);
	if (r == 0 && old && !evs_config.disable)
		sigdelset(old, EVS_SIG_PREEMPT);
	return r;
}

EVS_HOOK int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t copy;
	int r = REAL(pthread_sigmask)(how, filter(how, set, &copy), old);
	if (r == 0 && old && !evs_config.disable)
		sigdelset(old, EVS_SIG_PREEMPT);
	return r;
}
