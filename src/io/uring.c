#include "../evs.h"
#include "uring.h"
#include "poller.h"
#include "../libc/sys.h"
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Operations in flight per worker: a miss costs a disk access, so a few
 * dozen at once already cover a disk's queue depth. A full ring answers
 * EBUSY and the caller uses the blocking pool instead. */
#define EVS_URING_ENTRIES 64

/* A net ring's sizes: its submission queue takes one scheduler round's
 * worth of operations (a full queue is submitted early); its completion
 * queue holds a burst of completions from thousands of parked sockets
 * between two reaps (past it the kernel keeps them: IORING_FEAT_NODROP,
 * and the reaper flushes them in). */
#define EVS_NET_SQ 512
#define EVS_NET_CQ 8192

/* user_data of the ring's own entries: never a pointer. */
#define TAG_NONE 0       /* a cancellation: its answer is not needed */
#define TAG_EPOLL 1      /* the multishot poll on the worker's epoll set */
#define TAG_POKE 2       /* the multishot poll on the worker's poke eventfd */
#define TAG_LAST 2

struct evs_uring {
	struct io_uring ring;
	int evfd;
	int inflight;  /* file operations submitted, not reaped: below EVS_URING_ENTRIES */
	bool net;      /* a net ring: the worker waits in it, once armed */
	bool coop;     /* made with COOP_TASKRUN: completions never interrupt */
	bool armed;    /* its polls are in (evs_uring_arm_net) */
	bool epoll_ready;  /* the epoll set's poll fired */
	bool own_flush;    /* the SQ index array maps slot i to entry i (checked):
			    * the ring's tail can be published here, and the
			    * submission made with the wait, in one call */
	int epfd, pokefd;
	bool (*still)(void *user);  /* net rings: does a queued operation stand? */
};

/* 0 when the ring r knows every opcode of need[0, n), else -ENOSYS. */
static int probe_ops(struct io_uring *r, const int *need, size_t n)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(r);
	int ok = p ? 0 : -ENOSYS;
	for (size_t i = 0; i < n && ok == 0; i++)
		if (!io_uring_opcode_supported(p, need[i]))
			ok = -ENOSYS;
	if (p)
		io_uring_free_probe(p);
	return ok;
}

int evs_uring_probe(void)
{
	struct io_uring r;
	int e = io_uring_queue_init(2, &r, 0);
	if (e < 0)
		return e;
	int ok = (r.features & IORING_FEAT_RW_CUR_POS) ? 0 : -ENOSYS;
	static const int need[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_OPENAT,
				    IORING_OP_FSYNC, IORING_OP_STATX };
	if (ok == 0)
		ok = probe_ops(&r, need, sizeof(need) / sizeof(need[0]));
	io_uring_queue_exit(&r);
	return ok;
}

int evs_uring_probe_net(void)
{
	struct io_uring r;
	struct io_uring_params pa = { .flags = IORING_SETUP_SUBMIT_ALL };
	int e = io_uring_queue_init_params(4, &r, &pa);
	if (e < 0)
		return e;
	int ok = 0;
	if (!(r.features & IORING_FEAT_FAST_POLL) || !(r.features & IORING_FEAT_EXT_ARG) ||
	    !(r.features & IORING_FEAT_NODROP))
		ok = -ENOSYS;
	static const int need[] = { IORING_OP_RECV, IORING_OP_SEND, IORING_OP_RECVMSG,
				    IORING_OP_SENDMSG, IORING_OP_ACCEPT, IORING_OP_ASYNC_CANCEL,
				    IORING_OP_POLL_ADD, IORING_OP_NOP };
	if (ok == 0)
		ok = probe_ops(&r, need, sizeof(need) / sizeof(need[0]));
	/* IORING_RECVSEND_POLL_FIRST (5.19): an older kernel refuses the
	 * flag with EINVAL. Asked on a socket pair with a byte waiting, so the
	 * receive completes at once. */
	int sv[2];
	if (ok == 0 && evs_sys6(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				(long)sv, 0, 0) == 0) {
		char c = 1;
		struct io_uring_cqe *cqe;
		evs_sys_write(sv[1], &c, 1);
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r);
		io_uring_prep_recv(sqe, sv[0], &c, 1, 0);
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
		io_uring_submit(&r);
		unsigned head;
		int res = -ENOSYS;
		io_uring_for_each_cqe(&r, head, cqe) {
			res = cqe->res;
			break;
		}
		if (res != 1)
			ok = res < 0 ? res : -ENOSYS;
		evs_sys_close(sv[0]);
		evs_sys_close(sv[1]);
	} else if (ok == 0) {
		ok = -ENOSYS;
	}
	io_uring_queue_exit(&r);
	return ok;
}

static void arm_poll(struct evs_uring *u, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {  /* full: make room (nothing is refused, see flush) */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (!sqe)
		return;  /* cannot happen after a submit; without the poll the
			  * worker still wakes at its next timer */
	io_uring_prep_poll_multishot(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, tag);
}

int evs_uring_new_net(struct evs_uring **out, int epfd, int evfd, bool (*still)(void *user))
{
	struct evs_uring *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	/* COOP_TASKRUN (5.19): a completion does not interrupt the worker
	 * (an inter-processor interrupt and a trip through the kernel each);
	 * its work waits for the worker's next entry into the kernel, and
	 * TASKRUN_FLAG says in the ring's memory that some is waiting
	 * (evs_uring_ready, evs_uring_reap). Older kernels refuse the flags:
	 * the ring is made without them. */
	unsigned coop = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	struct io_uring_params pa = { .flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | coop,
				      .cq_entries = EVS_NET_CQ };
	int e = io_uring_queue_init_params(EVS_NET_SQ, &u->ring, &pa);
	u->coop = e >= 0;
	if (e == -EINVAL) {
		pa = (struct io_uring_params){ .flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL,
					       .cq_entries = EVS_NET_CQ };
		e = io_uring_queue_init_params(EVS_NET_SQ, &u->ring, &pa);
	}
	if (e < 0) {
		free(u);
		return e;
	}
	u->ring.ring_fd = u->ring.enter_ring_fd = evs_poller_hide_fd(u->ring.ring_fd);
	u->evfd = -1;
	u->net = true;
	u->epfd = epfd;
	u->pokefd = evfd;
	u->still = still;
	u->own_flush = true;
	for (unsigned i = 0; i < u->ring.sq.ring_entries; i++)
		if (u->ring.sq.array[i] != i)
			u->own_flush = false;
	*out = u;
	return 0;
}

int evs_uring_arm_net(struct evs_uring *u)
{
	if (u->armed)
		return 0;
	arm_poll(u, u->epfd, TAG_EPOLL);
	arm_poll(u, u->pokefd, TAG_POKE);
	int e = evs_uring_flush(u);
	if (e < 0)
		return e;
	/* The poke now wakes the ring directly: out of the epoll set, so a
	 * poke costs no epoll_wait and no read. */
	evs_sys6(SYS_epoll_ctl, u->epfd, EPOLL_CTL_DEL, u->pokefd, 0, 0, 0);
	u->armed = true;
	return 0;
}

bool evs_uring_may_interrupt(const struct evs_uring *u)
{
	return u && (u->inflight > 0 || (u->net && !u->coop));
}

bool evs_uring_is_net(const struct evs_uring *u)
{
	return u && u->net && u->armed;
}

int evs_uring_new(struct evs_uring **out, int epfd)
{
	struct evs_uring *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	int e = io_uring_queue_init(EVS_URING_ENTRIES, &u->ring, 0);
	if (e < 0) {
		free(u);
		return e;
	}
	/* The ring's fd too: the mappings belong to the file, not the number,
	 * and liburing enters the ring through these two fields. */
	u->ring.ring_fd = u->ring.enter_ring_fd = evs_poller_hide_fd(u->ring.ring_fd);
	u->evfd = evs_poller_eventfd(epfd, EVS_POLLER_URING);
	if (u->evfd < 0) {
		e = u->evfd;
		u->evfd = -1;
		goto fail;
	}
	if ((e = io_uring_register_eventfd(&u->ring, u->evfd)) < 0)
		goto fail;
	*out = u;
	return 0;
fail:
	evs_poller_close_fd(u->evfd);
	evs_poller_forget_fd(u->ring.ring_fd);  /* queue_exit closes it */
	io_uring_queue_exit(&u->ring);
	free(u);
	return e;
}

void evs_uring_free(struct evs_uring *u)
{
	if (!u)
		return;
	/* A net ring's poke eventfd is not put back into the epoll set: the
	 * worker closes both right after (a retiring worker), or they are a
	 * fork()ed child's copies of the parent's, whose epoll set the child
	 * must not change. */
	evs_poller_close_fd(u->evfd);
	evs_poller_forget_fd(u->ring.ring_fd);  /* queue_exit closes it */
	io_uring_queue_exit(&u->ring);
	free(u);
}

int evs_uring_submit(struct evs_uring *u, const struct evs_fop *op, void *user)
{
	/* At most EVS_URING_ENTRIES in flight: the completion queue (twice
	 * that) can never overflow, so the kernel never refuses a submit for
	 * want of room, and a queued entry is always taken by this submit. */
	if (op->kind < EVS_FOP_READ || op->kind > EVS_FOP_STATX)
		return -EINVAL;
	struct io_uring_sqe *sqe = u->inflight < EVS_URING_ENTRIES ? io_uring_get_sqe(&u->ring) : NULL;
	if (!sqe)
		return -EBUSY;
	switch (op->kind) {
	case EVS_FOP_READ:
		io_uring_prep_readv2(sqe, op->fd, op->iov, (unsigned)op->cnt, (uint64_t)op->off,
				     op->rwflags);
		break;
	case EVS_FOP_WRITE:
		io_uring_prep_writev2(sqe, op->fd, op->iov, (unsigned)op->cnt, (uint64_t)op->off,
				      op->rwflags);
		break;
	case EVS_FOP_OPEN:
		io_uring_prep_openat(sqe, op->fd, op->path, op->flags, op->mode);
		break;
	case EVS_FOP_FSYNC:
		io_uring_prep_fsync(sqe, op->fd, op->flags ? IORING_FSYNC_DATASYNC : 0);
		break;
	case EVS_FOP_STATX:
		io_uring_prep_statx(sqe, op->fd, op->path, op->flags, op->mode, op->stx);
		break;
	}
	io_uring_sqe_set_data(sqe, user);
	((struct evs_uring_user *)user)->file = true;
	u->inflight++;
	if (u->net) {  /* with whatever socket operations are queued */
		evs_uring_flush(u);  /* retries until the kernel took them */
		return 0;
	}
	int r;
	do  /* EINTR, or EAGAIN when the kernel is short of memory: the entry
	     * is already in the queue, so it must go in before we return */
		r = io_uring_submit(&u->ring);
	while (r == -EINTR || r == -EAGAIN);
	return 0;
}

/* IORING_OP_FUTEX_WAIT (Linux 6.7), by number: Debian 12's liburing
 * predates it. The entry: fd = futex2 flags, addr = the word, addr2 = the
 * value expected, addr3 = the wake bitset. */
#define OP_FUTEX_WAIT 51
#define F2_SIZE_U32 0x02
#define F2_PRIVATE 128

static int futex_ok;  /* 0 not asked yet, 1 the kernel has the operation, -1 not */

int evs_uring_futex_wait(struct evs_uring *u, const uint32_t *word, uint32_t val, uint32_t mask,
			 bool shared, void *user)
{
	int ok = __atomic_load_n(&futex_ok, __ATOMIC_RELAXED);
	if (!ok) {
		struct io_uring_probe *p = io_uring_get_probe_ring(&u->ring);
		ok = p && io_uring_opcode_supported(p, OP_FUTEX_WAIT) ? 1 : -1;
		if (p)
			io_uring_free_probe(p);
		__atomic_store_n(&futex_ok, ok, __ATOMIC_RELAXED);
	}
	if (ok < 0)
		return -ENOSYS;
	/* A wait may last: it takes a file operation's place, and only up to
	 * half of them, so files keep the rest. */
	struct io_uring_sqe *sqe = u->inflight < EVS_URING_ENTRIES / 2 ? io_uring_get_sqe(&u->ring) : NULL;
	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(OP_FUTEX_WAIT, sqe, F2_SIZE_U32 | (shared ? 0 : F2_PRIVATE), word, 0, val);
	sqe->addr3 = mask;
	io_uring_sqe_set_data(sqe, user);
	((struct evs_uring_user *)user)->file = true;
	u->inflight++;
	if (u->net) {
		evs_uring_flush(u);  /* retries until the kernel took it */
		return 0;
	}
	int r;
	do
		r = io_uring_submit(&u->ring);
	while (r == -EINTR || r == -EAGAIN);
	return 0;
}

int evs_uring_reap(struct evs_uring *u, int drain, void (*done)(void *user, int res))
{
	if (drain && u->evfd >= 0)
		evs_poller_drain(u->evfd);
	/* Read the completion queue in place (liburing's inline walk): its
	 * peek would call __io_uring_get_cqe, which the shim interposes for
	 * programs' own rings (hook/uring_api.c). */
	struct io_uring_cqe *cqe;
	unsigned head, n = 0, total = 0;
	if (u->net && (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN))
		/* completions whose work waits for us (COOP_TASKRUN) */
		evs_sys6(SYS_io_uring_enter, u->ring.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, 0, 0);
	for (;;) {
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			uint64_t tag = cqe->user_data;
			int res = cqe->res;
			unsigned flags = cqe->flags;
			n++;
			if (tag > TAG_LAST) {
				struct evs_uring_user *uu = (void *)(uintptr_t)tag;
				if (uu->file)
					u->inflight--;
				done(uu, res);
				continue;
			}
			if (tag == TAG_EPOLL)
				u->epoll_ready = true;
			if (tag != TAG_NONE && !(flags & IORING_CQE_F_MORE))
				arm_poll(u, tag == TAG_EPOLL ? u->epfd : u->pokefd, tag);
		}
		io_uring_cq_advance(&u->ring, n);
		total += n;
		n = 0;
		/* Completions the kernel kept aside while the queue was full
		 * come in with the next entry into the ring. */
		if (!u->net || !(IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW))
			break;
		evs_sys6(SYS_io_uring_enter, u->ring.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, 0, 0);
		if (!io_uring_cq_ready(&u->ring))
			break;
	}
	return (int)total;
}

/* --- sockets (net rings) ------------------------------------------------- */

int evs_uring_queue_net(struct evs_uring *u, const struct evs_nop *op, void *user)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;  /* the caller flushes and asks again */
	switch (op->kind) {
	case EVS_NOP_RECV:
		io_uring_prep_recv(sqe, op->fd, op->buf, op->len, op->flags);
		break;
	case EVS_NOP_SEND:
		io_uring_prep_send(sqe, op->fd, op->buf, op->len, op->flags);
		break;
	case EVS_NOP_RECVMSG:
		io_uring_prep_recvmsg(sqe, op->fd, op->msg, (unsigned)op->flags);
		break;
	case EVS_NOP_SENDMSG:
		io_uring_prep_sendmsg(sqe, op->fd, op->msg, (unsigned)op->flags);
		break;
	case EVS_NOP_ACCEPT:
		io_uring_prep_accept(sqe, op->fd, op->addr, op->alen, op->flags);
		break;
	default:
		/* unreachable: the kinds above are all there are; give the
		 * entry back as a no-op rather than leave it half made */
		io_uring_prep_nop(sqe);
		break;
	}
	if (op->poll_first && op->kind != EVS_NOP_ACCEPT)
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	io_uring_sqe_set_data(sqe, user);
	return 0;
}

unsigned evs_uring_queued(struct evs_uring *u)
{
	return io_uring_sq_ready(&u->ring);
}

/* Look at each queued, unsubmitted entry: one whose operation no longer
 * stands becomes a no-op with the same user_data. */
static void check_queued(struct evs_uring *u)
{
	struct io_uring_sq *sq = &u->ring.sq;
	bool (*still)(void *user) = u->still;
	if (!still)
		return;
	for (unsigned i = sq->sqe_head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];
		uint64_t tag = sqe->user_data;
		if (tag > TAG_LAST && sqe->opcode != IORING_OP_NOP && !still((void *)(uintptr_t)tag)) {
			io_uring_prep_nop(sqe);
			sqe->user_data = tag;
		}
	}
}

/* Publish the queued entries to the kernel (the ring's tail); returns how
 * many the kernel has not consumed yet. Only with own_flush: the index
 * array maps each slot to its entry once and for all. */
static unsigned publish(struct evs_uring *u)
{
	struct io_uring_sq *sq = &u->ring.sq;
	sq->sqe_head = sq->sqe_tail;
	io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
	return sq->sqe_tail - IO_URING_READ_ONCE(*sq->khead);
}

static int enter(struct evs_uring *u, unsigned submit, unsigned wait, int64_t timeout_ns,
		 const uint64_t *kmask)
{
	unsigned flags = wait ? IORING_ENTER_GETEVENTS : 0;
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg = { 0 };
	void *argp = (void *)kmask;  /* without EXT_ARG: the sigset itself */
	size_t argsz = kmask ? sizeof(*kmask) : 0;
	if (wait && timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		arg.ts = (uint64_t)(uintptr_t)&ts;
		arg.sigmask = (uint64_t)(uintptr_t)kmask;
		arg.sigmask_sz = kmask ? sizeof(*kmask) : 0;
		argp = &arg;
		argsz = sizeof(arg);
		flags |= IORING_ENTER_EXT_ARG;
	}
	long r;
	do  /* EAGAIN/EBUSY: short of memory, or the CQ overflow list full */
		r = evs_sys6(SYS_io_uring_enter, u->ring.ring_fd, submit, wait, flags,
			     (long)argp, (long)argsz);
	while ((r == -EAGAIN || r == -EBUSY) && !wait);
	return r < 0 ? (int)r : 0;
}

int evs_uring_flush(struct evs_uring *u)
{
	if (!io_uring_sq_ready(&u->ring))
		return 0;
	check_queued(u);
	if (!u->own_flush) {
		int r;
		do
			r = io_uring_submit(&u->ring);
		while (r == -EINTR || r == -EAGAIN || r == -EBUSY);
		return r < 0 ? r : 0;
	}
	unsigned n = publish(u);
	int r;
	do
		r = enter(u, n, 0, -1, NULL);
	while (r == -EINTR);
	return r;
}

int evs_uring_wait(struct evs_uring *u, int64_t timeout_ns, const uint64_t *kmask)
{
	unsigned n = 0;
	if (io_uring_sq_ready(&u->ring)) {
		check_queued(u);
		if (u->own_flush)
			n = publish(u);
		else
			evs_uring_flush(u);
	}
	if (io_uring_cq_ready(&u->ring) && !n)
		return 0;
	int r = enter(u, n, 1, timeout_ns, kmask);
	if (r == -ETIME || r == -EINTR)
		return r;
	return r < 0 ? r : 0;
}

int evs_uring_cancel(struct evs_uring *u, void *user)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		evs_uring_flush(u);
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return -EBUSY;
	}
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)user, 0);
	io_uring_sqe_set_data64(sqe, TAG_NONE);
	return evs_uring_flush(u);
}

bool evs_uring_ready(struct evs_uring *u)
{
	return io_uring_cq_ready(&u->ring) != 0 || u->epoll_ready ||
	       (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

bool evs_uring_take_epoll(struct evs_uring *u)
{
	bool r = u->epoll_ready;
	u->epoll_ready = false;
	return r;
}
