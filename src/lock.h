/* The runtime's one lock: a test-and-test-and-set spinlock around a few
 * loads and stores (fd records, wait queues, task join state, the stack
 * cache, the blocking pool's queue). Never held across a park, a system
 * call that can block, or a call into the program.
 *
 * Lock order (a holder of one may take only those below it):
 *   1. evs_task.lock (join/detach/exit state)
 *   2. evs_fd.lock, lot bucket locks (never two at once), pool queue lock
 *   3. stack cache lock
 * No two locks of the same rank are ever held together. */
#ifndef EVS_LOCK_H
#define EVS_LOCK_H
#include "arch/cpu.h"

static inline void evs_spin_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			evs_cpu_relax();
}

static inline void evs_spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}
#endif
