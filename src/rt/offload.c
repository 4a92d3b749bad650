#include "../evs.h"
#include "offload.h"
#include "config.h"
#include "sched.h"
#include "task.h"
#include "../hook/real.h"
#include "../obs/log.h"
#include "../sys.h"
#include <errno.h>
#include <linux/futex.h>
#include <time.h>

#define EVS_POOL_IDLE_NS (5LL * 1000000000)

struct job {
	long (*fn)(void *);
	void *arg;
	long result;
	struct evs_task *t;
	uint64_t token;
	struct job *next;
};

/* Queue and counts: protected by lock. `ready` is the futex idle threads
 * sleep on; it changes whenever a job is queued. */
static int lock;
static struct job *head, *tail;
static int threads, idle;
static uint32_t ready;

static void *pool_main(void *arg)
{
	(void)arg;
	for (;;) {
		evs_spin_lock(&lock);
		struct job *j = head;
		if (j) {
			head = j->next;
			if (!head)
				tail = NULL;
			evs_spin_unlock(&lock);
			j->result = j->fn(j->arg);
			/* j lives on the task's stack: copy before the wake */
			struct evs_task *t = j->t;
			uint64_t tok = j->token;
			__atomic_thread_fence(__ATOMIC_RELEASE);
			evs_task_wake(t, tok, EVS_WAKE_EVENT);
			continue;
		}
		uint32_t seen = __atomic_load_n(&ready, __ATOMIC_ACQUIRE);
		idle++;
		evs_spin_unlock(&lock);
		struct timespec ts = { EVS_POOL_IDLE_NS / 1000000000, 0 };
		long r = evs_sys6(SYS_futex, &ready, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, seen, &ts, 0, 0);
		evs_spin_lock(&lock);
		idle--;
		if (r == -ETIMEDOUT && !head) {  /* idle long enough: shrink */
			threads--;
			evs_spin_unlock(&lock);
			return NULL;
		}
		evs_spin_unlock(&lock);
	}
}

static int start_thread(void)
{
	pthread_t th;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int r = REAL(pthread_create)(&th, &a, pool_main, NULL);
	pthread_attr_destroy(&a);
	return r == 0;
}

long evs_offload(long (*fn)(void *), void *arg)
{
	struct evs_task *t = evs_current();
	struct job j = { .fn = fn, .arg = arg, .t = t };

	evs_spin_lock(&lock);
	int grow = !idle && threads < evs_config.pool_max;
	if (grow)
		threads++;
	evs_spin_unlock(&lock);
	if (grow && !start_thread()) {
		evs_spin_lock(&lock);
		int none = --threads == 0;
		evs_spin_unlock(&lock);
		if (none) {  /* nobody to hand it to: block this worker */
			evs_stat_add(EVS_ST_fallbacks, 1);
			return fn(arg);
		}
	}
	/* Not a cancellation point while the job runs: j is on our stack.
	 * Set before the wait opens: pthread_cancel reads the state after it
	 * sees the wait, and must not end this one. */
	int saved = t->cancel_state;
	t->cancel_state = PTHREAD_CANCEL_DISABLE;
	j.token = evs_task_prepare_wait(t);
	evs_spin_lock(&lock);
	if (tail)
		tail->next = &j;
	else
		head = &j;
	tail = &j;
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELEASE);
	int wake = idle > 0;
	evs_spin_unlock(&lock);
	if (wake)
		evs_sys6(SYS_futex, &ready, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0);
	evs_stat_add(EVS_ST_offloads, 1);
	evs_task_park("offload");
	t->cancel_state = saved;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return j.result;
}

void evs_offload_atfork_child(void)
{
	/* The pool threads stayed in the parent; their jobs too. */
	lock = 0;
	head = tail = NULL;
	threads = idle = 0;
}
