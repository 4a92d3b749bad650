#include "../evs.h"
#include "aio.h"
#include "poller.h"
#include "../libc/sys.h"
#include <errno.h>
#include <libaio.h>
#include <stdlib.h>

/* iocbs in flight per worker. io_setup charges this against
 * fs.aio-max-nr (65536 by default, shared by every process): 128 per
 * worker leaves room for others; when even that is refused, a context of
 * EVS_AIO_MIN is tried before giving up. */
#define EVS_AIO_ENTRIES 128
#define EVS_AIO_MIN 8
#define EVS_AIO_BATCH 32

struct evs_aio {
	io_context_t ctx;
	int evfd;
	int size, inflight;
};

int evs_aio_probe(void)
{
	io_context_t ctx = 0;
	int e = io_setup(1, &ctx);
	if (e < 0)
		return e;
	io_destroy(ctx);
	return 0;
}

int evs_aio_new(struct evs_aio **out, int epfd)
{
	struct evs_aio *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->evfd = -1;
	a->size = EVS_AIO_ENTRIES;
	int e = io_setup(a->size, &a->ctx);
	if (e == -EAGAIN) {  /* fs.aio-max-nr reached: try a small one */
		a->size = EVS_AIO_MIN;
		e = io_setup(a->size, &a->ctx);
	}
	if (e < 0) {
		free(a);
		return e;
	}
	a->evfd = evs_poller_eventfd(epfd, EVS_POLLER_AIO);
	if (a->evfd < 0) {
		e = a->evfd;
		a->evfd = -1;
		goto fail;
	}
	*out = a;
	return 0;
fail:
	evs_poller_close_fd(a->evfd);
	io_destroy(a->ctx);
	free(a);
	return e;
}

void evs_aio_free(struct evs_aio *a)
{
	if (!a)
		return;
	evs_poller_close_fd(a->evfd);
	io_destroy(a->ctx);  /* waits for anything still in flight */
	free(a);
}

void evs_aio_forget(struct evs_aio *a)
{
	if (!a)
		return;
	evs_poller_close_fd(a->evfd);
	free(a);
}

int evs_aio_submit(struct evs_aio *a, const struct evs_fop *op, void *user)
{
	if (op->off < 0 || (op->kind != EVS_FOP_READ && op->kind != EVS_FOP_WRITE))
		return -EINVAL;
	if (a->inflight >= a->size)
		return -EBUSY;
	/* The kernel copies the iocb and the iovec array at submit time. */
	struct iocb cb, *cbp = &cb;
	if (op->kind == EVS_FOP_READ)
		io_prep_preadv(&cb, op->fd, op->iov, op->cnt, op->off);
	else
		io_prep_pwritev(&cb, op->fd, op->iov, op->cnt, op->off);
	cb.aio_rw_flags = op->rwflags;
	io_set_eventfd(&cb, a->evfd);
	cb.data = user;
	int r;
	do
		r = io_submit(a->ctx, 1, &cbp);
	while (r == -EINTR);
	if (r == 1) {
		a->inflight++;
		return 0;
	}
	return r == -EAGAIN ? -EBUSY : (r < 0 ? r : -EIO);
}

int evs_aio_reap(struct evs_aio *a, void (*done)(void *user, int res))
{
	evs_poller_drain(a->evfd);
	struct io_event ev[EVS_AIO_BATCH];
	struct timespec zero = { 0, 0 };
	int n = io_getevents(a->ctx, 0, EVS_AIO_BATCH, ev, &zero);
	for (int i = 0; i < n; i++) {
		a->inflight--;
		/* res is the count or -errno; a short count is passed on as it
		 * is (the caller finishes a short write). */
		done(ev[i].data, (int)(long)ev[i].res);
	}
	if (n == EVS_AIO_BATCH) {
		/* More may be waiting, and the eventfd now reads zero: signal
		 * it ourselves, so the next poller round (after this round's
		 * socket events) comes back for the next batch: the "expect
		 * more completions" flag, kept in the eventfd itself. */
		uint64_t one = 1;
		(void)evs_sys_write(a->evfd, &one, sizeof(one));
	}
	return n < 0 ? 0 : n;
}
