/* The Linux AIO file backend (libaio): one context per worker, made the
 * first time a task of that worker needs it. Linux AIO is only
 * asynchronous for files opened with O_DIRECT (a buffered io_submit does
 * the read or write inside the call), so rt/fileio.c sends it only
 * O_DIRECT reads and writes at an explicit offset; everything else goes
 * to the blocking pool.
 *
 * One loop for sockets and files: every iocb carries the context's eventfd
 * (io_set_eventfd), which sits in the worker's epoll set (tag
 * EVS_POLLER_AIO). When it fires, the reaper takes at most one batch
 * (32) of completions with a zero timeout; after a full batch it signals
 * the eventfd itself, so the next poller round comes back for more after
 * that round's socket events. Socket events and AIO completions take
 * turns and neither starves the other. io_setup counts against fs.aio-max-nr: a context
 * that cannot be made (EAGAIN) or a full one falls back to the pool.
 * All functions return >= 0 or -errno. */
#ifndef EVS_AIO_H
#define EVS_AIO_H
#include "fop.h"
#include <stdint.h>

#define EVS_POLLER_AIO (UINT64_MAX - 2)

struct evs_aio;

int evs_aio_probe(void);     /* 0 when io_setup works here */
int evs_aio_new(struct evs_aio **out, int epfd);
void evs_aio_free(struct evs_aio *a);
/* A fork()ed child cannot use its parent's context: drop the record. */
void evs_aio_forget(struct evs_aio *a);
/* READ or WRITE at op->off >= 0; -EBUSY when the context is full. */
int evs_aio_submit(struct evs_aio *a, const struct evs_fop *op, void *user);
int evs_aio_reap(struct evs_aio *a, void (*done)(void *user, int res));
#endif
