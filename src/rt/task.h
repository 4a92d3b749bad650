/* Tasks: what pthread_create makes under the shim.
 *
 * A task is a user-level context (arch/switch.h) with its own stack and a
 * home worker (rt/sched.h). Once it has run it stays on that worker: it
 * is only ever resumed by that worker's kernel thread, which is what keeps
 * errno and every TLS address the program cached valid (rt/tls.h), and
 * what makes the wake-up protocol below simple. A task that has never run
 * may still be moved (sched.c); one that has run only by its own worker,
 * while it sits in that worker's run queue after the monitor preempted it,
 * and only where it has a thread pointer of its own (sched.c, "tasks that
 * have run"): it is in no wait then, and a later waker reads t->w after
 * the task has run on its new worker.
 *
 * Waiting and waking (the whole protocol, used by every blocking verb):
 *   1. the task opens a wait: evs_wait_open(flags) sets
 *      t->wait = (seq << 1) | 1 and returns that token; the flags (may a
 *      cancellation end this wait?) are fixed for the wait's life;
 *   2. it publishes (t, token) where a waker will find it (a wait queue,
 *      an fd record, a job) under that object's own lock;
 *   3. it calls evs_park(token, deadline, why, obj), which arms the timer
 *      and switches away; or, having changed its mind before parking,
 *      evs_wait_abandon(token);
 *   4. a waker calls evs_task_wake(t, token, reason): a CAS from token to
 *      token & ~1. Exactly one waker wins per wait (an event, the timer, a
 *      close, a cancellation, a signal for the task); a waker holding a
 *      stale token (an earlier wait, already ended) loses and does nothing.
 *      The winner queues t on its worker;
 *   5. the resumed task removes its record from wherever it published it
 *      (under that object's lock) before the wait's stack memory goes away.
 * A wake between 2 and 3 cannot be lost: it queues t on its own worker,
 * which is busy running t and can pick t again only after t switched out.
 * If t finds itself at the head of its run queue when parking, it simply
 * keeps running.
 *
 * Lifetime: a task's struct and stack live in one mapping (rt/stack.h). It
 * has two references: one held while it runs (dropped by its worker after
 * it has switched off the stack for the last time) and one for join/detach
 * (dropped by pthread_join or pthread_detach). The last drop recycles the
 * mapping. */
#ifndef EVS_TASK_H
#define EVS_TASK_H
#include "../evs.h"
#include "../arch/switch.h"
#include "../lock.h"
#include "../list.h"
#include "../obs/stats.h"
#include "signal.h"
#include <ck_stack.h>
#include <errno.h>
#include <pthread.h>

#define EVS_TASK_MAGIC 0x6b73745f73766565ULL  /* not a canonical address */
/* A task joined (or detached and ended) whose stack the runtime keeps for
 * reuse: a stale pthread_t naming it gets ESRCH, never glibc (whose join
 * took that memory for its own thread descriptor and died of SIGSEGV). */
#define EVS_TASK_GONE 0x656e6f675f6b7374ULL

/* Wake reasons returned by evs_park. */
enum { EVS_WAKE_EVENT = 0, EVS_WAKE_TIMEOUT = 1, EVS_WAKE_CLOSED = 2,
       EVS_WAKE_CANCEL = 3, EVS_WAKE_SIGNAL = 4 };
/* What a wait on an fd returns for each reason: 0 (an event: try the call
 * again), -ETIME, -EBADF (closed meanwhile), -ECANCELED, -EINTR. */
static inline long evs_wake_ret(int why)
{
	switch (why) {
	case EVS_WAKE_TIMEOUT: return -ETIME;
	case EVS_WAKE_CLOSED: return -EBADF;
	case EVS_WAKE_CANCEL: return -ECANCELED;
	case EVS_WAKE_SIGNAL: return -EINTR;
	default: return 0;
	}
}

/* Wait flags (evs_wait_open). */
#define EVS_WAIT_NOCANCEL 1u  /* pthread_cancel may not end this wait: memory
			       * on the task's stack is a pool thread's or the
			       * kernel's until the operation completes */
#define EVS_WAIT_NOSIGNAL 2u  /* nor may a signal: its handler runs after (a
			       * disk read is not interruptible natively either) */
#define EVS_WAIT_STOPINTR 4u  /* a stop of the process ends it (EVS_WAKE_SIGNAL):
			       * epoll_wait, sigtimedwait (rt/signal.h) */
#define EVS_WAIT_ASYNCCANCEL 8u  /* not a cancellation point (a mutex), but
				  * safe to leave: only a task of the
				  * asynchronous type is cancelled here, as
				  * glibc's signal ends its wait anywhere */

#define EVS_KEY_BLOCK 32
#define EVS_KEY_BLOCKS (1024 / EVS_KEY_BLOCK)   /* PTHREAD_KEYS_MAX */

struct evs_keyval {
	void *val;
	uint32_t seq;   /* key generation the value belongs to */
};

struct evs_worker;
struct evs_tls_dtor;

struct evs_task {
	/* Offset 0: tells our pthread_t from glibc's, whose first word is a
	 * pointer to itself (tcbhead_t.tcb). */
	uint64_t magic;
	struct evs_ctx ctx;
	struct evs_worker *w;        /* home worker (see above) */

	/* Run queue links. rq: the worker's local FIFO (owner only).
	 * inbox: the worker's remote inbox (ck_stack, any producer). */
	struct evs_link rq;
	ck_stack_entry_t inbox;

	uint64_t wait;               /* atomic: seq << 1 | waiting */
	unsigned wait_flags;         /* the open wait's EVS_WAIT_* flags */
	int wake_reason;             /* written by the winning waker */
	int err;                     /* errno while switched out */

	/* What it is parked on, for the task dump: written by the task
	 * before it switches away, read by others as a hint. */
	int parked_on;               /* enum evs_wait; -1 when running */
	intptr_t parked_obj;         /* fd, lock address, pid...: see evs_park */
	int64_t parked_since, parked_until;
	int sigframes;               /* runtime signal handlers it is inside
				      * (each a kernel frame whose sigreturn
				      * acts on its worker's thread) */
	void *preempt_uc;            /* yielded by the monitor's preemption:
				      * that handler's frame, on its own
				      * stack; the one case it may move */

	/* Join/detach/exit: protected by lock. */
	int lock;
	int detached, exited;
	struct evs_task *joiner;
	uint64_t joiner_token;
	void *retval;
	int refs;                    /* atomic */

	void *(*fn)(void *);
	void *arg;
	uint64_t id;                 /* 0 is main */
	char name[16];

	/* Owned by the task itself. */
	__pthread_unwind_buf_t *cleanup;  /* pthread_cleanup_push chain */
	struct evs_keyval *keys[EVS_KEY_BLOCKS];  /* keys[0] is key0, the rest malloc'd */
	struct evs_keyval key0[EVS_KEY_BLOCK];     /* keys 0-31: setting one never allocates */
	void *tls;                   /* its copy of the static TLS blocks (tls.h) */
	void *tp;                    /* address mode: its own thread pointer (tls.h) */
	int tcb_ready;               /* its thread descriptor was made from its worker's */
	struct evs_tls_dtor *tls_dtors;  /* C++ thread_local destructors */
	int exiting;
	int started;                 /* has run: pinned to its worker, except
				      * when preempted (sched.c) */
	int given;                   /* handed to an idle worker once (sched.c) */
	int glibc_locks;             /* mutexes left to glibc it holds (robust,
				      * PI...; sync/mutex.c) and process-shared
				      * rwlocks it write-holds (sync/rwlock.c):
				      * glibc's owner is the kernel thread, so
				      * not moved (sched.c) */
	bool glibc_inexact;          /* more held than glibc_held records, since
				      * glibc_locks was last 0 */
	void *glibc_held[8];         /* which (sync/mutex.c): glibc's owner, the
				      * worker's id, cannot tell its tasks apart */
	uint32_t *clear_tid;         /* set_tid_address's word: cleared and woken
				      * when the task has ended (task.c) */
	int pipe_offer;              /* parked in a pipe read a writer of this
				      * process may hand bytes to (rt/pipe.h) */
	int cancel_pending;          /* atomic: pthread_cancel was called */
	struct evs_tasksig sig;      /* its mask, pending signals (signal.h) */
	int cancel_state, cancel_type;

	/* Stack: [map: guard | stack_lo .. stack_lo+stack_size | this struct],
	 * the struct at the very end, in the page of the stack's top (stack.c).
	 * user_stack: the program supplied the stack (pthread_attr_setstack).
	 * stack_warm: retired with its top EVS_STACK_WARM kept (stack.c).
	 * trim_skips: the retirements in a row that gave nothing back (kept
	 * across reuse). */
	void *map;
	size_t map_len;
	void *stack_lo;
	size_t stack_size;
	size_t guard;
	int user_stack;
	int stack_warm;
	int64_t first_run_ns;        /* when it first ran (0: never) */
	int trim_skips;

	ucontext_t uc;               /* EVSHIM_SWITCH=ucontext only */
};

/* A wait that only another thread of this process ends: a lock, a
 * condition variable, a semaphore, a barrier, a once, a join (the task
 * dump's deadlock proof, where a new task starts: sched.c). */
static inline bool evs_wait_is_sync(int why)
{
	return why == EVS_WAIT_mutex || why == EVS_WAIT_rwlock || why == EVS_WAIT_cond ||
	       why == EVS_WAIT_sem || why == EVS_WAIT_barrier || why == EVS_WAIT_once ||
	       why == EVS_WAIT_join;
}

static inline struct evs_task *evs_task_from_pthread(pthread_t p)
{
	struct evs_task *t = (struct evs_task *)p;
	return (t && t->magic == EVS_TASK_MAGIC) ? t : NULL;
}
/* p named a task that is gone (its stack kept for reuse). */
static inline bool evs_task_gone(pthread_t p)
{
	const struct evs_task *t = (const struct evs_task *)p;
	return t && t->magic == EVS_TASK_GONE;
}

/* Open a wait for the current task (protocol step 1); returns its token. */
uint64_t evs_wait_open(unsigned flags);
/* Park the current task until the wait `token` ends: a waker, the
 * absolute monotonic deadline (INT64_MAX: none), or a cancellation unless
 * the wait was opened EVS_WAIT_NOCANCEL. `why` (enum evs_wait) and `obj`
 * say what it waits for, for the task dump and the statistics. Returns
 * the wake reason; errno is preserved. */
int evs_park(uint64_t token, int64_t deadline, int why, intptr_t obj);
/* End a wait that was opened but will not be parked on (step 3's other
 * branch): afterwards no waker can queue the task for it. */
void evs_wait_abandon(uint64_t token);
/* Returns true if this call woke t (it held the current token). */
bool evs_task_wake(struct evs_task *t, uint64_t token, int reason);

int evs_task_create(pthread_t *out, const pthread_attr_t *attr,
		    void *(*fn)(void *), void *arg);
EVS_NORETURN void evs_task_exit(void *retval);
/* A cancellation of t is pending and enabled: a cancellation point acts
 * on it. */
bool evs_task_cancel_due(struct evs_task *t);
/* The exited task t is off its stack for good: joinable now (sched.c).
 * Its set_tid_address word, if any, is cleared and one waiter woken,
 * through evs_task_word_wake (the futex layer's wake, which reaches
 * tasks parked on the word too: set by hook/syscall.c before it records
 * a word, so never NULL then). */
void evs_task_finished(struct evs_task *t);
extern void (*evs_task_word_wake)(uint32_t *word);
/* 0 or -errno (EDEADLK, EINVAL, EBUSY for try_only, ETIMEDOUT, ECANCELED
 * when the joiner itself is being cancelled). */
int evs_task_join(struct evs_task *t, void **ret, int64_t deadline_ns,
		  int try_only);
int evs_task_detach(struct evs_task *t);
void evs_task_unref(struct evs_task *t);
void evs_task_yield(void);
/* Act on a pending cancellation (pthread_exit(PTHREAD_CANCELED)) if
 * enabled; returns otherwise. Call only where no wait record is live. */
void evs_task_testcancel(void);
/* pthread_cancel of a task: record the request; end its wait if the wait
 * may be cancelled. */
void evs_task_cancel(struct evs_task *t);
EVS_NORETURN void evs_task_unwind(struct evs_task *t);

/* Key destructors at task exit (rt/keys.c). */
void evs_keys_run_destructors(struct evs_task *t);

#endif
