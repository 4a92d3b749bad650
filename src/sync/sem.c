/* Unnamed semaphores, process-private.
 *
 *   value    @0   the count
 *   waiters  @4   callers between "about to park" and "left the lot"
 *   private  @8   glibc's: non-zero for process-shared and named
 *                 semaphores (sem_open), which stay glibc's
 * A waiter announces itself (waiters++), then parks only while value is 0;
 * a poster raises value, then unparks if anyone announced. Both first
 * steps are seq_cst, so one of them sees the other. */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include <errno.h>
#include <limits.h>
#include <string.h>

struct sm {
	uint32_t value;
	uint32_t waiters;
	int private_;
};

int evs_sem_is_ours(const sem_t *s)
{
	return ((const struct sm *)s)->private_ == 0;
}

int evs_sem_init(sem_t *s, unsigned value)
{
	if (value > SEM_VALUE_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	((struct sm *)s)->value = value;
	return 0;
}

static int take(struct sm *x)
{
	uint32_t v = __atomic_load_n(&x->value, __ATOMIC_RELAXED);
	while (v > 0)
		if (__atomic_compare_exchange_n(&x->value, &v, v - 1, 1, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 1;
	return 0;
}

int evs_sem_wait(sem_t *s, int64_t deadline, int try_only)
{
	struct sm *x = (struct sm *)s;
	if (take(x))
		return 0;
	if (try_only)
		return -EAGAIN;
	if (deadline < 0)
		return -EINVAL;
	__atomic_add_fetch(&x->waiters, 1, __ATOMIC_SEQ_CST);
	int r = 0;
	while (!take(x)) {
		long p = evs_lot_park(&x->value, 0, deadline, EVS_WAIT_sem, true);
		if (p == -ETIME) {
			r = take(x) ? 0 : -ETIMEDOUT;
			break;
		}
		if (p == -ECANCELED || p == -EINTR) {  /* EINTR: no SA_RESTART */
			r = (int)p;
			break;
		}
	}
	__atomic_sub_fetch(&x->waiters, 1, __ATOMIC_RELAXED);
	return r;
}

int evs_sem_post(sem_t *s)
{
	struct sm *x = (struct sm *)s;
	uint32_t v = __atomic_load_n(&x->value, __ATOMIC_RELAXED);
	do {
		if (v >= SEM_VALUE_MAX)
			return -EOVERFLOW;
	} while (!__atomic_compare_exchange_n(&x->value, &v, v + 1, 1, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	if (__atomic_load_n(&x->waiters, __ATOMIC_SEQ_CST))
		evs_lot_unpark(&x->value, 1);
	return 0;
}

int evs_sem_value(sem_t *s)
{
	return (int)__atomic_load_n(&((struct sm *)s)->value, __ATOMIC_RELAXED);
}
