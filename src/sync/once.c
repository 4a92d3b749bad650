/* pthread_once: 0 not run, 1 running, 2 done (glibc's INPROGRESS and DONE
 * bits, so the states read the same). A caller that finds it running parks
 * until it is done. Not handled: an init routine that ends its thread
 * (pthread_exit, cancellation) leaves the state "running" and later
 * callers waiting; POSIX would let the next caller run it again
 * (docs/differences.md). */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include <errno.h>

#define ONCE_RUNNING 1
#define ONCE_DONE 2

int evs_once(pthread_once_t *o, void (*fn)(void))
{
	for (;;) {
		int v = __atomic_load_n(o, __ATOMIC_ACQUIRE);
		if (v == ONCE_DONE)
			return 0;
		if (v == 0 && __atomic_compare_exchange_n(o, &v, ONCE_RUNNING, 0, __ATOMIC_ACQ_REL,
							  __ATOMIC_ACQUIRE)) {
			fn();
			__atomic_store_n(o, ONCE_DONE, __ATOMIC_SEQ_CST);
			evs_lot_unpark(o, -1);
			return 0;
		}
		if (v == ONCE_RUNNING)
			evs_lot_park(o, ONCE_RUNNING, INT64_MAX, EVS_WAIT_once, false);
	}
}
