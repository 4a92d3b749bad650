/* Pipes made in this process: the hand-off from a writer to a parked
 * reader (rt/pipe.h has the protocol). */
#include "pipe.h"
#include "config.h"
#include "sched.h"
#include "task.h"
#include "../arch/cpu.h"
#include "../libc/sys.h"
#include <string.h>
#include <sys/ioctl.h>

enum { WAITING = 0, DELIVERED = 1, DECLINED = 2 };

bool evs_pipe_offers(struct evs_fd *f)
{
	return !evs_config.pipes_kernel && __atomic_load_n(&f->peer, __ATOMIC_RELAXED);
}

static size_t total(const struct iovec *v, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += v[i].iov_len;
	return n;
}

/* Gather from src into dst's buffers: n bytes, which fit. */
static void copy(const struct iovec *dst, int dcnt, const struct iovec *src, int scnt, size_t n)
{
	int i = 0, j = 0;
	size_t di = 0, sj = 0;
	while (n) {
		while (i < dcnt && di == dst[i].iov_len) {
			i++;
			di = 0;
		}
		while (j < scnt && sj == src[j].iov_len) {
			j++;
			sj = 0;
		}
		size_t k = dst[i].iov_len - di;
		if (src[j].iov_len - sj < k)
			k = src[j].iov_len - sj;
		if (n < k)
			k = n;
		memcpy((char *)dst[i].iov_base + di, (const char *)src[j].iov_base + sj, k);
		di += k;
		sj += k;
		n -= k;
	}
}

long evs_pipe_give(struct evs_fd *wf, int fd, const struct iovec *iov, int cnt)
{
	uint64_t p = __atomic_load_n(&wf->peer, __ATOMIC_RELAXED);
	struct evs_fd *rf = p ? evs_fd_by_tag(p) : NULL;
	if (!rf || !__atomic_load_n(&rf->handin, __ATOMIC_ACQUIRE) || evs_config.pipes_kernel)
		return -1;
	size_t n = total(iov, cnt);
	int queued = 0;
	if (n == 0 || n > EVS_PIPE_HAND_MAX ||
	    evs_sys3(SYS_ioctl, fd, FIONREAD, &queued) != 0 || queued != 0)
		return -1;
	struct evs_handin *h = __atomic_load_n(&rf->handin, __ATOMIC_ACQUIRE);
	/* Nothing of h may be read before the claim: it is a parked task's
	 * stack, gone once that task took it back. */
	if (!h || !__atomic_compare_exchange_n(&rf->handin, &h, NULL, false, __ATOMIC_ACQ_REL,
					       __ATOMIC_RELAXED))
		return -1;
	/* Ours now: the reader waits for the state to change. It may be a
	 * newer offer than the one seen above (the same stack address
	 * offered again), or one left on a number closed and reused: check
	 * it all again. */
	struct evs_task *t = h->t;
	uint64_t tok = h->token;
	if (h->gen != (uint32_t)(p >> 32) || n > h->len) {
		__atomic_store_n(&h->state, DECLINED, __ATOMIC_RELEASE);
		evs_task_wake(t, tok, EVS_WAKE_EVENT);
		return -1;
	}
	copy(h->iov, h->cnt, iov, cnt, n);
	h->res = (long)n;
	__atomic_store_n(&h->state, DELIVERED, __ATOMIC_RELEASE);
	/* h may be gone from here on: the copies only. */
	evs_task_wake(t, tok, EVS_WAKE_EVENT);
	evs_stat_add(EVS_ST_pipe_handoffs, 1);
	return (long)n;
}

void evs_pipe_offer(struct evs_fd *f, struct evs_handin *h)
{
	struct evs_handin *none = NULL;
	h->state = WAITING;
	h->offered = __atomic_compare_exchange_n(&f->handin, &none, h, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED);
}

bool evs_pipe_withdraw(struct evs_fd *f, struct evs_handin *h)
{
	if (!h->offered)
		return false;
	h->offered = false;
	struct evs_handin *me = h;
	if (__atomic_compare_exchange_n(&f->handin, &me, NULL, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		return false;  /* nobody took it */
	/* A writer claimed it: it is copying (a few microseconds at most;
	 * the shim's code is never preempted). */
	int s;
	while ((s = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE)) == WAITING)
		evs_cpu_relax();
	return s == DELIVERED;
}
