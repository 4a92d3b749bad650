#include "../evs.h"
#include "uring.h"
#include "poller.h"
#include "../sys.h"
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/eventfd.h>

/* Reads in flight per worker: a miss costs a disk access, so a few dozen
 * at once already cover a disk's queue depth. A full ring answers EBUSY
 * and the caller uses the blocking pool instead. */
#define EVS_URING_ENTRIES 64

struct evs_uring {
	struct io_uring ring;
	int evfd;
};

int evs_uring_probe(void)
{
	struct io_uring r;
	int e = io_uring_queue_init(2, &r, 0);
	if (e < 0)
		return e;
	int ok = (r.features & IORING_FEAT_RW_CUR_POS) ? 0 : -ENOSYS;
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
	u->evfd = (int)evs_sys3(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0);
	if (u->evfd < 0) {
		e = u->evfd;
		u->evfd = -1;
		goto fail;
	}
	u->evfd = evs_poller_hide_fd(u->evfd);
	if ((e = io_uring_register_eventfd(&u->ring, u->evfd)) < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EVS_POLLER_URING };
	e = (int)evs_sys6(SYS_epoll_ctl, epfd, EPOLL_CTL_ADD, u->evfd, &ev, 0, 0);
	if (e < 0)
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

int evs_uring_readv(struct evs_uring *u, int fd, const struct iovec *iov, int cnt,
		    off_t off, void *user)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, fd, iov, (unsigned)cnt, (uint64_t)off);
	io_uring_sqe_set_data(sqe, user);
	int r = io_uring_submit(&u->ring);
	return r < 0 ? r : 0;
}

int evs_uring_reap(struct evs_uring *u, void (*done)(void *user, int res))
{
	uint64_t v;
	(void)evs_sys_read(u->evfd, &v, sizeof(v));
	struct io_uring_cqe *cqe;
	int n = 0;
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		void *user = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		done(user, res);
		n++;
	}
	return n;
}
