/* Mutexes: glibc's field layout, our protocol.
 *
 *   lock   @0   0 free, 1 held, 2 held and someone may be parked (the
 *               futex mutex of Drepper's "Futexes are tricky", with the
 *               parking lot as the futex)
 *   count  @4   recursion depth (recursive kind)
 *   owner  @8   evs_sync_self_id() of the holder; 0 when free
 *   nusers @12  holders, as glibc counts them (destroy says EBUSY)
 *   kind   @16  glibc's: type in the low bits; robust (16), priority
 *               inheritance (32) or protection (64) and process-shared
 *               (128) objects are glibc's business, passed through.
 * Uncontended lock and unlock: one atomic each. A contended unlock wakes
 * one parked waiter: for two tasks that costs a task switch, no system
 * call (a cross-worker wake costs an eventfd write only if that worker
 * sleeps). */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include <errno.h>
#include <string.h>

struct mtx {
	uint32_t lock;
	unsigned count;
	int owner;
	unsigned nusers;
	int kind;
};
_Static_assert(offsetof(struct mtx, kind) == offsetof(pthread_mutex_t, __data.__kind),
	       "kind where glibc's initializers put it");
_Static_assert(sizeof(struct mtx) <= sizeof(pthread_mutex_t), "fits in glibc's object");

#define KIND_TYPE 3
#define KIND_FOREIGN (16 | 32 | 64 | 128)  /* robust, PI, PP, pshared */

int evs_mutex_is_ours(const pthread_mutex_t *m)
{
	return !(m->__data.__kind & KIND_FOREIGN);
}

int evs_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	int type = PTHREAD_MUTEX_NORMAL;
	if (a && pthread_mutexattr_gettype(a, &type))
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	((struct mtx *)m)->kind = type;
	return 0;
}

static int acquired(struct mtx *x, int id)
{
	x->owner = id;
	x->count = 1;
	x->nusers++;
	return 0;
}

int evs_mutex_lock(pthread_mutex_t *m, int64_t deadline, int try_only)
{
	struct mtx *x = (struct mtx *)m;
	int id = evs_sync_self_id(), type = x->kind & KIND_TYPE;
	if (type != PTHREAD_MUTEX_NORMAL && type != PTHREAD_MUTEX_ADAPTIVE_NP &&
	    __atomic_load_n(&x->owner, __ATOMIC_RELAXED) == id) {
		if (type == PTHREAD_MUTEX_ERRORCHECK)
			return try_only ? -EBUSY : -EDEADLK;
		if (x->count == UINT32_MAX)
			return -EAGAIN;
		x->count++;
		return 0;
	}
	uint32_t zero = 0;
	if (__atomic_compare_exchange_n(&x->lock, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return acquired(x, id);
	if (try_only)
		return -EBUSY;
	if (deadline < 0)
		return -EINVAL;
	while (__atomic_exchange_n(&x->lock, 2, __ATOMIC_ACQUIRE) != 0) {
		long r = evs_lot_park(&x->lock, 2, deadline, EVS_WAIT_mutex, false);
		if (r == -ETIME)
			return -ETIMEDOUT;
	}
	return acquired(x, id);
}

int evs_mutex_unlock(pthread_mutex_t *m)
{
	struct mtx *x = (struct mtx *)m;
	int type = x->kind & KIND_TYPE;
	if (type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE) {
		if (__atomic_load_n(&x->owner, __ATOMIC_RELAXED) != evs_sync_self_id())
			return -EPERM;
		if (type == PTHREAD_MUTEX_RECURSIVE && --x->count)
			return 0;
	}
	x->owner = 0;
	x->nusers--;
	if (__atomic_exchange_n(&x->lock, 0, __ATOMIC_RELEASE) == 2)
		evs_lot_unpark(&x->lock, 1);
	return 0;
}

int evs_mutex_release(pthread_mutex_t *m, unsigned *count)
{
	struct mtx *x = (struct mtx *)m;
	int type = x->kind & KIND_TYPE;
	if ((type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE) &&
	    __atomic_load_n(&x->owner, __ATOMIC_RELAXED) != evs_sync_self_id())
		return -EPERM;
	*count = x->count;
	x->count = 1;
	return evs_mutex_unlock(m);
}

void evs_mutex_reacquire(pthread_mutex_t *m, unsigned count)
{
	evs_mutex_lock(m, INT64_MAX, 0);
	((struct mtx *)m)->count = count;
}

int evs_mutex_destroy(pthread_mutex_t *m)
{
	struct mtx *x = (struct mtx *)m;
	if (x->nusers != 0 || __atomic_load_n(&x->lock, __ATOMIC_RELAXED))
		return -EBUSY;
	x->kind = -1;  /* as glibc: a destroyed mutex is invalid */
	return 0;
}
