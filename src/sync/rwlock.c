/* Reader-writer locks.
 *
 *   state   @0   bit 31: a writer holds it; bits 0-29: readers holding
 *   wwait   @4   writers waiting (writer-preferring kind blocks new
 *                readers while non-zero)
 *   seq     @8   bumped at every release that may let someone in; both
 *                readers and writers park on it
 *   writer  @24  id of the writing holder (glibc's __cur_writer slot)
 *   shared  @28  glibc's: process-shared locks stay glibc's
 *   flags   @48  glibc's kind: 0/1 prefer readers (readers may recurse),
 *                2 prefer writers, non-recursive readers
 * A release bumps seq and wakes every parked waiter; they race for the
 * lock again. Simple and never loses a wake-up; fine for the short
 * critical sections rwlocks guard. */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include <errno.h>
#include <string.h>

struct rw {
	uint32_t state;
	uint32_t wwait;
	uint32_t seq;
	uint32_t parked;
	uint32_t pad[2];
	int writer;
	int shared;
};
_Static_assert(offsetof(struct rw, writer) == offsetof(pthread_rwlock_t, __data.__cur_writer), "");
_Static_assert(offsetof(struct rw, shared) == offsetof(pthread_rwlock_t, __data.__shared), "");
#define FLAGS(l) ((l)->__data.__flags)
#define WRITER 0x80000000u
#define READERS 0x3fffffffu

int evs_rwlock_is_ours(const pthread_rwlock_t *l)
{
	return l->__data.__shared == 0;
}

int evs_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
	int kind = PTHREAD_RWLOCK_PREFER_READER_NP;
	if (a)
		pthread_rwlockattr_getkind_np(a, &kind);
	memset(l, 0, sizeof(*l));
	FLAGS(l) = (unsigned)kind;
	return 0;
}

static int park(struct rw *x, uint32_t seq, int64_t deadline)
{
	__atomic_add_fetch(&x->parked, 1, __ATOMIC_SEQ_CST);
	long p = evs_lot_park(&x->seq, seq, deadline, EVS_WAIT_rwlock, false);
	__atomic_sub_fetch(&x->parked, 1, __ATOMIC_RELAXED);
	return p == -ETIME ? -ETIMEDOUT : 0;
}

int evs_rwlock_rdlock(pthread_rwlock_t *l, int64_t deadline, int try_only)
{
	struct rw *x = (struct rw *)l;
	int prefer_writer = FLAGS(l) == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
	if (!try_only && x->writer == evs_sync_self_id() && (x->state & WRITER))
		return -EDEADLK;  /* glibc: a try-lock answers EBUSY instead */
	for (;;) {
		uint32_t seq = __atomic_load_n(&x->seq, __ATOMIC_SEQ_CST);
		uint32_t s = __atomic_load_n(&x->state, __ATOMIC_RELAXED);
		if (!(s & WRITER) && !(prefer_writer && __atomic_load_n(&x->wwait, __ATOMIC_RELAXED))) {
			if ((s & READERS) == READERS)
				return -EAGAIN;
			if (__atomic_compare_exchange_n(&x->state, &s, s + 1, 1, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return 0;
			continue;
		}
		if (try_only)
			return -EBUSY;
		if (deadline < 0)
			return -EINVAL;
		if (park(x, seq, deadline))
			return -ETIMEDOUT;
	}
}

int evs_rwlock_wrlock(pthread_rwlock_t *l, int64_t deadline, int try_only)
{
	struct rw *x = (struct rw *)l;
	int id = evs_sync_self_id();
	if (!try_only && x->writer == id && (x->state & WRITER))
		return -EDEADLK;
	int counted = 0, r = 0;
	for (;;) {
		uint32_t seq = __atomic_load_n(&x->seq, __ATOMIC_SEQ_CST);
		uint32_t zero = 0;
		if (__atomic_compare_exchange_n(&x->state, &zero, WRITER, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			x->writer = id;
			break;
		}
		if (try_only) {
			r = -EBUSY;
			break;
		}
		if (deadline < 0) {
			r = -EINVAL;
			break;
		}
		if (!counted) {
			__atomic_add_fetch(&x->wwait, 1, __ATOMIC_SEQ_CST);
			counted = 1;
			continue;  /* re-check with wwait visible */
		}
		if ((r = park(x, seq, deadline)))
			break;
	}
	if (counted && __atomic_sub_fetch(&x->wwait, 1, __ATOMIC_SEQ_CST) == 0 && r) {
		/* A timed-out writer may have been holding readers back. */
		__atomic_add_fetch(&x->seq, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&x->parked, __ATOMIC_SEQ_CST))
			evs_lot_unpark(&x->seq, -1);
	}
	return r;
}

int evs_rwlock_unlock(pthread_rwlock_t *l)
{
	struct rw *x = (struct rw *)l;
	uint32_t s = __atomic_load_n(&x->state, __ATOMIC_RELAXED);
	if (s & WRITER) {
		if (x->writer != evs_sync_self_id())
			return -EPERM;
		x->writer = 0;
		__atomic_store_n(&x->state, 0, __ATOMIC_RELEASE);
	} else {
		if ((s & READERS) == 0)
			return -EPERM;
		if (__atomic_sub_fetch(&x->state, 1, __ATOMIC_RELEASE) != 0)
			return 0;  /* other readers still hold it: nobody can enter */
	}
	__atomic_add_fetch(&x->seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&x->parked, __ATOMIC_SEQ_CST))
		evs_lot_unpark(&x->seq, -1);
	return 0;
}
