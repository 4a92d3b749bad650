#include "../evs.h"
#include "fileio.h"
#include "config.h"
#include "offload.h"
#include "sched.h"
#include "task.h"
#include "../io/aio.h"
#include "../io/uring.h"
#include "netring.h"
#include "worker.h"
#include "../obs/log.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static int backend = EVS_IO_POOL;
static char why[160];
static int chosen;  /* atomic: 0 not yet, 1 being chosen, 2 chosen */

static void choose(void)
{
	int want = evs_config.io, eu = 0;
	backend = EVS_IO_POOL;
	if (want == EVS_IO_AUTO || want == EVS_IO_URING) {
		int e = eu = evs_kthread_call(evs_uring_probe);
		if (e == 0) {
			backend = EVS_IO_URING;
			snprintf(why, sizeof(why), want == EVS_IO_URING ? "EVSHIM_IO=uring"
					  : "io_uring works here, with every opcode the shim uses");
			return;
		}
		if (want == EVS_IO_URING)
			evs_log(EVS_LOG_WARN, "EVSHIM_IO=uring: io_uring is not usable here (%s); "
				"using the blocking pool", strerror(-e));
	}
	if (want == EVS_IO_AUTO || want == EVS_IO_AIO) {
		int e = evs_aio_probe();
		if (e == 0) {
			backend = EVS_IO_AIO;
			if (want == EVS_IO_AIO)
				snprintf(why, sizeof(why), "EVSHIM_IO=aio");
			else
				snprintf(why, sizeof(why), "io_uring is not usable (%s)",
					 strerror(-eu));
			return;
		}
		if (want == EVS_IO_AIO)
			evs_log(EVS_LOG_WARN, "EVSHIM_IO=aio: Linux AIO is not usable here (%s); "
				"using the blocking pool", strerror(-e));
		else
			snprintf(why, sizeof(why), "neither io_uring (%s) nor Linux AIO (%s) is usable",
				 strerror(-eu), strerror(-e));
	}
	if (want == EVS_IO_POOL)
		snprintf(why, sizeof(why), "EVSHIM_IO=pool");
}

/* The backend is chosen the first time it is needed (the runtime's start,
 * the start-up line at EVSHIM_LOG=info), not in every process's start-up: the
 * io_uring probe is a ring made and torn down, some 0.3 ms of a shell
 * command's life under the shim (docs/design.md, start-up). */
void evs_fileio_choose(void)
{
	int expect = 0;
	if (__atomic_load_n(&chosen, __ATOMIC_ACQUIRE) == 2)
		return;
	if (!__atomic_compare_exchange_n(&chosen, &expect, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&chosen, __ATOMIC_ACQUIRE) != 2)
			evs_cpu_relax();
		return;
	}
	choose();
	__atomic_store_n(&chosen, 2, __ATOMIC_RELEASE);
}

void evs_fileio_atfork_child(void)
{
	if (__atomic_load_n(&chosen, __ATOMIC_RELAXED) == 1)
		chosen = 0;  /* another thread was choosing: the child's is gone */
}

const char *evs_fileio_why(void)
{
	return why;
}

const char *evs_fileio_name(void)
{
	/* not probed here: the report asks on the way out, maybe from a
	 * signal handler's _exit, and the probe allocates */
	if (__atomic_load_n(&chosen, __ATOMIC_ACQUIRE) != 2)
		return "none (the runtime never started)";
	return backend == EVS_IO_URING ? "uring" : backend == EVS_IO_AIO ? "aio" : "pool";
}

long evs_fileio_now(const struct evs_fop *op)
{
	switch (op->kind) {
	case EVS_FOP_READ:
		if (!op->rwflags)  /* plain forms: what a program's own call would make */
			return op->off < 0 ? evs_sys3(SYS_readv, op->fd, op->iov, op->cnt)
					   : evs_sys6(SYS_preadv, op->fd, op->iov, op->cnt, op->off, 0, 0);
		return evs_sys6(SYS_preadv2, op->fd, op->iov, op->cnt, op->off, 0, op->rwflags);
	case EVS_FOP_WRITE:
		if (!op->rwflags)
			return op->off < 0 ? evs_sys3(SYS_writev, op->fd, op->iov, op->cnt)
					   : evs_sys6(SYS_pwritev, op->fd, op->iov, op->cnt, op->off, 0, 0);
		return evs_sys6(SYS_pwritev2, op->fd, op->iov, op->cnt, op->off, 0, op->rwflags);
	case EVS_FOP_OPEN:
		return evs_sys6(SYS_openat, op->fd, op->path, op->flags, op->mode, 0, 0);
	case EVS_FOP_FSYNC:
		return evs_sys3(op->flags ? SYS_fdatasync : SYS_fsync, op->fd, 0, 0);
	case EVS_FOP_STATX:
		return evs_sys6(SYS_statx, op->fd, op->path, op->flags, op->mode, op->stx, 0);
	}
	return -EINVAL;
}

static long job_now(void *arg)
{
	return evs_fileio_now(arg);
}

void evs_fileio_done(void *user, int res)
{
	struct evs_opwait *u = user;
	u->res = res;
	u->done = true;
	u->woke = evs_task_wake(u->t, u->token, EVS_WAKE_EVENT);
}

void evs_opwait_take_back(struct evs_uring *u, struct evs_opwait *ow, int kind, intptr_t obj)
{
	ow->token = evs_wait_open(EVS_WAIT_NOCANCEL | EVS_WAIT_NOSIGNAL);
	while (evs_uring_cancel(u, ow) < 0)
		evs_uring_flush(u);
	evs_uring_reap(u, 0, evs_fileio_done);  /* both may be done already */
	if (ow->done)
		evs_wait_abandon(ow->token);
	else
		evs_park(ow->token, INT64_MAX, kind, obj);
}

/* The worker's ring or AIO context, made on first use; false when it
 * cannot be had. A failure (fs.aio-max-nr reached, io_uring refused) is
 * remembered, so later calls go to the pool at once. */
static bool have_backend(struct evs_worker *w, int aio)
{
	evs_sched_start();  /* the worker's epoll set must exist (main may be first) */
	if (aio) {
		if (!w->aio && !w->no_aio) {
			int e = evs_aio_new(&w->aio, w->epfd);
			if ((w->no_aio = e < 0))
				evs_log(EVS_LOG_INFO, "worker %d: no Linux AIO context (%s): its "
					"O_DIRECT calls go to the blocking pool", w->id, strerror(-e));
		}
		return w->aio != NULL;
	}
	return evs_worker_ring(w) != NULL;
}

/* Submit to the worker's ring or AIO context and park; EVS_USE_REAL when
 * the backend cannot take it (the caller uses the pool). */
static long submit_park(const struct evs_fop *op, int aio)
{
	struct evs_task *t = evs_current();
	struct evs_worker *w = t->w;
	if (!have_backend(w, aio))
		return EVS_USE_REAL;
	struct evs_opwait u = { .t = t };
	/* u is the kernel's until the completion: nothing but the reaper may
	 * end this wait (an operation on a file is not cancelled). */
	u.token = evs_wait_open(EVS_WAIT_NOCANCEL | EVS_WAIT_NOSIGNAL);
	int e = aio ? evs_aio_submit(w->aio, op, &u) : evs_uring_submit(w->uring, op, &u);
	if (e < 0) {  /* full or refused: close our wait, use the pool */
		evs_wait_abandon(u.token);
		return EVS_USE_REAL;
	}
	evs_stat_add(aio ? EVS_ST_aio_ops : EVS_ST_uring_ops, 1);
	if (!aio)  /* an open or a write may have completed inline */
		evs_uring_reap(w->uring, 0, evs_fileio_done);
	evs_park(u.token, INT64_MAX, EVS_WAIT_file, op->fd);
	return u.res;
}

long evs_fileio_run(const struct evs_fop *op, int direct)
{
	long r = EVS_USE_REAL;
	/* At the current file position (off -1) io_uring is trusted with
	 * buffered reads only. It leaves the position unmoved after an O_DIRECT
	 * transfer, and after a short write (a write that ran into ENOSPC: the
	 * next write would land on the same bytes), as seen on Linux 6.18
	 * (tests/files.bats): those go to the pool, whose readv and writev
	 * move it exactly. */
	if (evs_lone_runs())
		return evs_lone_call(job_now, (void *)op);
	bool at_pos = op->off < 0 && (op->kind == EVS_FOP_READ || op->kind == EVS_FOP_WRITE);
	evs_fileio_choose();  /* done when the runtime started: one load */
	if (backend == EVS_IO_URING && !(at_pos && (direct || op->kind == EVS_FOP_WRITE)))
		r = submit_park(op, 0);
	else if (backend == EVS_IO_AIO && direct && op->off >= 0 &&
		 (op->kind == EVS_FOP_READ || op->kind == EVS_FOP_WRITE))
		r = submit_park(op, 1);
	if (r != EVS_USE_REAL)
		return r;
	return evs_offload(job_now, (void *)op);
}
