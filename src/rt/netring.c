/* Sockets through the worker's io_uring: the protocol is in netring.h. */
#include "../evs.h"
#include "netring.h"
#include "config.h"
#include "fileio.h"
#include "sched.h"
#include "task.h"
#include "worker.h"
#include "../io/uring.h"
#include "../obs/log.h"
#include <errno.h>
#include <string.h>

static int net_mode = EVS_NET_EPOLL;

void evs_net_init(void)
{
	net_mode = EVS_NET_EPOLL;
	if (evs_config.net != EVS_NET_URING)  /* the default: see netring.h */
		return;
	int e = evs_kthread_call(evs_uring_probe_net);
	if (e == 0)
		net_mode = EVS_NET_URING;
	else
		evs_log_line("EVSHIM_NET=uring: io_uring cannot carry sockets here (%s); "
			     "using epoll", strerror(-e));
}

const char *evs_net_name(void)
{
	return net_mode == EVS_NET_URING ? "uring" : "epoll";
}

/* Asked by the ring before it submits a queued operation: does its fd
 * still name the file it was queued for? (fdtab.h, invariant 4: close
 * bumps the generation before the real close.) */
static bool still(void *user)
{
	struct evs_opwait *ow = user;
	if (!ow->f || __atomic_load_n(&ow->f->gen, __ATOMIC_ACQUIRE) == ow->gen)
		return true;
	ow->stale = true;
	return false;
}

static void make_ring(struct evs_worker *w)
{
	int e = net_mode == EVS_NET_URING ? evs_uring_new_net(&w->uring, w->epfd, w->evfd, still)
					  : evs_uring_new(&w->uring, w->epfd);
	if (e < 0) {
		w->uring = NULL;
		w->no_uring = 1;
		evs_log(EVS_LOG_INFO, "worker %d: no io_uring (%s): its file calls go to the "
			"blocking pool%s", w->id, strerror(-e),
			net_mode == EVS_NET_URING ? ", its sockets to epoll" : "");
	}
}

void evs_net_worker_init(struct evs_worker *w)
{
	if (net_mode == EVS_NET_URING && !w->uring && !w->no_uring)
		make_ring(w);
}

struct evs_uring *evs_worker_ring(struct evs_worker *w)
{
	if (EVS_UNLIKELY(!w->uring) && !w->no_uring) {
		evs_sched_start();  /* the worker's epoll set must exist (main may be first) */
		if (!w->uring && !w->no_uring)
			make_ring(w);
	}
	struct evs_uring *u = w->uring;
	if (u && net_mode == EVS_NET_URING && !evs_uring_is_net(u)) {
		/* Not armed yet: only its own worker may, and until then
		 * nobody uses it (the worker waits in epoll, files go to the
		 * pool). */
		int e = w == evs_self ? evs_uring_arm_net(u) : -EAGAIN;
		if (e < 0) {
			if (e != -EAGAIN)
				evs_log(EVS_LOG_INFO, "worker %d: cannot arm its ring for sockets (%s): "
					"they wait in epoll", w->id, strerror(-e));
			return NULL;
		}
	}
	return u;
}

struct evs_uring *evs_net_ring(void)
{
	if (net_mode != EVS_NET_URING)
		return NULL;
	struct evs_worker *w = evs_self;
	struct evs_uring *u = evs_worker_ring(w);
	return evs_uring_is_net(u) ? u : NULL;
}

long evs_net_park(struct evs_fd *f, int fd, int dir, const struct evs_nop *op,
		  int64_t deadline, struct evs_netres *out)
{
	struct evs_uring *u = evs_net_ring();
	if (!u)
		return EVS_USE_REAL;
	struct evs_task *t = evs_current();
	int kind = dir == EVS_IN ? EVS_WAIT_fd_in : EVS_WAIT_fd_out;
	out->completed = false;
	out->why = EVS_WAKE_EVENT;
	if (deadline != INT64_MAX && evs_now_ns() >= deadline)
		return -ETIME;
	struct evs_opwait ow = { .t = t, .f = f };
	struct evs_waiter me = { .t = t };
	/* Published where close() finds it (it wakes us with EBADF), and
	 * with the generation the flush checks, under the record's lock: a
	 * close that comes after sees us, one that came before changed gen. */
	evs_spin_lock(&f->lock);
	ow.gen = f->gen;
	ow.token = me.token = evs_wait_open(0);
	evs_queue_push(&f->rwaiters[dir], &me.link);
	evs_spin_unlock(&f->lock);
	int e = evs_uring_queue_net(u, op, &ow);
	if (e == -EBUSY) {  /* a full round's worth queued already: send it */
		evs_uring_flush(u);
		e = evs_uring_queue_net(u, op, &ow);
	}
	if (e < 0) {
		evs_fd_unqueue(f, &f->rwaiters[dir], &me);
		evs_wait_abandon(ow.token);
		return EVS_USE_REAL;
	}
	evs_stat_add(EVS_ST_net_ring_ops, 1);
	int why = evs_park(ow.token, deadline, kind, fd);
	evs_fd_unqueue(f, &f->rwaiters[dir], &me);
	if (!ow.done) {
		/* Ended another way: taken back from the kernel before the
		 * call returns, whatever happens meanwhile. */
		evs_opwait_take_back(u, &ow, kind, fd);
		evs_stat_add(EVS_ST_net_ring_cancels, 1);
	}
	out->why = why;
	if (ow.stale)
		return -EBADF;  /* closed before it went in: it did nothing */
	if (ow.res == -ECANCELED || ow.res == -EINTR || ow.res == -EAGAIN)
		return why == EVS_WAKE_EVENT ? 0 : evs_wake_ret(why);  /* it did nothing */
	out->completed = true;
	out->res = ow.res;
	return 0;
}
