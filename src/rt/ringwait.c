/* Waiting for a program's own io_uring (rt/ringwait.h). */
#include "../evs.h"
#include "ringwait.h"
#include "fdtab.h"
#include "sched.h"
#include "signal.h"
#include "task.h"
#include "timer.h"
#include <errno.h>

long evs_ring_wait(int ring_fd, bool (*ready)(void *), void *arg, int64_t deadline)
{
	struct evs_pollreq r = { .fd = ring_fd, .dirs = 1 << EVS_IN };
	for (;;) {
		evs_fd_snapshot(&r, 1);  /* before the look: an edge after it is kept */
		if (ready(arg))
			return 0;
		long w = evs_fd_wait_many(&r, 1, deadline, NULL);
		if (w == -ETIME)
			return ready(arg) ? 0 : -ETIME;
		if (w == -ECANCELED) {
			evs_task_testcancel();
			continue;
		}
		if (w == -EINTR) {  /* io_uring_enter is not restarted */
			if (evs_sig_run() & EVS_SIG_RAN)
				return -EINTR;
			continue;
		}
		if (w < 0)  /* EVS_USE_REAL: epoll refused the ring */
			return w;
	}
}
