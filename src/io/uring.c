#include "../evs.h"
#include "uring.h"
#include "poller.h"
#include "../libc/sys.h"
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

/* Operations in flight per worker: a miss costs a disk access, so a few
 * dozen at once already cover a disk's queue depth. A full ring answers
 * EBUSY and the caller uses the blocking pool instead. */
#define EVS_URING_ENTRIES 64

struct evs_uring {
	struct io_uring ring;
	int evfd;
	int inflight;  /* submitted, not reaped: kept below the CQ's size */
};

int evs_uring_probe(void)
{
	struct io_uring r;
	int e = io_uring_queue_init(2, &r, 0);
	if (e < 0)
		return e;
	int ok = (r.features & IORING_FEAT_RW_CUR_POS) ? 0 : -ENOSYS;
	struct io_uring_probe *p = io_uring_get_probe_ring(&r);
	static const int need[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_OPENAT,
				    IORING_OP_FSYNC, IORING_OP_STATX };
	for (unsigned i = 0; i < sizeof(need) / sizeof(need[0]) && ok == 0; i++)
		if (!p || !io_uring_opcode_supported(p, need[i]))
			ok = -ENOSYS;
	if (p)
		io_uring_free_probe(p);
	io_uring_queue_exit(&r);
	return ok;
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
	u->inflight++;
	int r;
	do  /* EINTR, or EAGAIN when the kernel is short of memory: the entry
	     * is already in the queue, so it must go in before we return */
		r = io_uring_submit(&u->ring);
	while (r == -EINTR || r == -EAGAIN);
	return 0;
}

int evs_uring_reap(struct evs_uring *u, int drain, void (*done)(void *user, int res))
{
	if (drain)
		evs_poller_drain(u->evfd);
	/* Read the completion queue in place (liburing's inline walk): its
	 * peek would call __io_uring_get_cqe, which the shim interposes for
	 * programs' own rings (hook/uring_api.c). */
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		void *user = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		n++;
		u->inflight--;
		done(user, res);
	}
	io_uring_cq_advance(&u->ring, n);
	return (int)n;
}
