#include "../evs.h"
#include "fileio.h"
#include "config.h"
#include "offload.h"
#include "sched.h"
#include "task.h"
#include "../io/uring.h"
#include "../obs/log.h"
#include "../sys.h"
#include <errno.h>

static int backend = EVS_IO_POOL;

void evs_fileio_init(void)
{
	backend = evs_config.io;
	if (backend == EVS_IO_AUTO || backend == EVS_IO_URING) {
		int e = evs_uring_probe();
		if (e == 0)
			backend = EVS_IO_URING;
		else {
			if (evs_config.io == EVS_IO_URING)
				evs_log_line("evshim: EVSHIM_IO=uring: io_uring is not usable here (%d); "
					     "using the blocking pool", e);
			backend = EVS_IO_POOL;
		}
	}
}

const char *evs_fileio_name(void)
{
	return backend == EVS_IO_URING ? "uring" : "pool";
}

long evs_fileio_read_now(struct evs_fread *r)
{
	if (r->off < 0)
		return evs_sys3(SYS_readv, r->fd, r->iov, r->cnt);
	return evs_sys6(SYS_preadv, r->fd, r->iov, r->cnt, r->off, 0, 0);
}

static long job_read(void *arg)
{
	return evs_fileio_read_now(arg);
}

/* A read in flight in the worker's ring; lives on the task's stack until
 * the completion wakes the task (the task cannot leave earlier: the wait
 * is not cancellable, and the reaper runs on the same worker). */
struct uring_wait {
	struct evs_task *t;
	uint64_t token;
	long res;
};

void evs_fileio_done(void *user, int res)
{
	struct uring_wait *u = user;
	u->res = res;
	evs_task_wake(u->t, u->token, EVS_WAKE_EVENT);
}

static long uring_read(struct evs_fread *r)
{
	struct evs_task *t = evs_current();
	struct evs_worker *w = t->w;
	if (!w->uring && evs_uring_new(&w->uring, w->epfd) < 0)
		return -EAGAIN;  /* no ring for this worker: the pool */
	struct uring_wait u = { .t = t };
	u.token = evs_task_prepare_wait(t);
	int e = evs_uring_readv(w->uring, r->fd, r->iov, r->cnt, r->off, &u);
	if (e < 0) {  /* ring full or refused: close our wait, use the pool */
		evs_task_wake(t, u.token, EVS_WAKE_EVENT);
		evs_task_park("uring");
		return -EAGAIN;
	}
	evs_stat_add(EVS_ST_uring_reads, 1);
	int saved = t->cancel_state;
	t->cancel_state = PTHREAD_CANCEL_DISABLE;  /* u is the kernel's until done */
	evs_task_park("uring");
	t->cancel_state = saved;
	return u.res;
}

long evs_fileio_read(struct evs_fread *r)
{
	if (backend == EVS_IO_URING) {
		long res = uring_read(r);
		if (res != -EAGAIN)
			return res;
	}
	return evs_offload(job_read, r);
}
