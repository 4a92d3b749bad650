/* Futex waits in the worker's io_uring as well (rt/kfutex.h). */
#include "../evs.h"
#include "kfutex.h"
#include "netring.h"
#include "sched.h"
#include "task.h"
#include "worker.h"
#include "../io/uring.h"
#include <errno.h>
#include <string.h>

int evs_kfutex_waiting;

bool evs_kfutex_start(struct evs_kfutex *k, const uint32_t *word, uint32_t val, uint32_t mask,
		      bool shared, uint64_t token)
{
	memset(k, 0, sizeof(*k));
	struct evs_task *t = evs_current();
	struct evs_worker *w = evs_self;
	if (!t || !w)
		return false;
	struct evs_uring *u = evs_worker_ring(w);
	k->ow.t = t;
	k->ow.token = token;
	if (!u || evs_uring_futex_wait(u, word, val, mask, shared, &k->ow) < 0)
		return false;
	k->u = u;
	__atomic_add_fetch(&evs_kfutex_waiting, 1, __ATOMIC_RELAXED);
	evs_stat_add(EVS_ST_futex_kernel, 1);
	return true;
}

long evs_kfutex_finish(struct evs_kfutex *k, bool *woke)
{
	/* The reaper runs on this worker's thread, between tasks: done and
	 * woke cannot change under us while this task runs. */
	*woke = k->ow.done && k->ow.woke;
	__atomic_sub_fetch(&evs_kfutex_waiting, 1, __ATOMIC_RELAXED);
	if (!k->ow.done)
		evs_opwait_take_back(k->u, &k->ow, EVS_WAIT_futex, 0);
	return k->ow.res;
}
