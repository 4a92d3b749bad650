/* Workers' life cycle (rt/worker.c): the handshake between placing a task
 * on a worker and that worker retiring, and the runtime's own threads. The
 * start-up, spare and fork entry points are declared in sched.h. */
#ifndef EVS_WORKER_H
#define EVS_WORKER_H
#include "sched.h"
#include <pthread.h>
#include <stdbool.h>

/* Make w the home of one more task; false when w is retiring. */
bool evs_worker_claim(struct evs_worker *w);
/* A spare with nothing to do leaves; true when it has (its thread ends). */
bool evs_worker_try_retire(struct evs_worker *w);
/* How long an idle worker may sleep: a spare wakes to see whether it may
 * retire. timeout in ns, -1 for none. */
int64_t evs_worker_idle_limit(struct evs_worker *w, int64_t timeout);

/* Start a detached kernel thread for the runtime (a worker, a pool
 * thread, the monitor), with the real pthread_create. no_signals: it
 * blocks every signal (signals are for the threads that run tasks).
 * 0 or -errno. */
int evs_kthread_spawn(pthread_t *out, void *(*fn)(void *), void *arg, bool no_signals);
/* fn() on a kernel thread of its own, made for it and gone after: the
 * io_uring probes. A ring the calling thread made and closed would have
 * the kernel send that thread its ring's exit work as a signal-like
 * notification some milliseconds later, which ends the thread's next
 * wait with EINTR (a lone task's sigtimedwait or epoll_wait: the program
 * would see it; tests/progs/lone_sigwait.c started). On the spot when no
 * thread can be made. */
int evs_kthread_call(int (*fn)(void));
#endif
