/* pthread entry points that take or make a thread: tasks stand in for
 * threads. Callers that are not tasks (and pthread_t values that are not
 * tasks) go to the real functions. */
#include "hook.h"
#include "../rt/task.h"
#include "../rt/sched.h"
#include "../rt/keys.h"
#include "../rt/tls.h"
#include "../rt/config.h"
#include "../rt/signal.h"
#include <dlfcn.h>
#include "../rt/timer.h"
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define EVS_NAME_MAX 16  /* glibc and the kernel: 15 characters and NUL */

EVS_HOOK int pthread_create(pthread_t *th, const pthread_attr_t *attr,
			    void *(*fn)(void *), void *arg)
{
	if (!evs_current())
		return REAL(pthread_create)(th, attr, fn, arg);
	if (evs_hook_nproc_refuses(__atomic_load_n(&evs_live_tasks, __ATOMIC_RELAXED)))
		return EAGAIN;
	return -evs_task_create(th, attr, fn, arg);
}

/* A thread the runtime does not own joining a task: it cannot park, so it
 * polls with a real sleep (rare: tasks are joined by tasks). */
#define EVS_FOREIGN_JOIN_POLL_NS 1000000

static int join_common(pthread_t th, void **ret, int64_t deadline, int try_only)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (evs_current() || try_only) {
		int r = evs_task_join(t, ret, deadline, try_only);
		if (r == -ECANCELED)  /* the joiner itself was cancelled */
			evs_task_testcancel();
		return -r;
	}
	for (;;) {
		int r = evs_task_join(t, ret, 0, 1);
		if (r != -EBUSY)
			return -r;
		if (evs_now_ns() >= deadline)
			return ETIMEDOUT;
		struct timespec ts = { 0, EVS_FOREIGN_JOIN_POLL_NS };
		REAL(nanosleep)(&ts, NULL);
	}
}

EVS_HOOK int pthread_join(pthread_t th, void **ret)
{
	if (!evs_task_from_pthread(th))
		return evs_task_gone(th) ? ESRCH : REAL(pthread_join)(th, ret);
	return join_common(th, ret, INT64_MAX, 0);
}

EVS_HOOK int pthread_tryjoin_np(pthread_t th, void **ret)
{
	if (!evs_task_from_pthread(th))
		return evs_task_gone(th) ? ESRCH : REAL(pthread_tryjoin_np)(th, ret);
	return join_common(th, ret, 0, 1);
}

EVS_HOOK int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk,
				  const struct timespec *abs)
{
	if (!evs_task_from_pthread(th))
		return evs_task_gone(th) ? ESRCH : REAL(pthread_clockjoin_np)(th, ret, clk, abs);
	if (clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME)
		return EINVAL;
	/* A timeout whose nanoseconds are out of range: glibc's futex wait
	 * refuses it (EINVAL) and its join loop waits again, until the
	 * thread ends: it joins (0), never fails. */
	int64_t deadline = evs_abs_deadline(clk, abs);
	if (deadline < 0)
		deadline = INT64_MAX;
	return join_common(th, ret, deadline, 0);
}

EVS_HOOK int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *abs)
{
	if (!evs_task_from_pthread(th))
		return evs_task_gone(th) ? ESRCH : REAL(pthread_timedjoin_np)(th, ret, abs);
	return pthread_clockjoin_np(th, ret, CLOCK_REALTIME, abs);
}

EVS_HOOK int pthread_detach(pthread_t th)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (!t)
		return evs_task_gone(th) ? ESRCH : REAL(pthread_detach)(th);
	return -evs_task_detach(t);
}

EVS_HOOK void pthread_exit(void *v)
{
	struct evs_task *t = evs_current();
	if (!t)
		REAL(pthread_exit)(v);
	t->retval = v;
	t->exiting = 1;
	evs_task_unwind(t);
}

EVS_HOOK void __pthread_register_cancel(__pthread_unwind_buf_t *b)
{
	struct evs_task *t = evs_current();
	if (!t) {
		REAL(__pthread_register_cancel)(b);
		return;
	}
	b->__pad[0] = t->cleanup;
	t->cleanup = b;
}

EVS_HOOK void __pthread_unregister_cancel(__pthread_unwind_buf_t *b)
{
	struct evs_task *t = evs_current();
	if (!t) {
		REAL(__pthread_unregister_cancel)(b);
		return;
	}
	t->cleanup = b->__pad[0];
}

EVS_HOOK void __pthread_unwind_next(__pthread_unwind_buf_t *b)
{
	struct evs_task *t = evs_current();
	if (!t || !t->exiting)
		REAL(__pthread_unwind_next)(b);
	evs_task_unwind(t);
}

EVS_HOOK pthread_t pthread_self(void)
{
	struct evs_task *t = evs_current();
	return t ? (pthread_t)t : REAL(pthread_self)();
}

EVS_HOOK int pthread_equal(pthread_t a, pthread_t b)
{
	return a == b;
}

EVS_HOOK int pthread_getattr_np(pthread_t th, pthread_attr_t *a)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (!t)
		return evs_task_gone(th) ? ESRCH : REAL(pthread_getattr_np)(th, a);
	if (t == &evs_main_task)  /* main runs on the process's own stack */
		return REAL(pthread_getattr_np)(t->w->thread, a);
	int r = pthread_attr_init(a);
	if (r)
		return r;
	pthread_attr_setstack(a, t->stack_lo, t->stack_size);
	pthread_attr_setguardsize(a, t->guard);
	pthread_attr_setdetachstate(a, t->detached ? PTHREAD_CREATE_DETACHED
						   : PTHREAD_CREATE_JOINABLE);
	return 0;
}

EVS_HOOK int pthread_setname_np(pthread_t th, const char *name)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (!t)
		return evs_task_gone(th) ? ESRCH : REAL(pthread_setname_np)(th, name);
	if (strlen(name) >= EVS_NAME_MAX)
		return ERANGE;
	strcpy(t->name, name);
	if (t == &evs_main_task)  /* the process name, as natively */
		return REAL(pthread_setname_np)(t->w->thread, name);
	return 0;
}

EVS_HOOK int pthread_getname_np(pthread_t th, char *buf, size_t len)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (!t)
		return evs_task_gone(th) ? ESRCH : REAL(pthread_getname_np)(th, buf, len);
	if (len < strlen(t->name) + 1)
		return ERANGE;
	strcpy(buf, t->name);
	return 0;
}

EVS_HOOK int pthread_key_create(pthread_key_t *k, void (*dtor)(void *))
{
	return evs_key_create(k, dtor);
}

EVS_HOOK int pthread_key_delete(pthread_key_t k)
{
	return evs_key_delete(k);
}

EVS_HOOK void *pthread_getspecific(pthread_key_t k)
{
	struct evs_task *t = evs_current();
	return t ? evs_key_get(t, k) : REAL(pthread_getspecific)(k);
}

EVS_HOOK int pthread_setspecific(pthread_key_t k, const void *v)
{
	struct evs_task *t = evs_current();
	/* The value is never dereferenced: pass it on as a number, which
	 * also keeps GCC's access(none) check on the glibc prototype quiet. */
	uintptr_t n = (uintptr_t)v;
	return t ? evs_key_set(t, k, n) : REAL(pthread_setspecific)(k, v);
}

EVS_HOOK int sched_yield(void)
{
	if (!evs_current())
		return REAL(sched_yield)();
	evs_task_yield();
	/* a signal owed to the task is taken on the way out, as on the
	 * way back from the kernel's call */
	return (int)evs_ret(0);
}

/* The calls below act on the kernel thread behind a pthread_t. For a task
 * that is its worker: the answer (or the change) is the worker's, shared by
 * every task on it. Counted as fallbacks; docs/differences.md says so. */
#define ON_WORKER(call, th, ...)                                   \
	do {                                                       \
		struct evs_task *t_ = evs_task_from_pthread(th);   \
		if (!t_ && evs_task_gone(th))                      \
			return ESRCH;                              \
		if (t_) {                                          \
			EVS_FALLBACK();                            \
			th = t_->w->thread;                        \
		}                                                  \
		return REAL(call)(th, ##__VA_ARGS__);              \
	} while (0)

EVS_HOOK int pthread_getschedparam(pthread_t th, int *pol, struct sched_param *p)
{
	ON_WORKER(pthread_getschedparam, th, pol, p);
}

EVS_HOOK int pthread_setschedparam(pthread_t th, int pol, const struct sched_param *p)
{
	ON_WORKER(pthread_setschedparam, th, pol, p);
}

EVS_HOOK int pthread_setschedprio(pthread_t th, int prio)
{
	ON_WORKER(pthread_setschedprio, th, prio);
}

EVS_HOOK int pthread_getaffinity_np(pthread_t th, size_t n, cpu_set_t *s)
{
	ON_WORKER(pthread_getaffinity_np, th, n, s);
}

EVS_HOOK int pthread_setaffinity_np(pthread_t th, size_t n, const cpu_set_t *s)
{
	ON_WORKER(pthread_setaffinity_np, th, n, s);
}

EVS_HOOK int pthread_getcpuclockid(pthread_t th, clockid_t *c)
{
	ON_WORKER(pthread_getcpuclockid, th, c);
}

/* Calls that take a thread id (0 or a kernel thread's, as natively; a
 * task's number from gettid() names the worker that task runs on, as a
 * pthread_t does above): GLib reads and sets a new thread's scheduler
 * attributes with its gettid(). Counted as fallbacks when a task's
 * number was given. */
static pid_t kernel_tid(pid_t id, const char *call)
{
	if (evs_config.disable || id <= 0)
		return id;
	pid_t k = (pid_t)evs_sig_kernel_tid((int)id);
	if (k != id)
		evs_fallback(call, NULL);
	return k;
}

EVS_HOOK int sched_setaffinity(pid_t id, size_t n, const cpu_set_t *s)
{
	return REAL(sched_setaffinity)(kernel_tid(id, "sched_setaffinity"), n, s);
}

EVS_HOOK int sched_getaffinity(pid_t id, size_t n, cpu_set_t *s)
{
	return REAL(sched_getaffinity)(kernel_tid(id, "sched_getaffinity"), n, s);
}

EVS_HOOK int sched_setscheduler(pid_t id, int pol, const struct sched_param *p)
{
	return REAL(sched_setscheduler)(kernel_tid(id, "sched_setscheduler"), pol, p);
}

EVS_HOOK int sched_getscheduler(pid_t id)
{
	return REAL(sched_getscheduler)(kernel_tid(id, "sched_getscheduler"));
}

EVS_HOOK int sched_setparam(pid_t id, const struct sched_param *p)
{
	return REAL(sched_setparam)(kernel_tid(id, "sched_setparam"), p);
}

EVS_HOOK int sched_getparam(pid_t id, struct sched_param *p)
{
	return REAL(sched_getparam)(kernel_tid(id, "sched_getparam"), p);
}

EVS_HOOK int sched_rr_get_interval(pid_t id, struct timespec *ts)
{
	return REAL(sched_rr_get_interval)(kernel_tid(id, "sched_rr_get_interval"), ts);
}

EVS_HOOK int setpriority(__priority_which_t which, id_t who, int prio)
{
	if (which == PRIO_PROCESS)
		who = (id_t)kernel_tid((pid_t)who, "setpriority");
	return REAL(setpriority)(which, who, prio);
}

EVS_HOOK int getpriority(__priority_which_t which, id_t who)
{
	if (which == PRIO_PROCESS)
		who = (id_t)kernel_tid((pid_t)who, "getpriority");
	return REAL(getpriority)(which, who);
}

/* Deferred cancellation for tasks: the request is recorded and a parked
 * target is woken; the target acts on it at its next cancellation point
 * that the shim serves (sleeps, joins, pthread_testcancel, waits on fds).
 * PTHREAD_CANCEL_ASYNCHRONOUS adds what the shim can do at once: a task
 * of that type is cancelled while it waits for a mutex too, and acts on
 * a pending request when it turns cancellation on or takes the type, or
 * cancels itself (glibc acts there too); one that computes without a
 * call acts at its next wait. */
static void async_now(struct evs_task *t)
{
	if (t->cancel_type == PTHREAD_CANCEL_ASYNCHRONOUS)
		evs_task_testcancel();
}

EVS_HOOK int pthread_cancel(pthread_t th)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (!t)
		return evs_task_gone(th) ? ESRCH : REAL(pthread_cancel)(th);
	evs_task_cancel(t);
	if (t == evs_current())
		async_now(t);
	return 0;
}

EVS_HOOK int pthread_setcancelstate(int state, int *old)
{
	struct evs_task *t = evs_current();
	if (!t)
		return REAL(pthread_setcancelstate)(state, old);
	if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
		return EINVAL;
	if (old)
		*old = t->cancel_state;
	t->cancel_state = state;
	async_now(t);
	return 0;
}

EVS_HOOK int pthread_setcanceltype(int type, int *old)
{
	struct evs_task *t = evs_current();
	if (!t)
		return REAL(pthread_setcanceltype)(type, old);
	if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
		return EINVAL;
	if (old)
		*old = t->cancel_type;
	t->cancel_type = type;
	async_now(t);
	return 0;
}

EVS_HOOK void pthread_testcancel(void)
{
	if (!evs_current())
		REAL(pthread_testcancel)();
	else
		evs_task_testcancel();
}

/* C++ thread_local objects with destructors (libstdc++'s
 * __cxa_thread_atexit lands here). glibc keeps the list in its own TLS
 * block, which follows the worker, so a task keeps its own (rt/tls.c). main
 * keeps glibc's: exit() runs it on the main thread, as natively. */
EVS_HOOK int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso)
{
	struct evs_task *t = evs_current();
	if (!t || t == &evs_main_task)
		return REAL(__cxa_thread_atexit_impl)(fn, obj, dso);
	return evs_tls_add_dtor(t, fn, obj) == 0 ? 0 : -1;  /* as glibc: nonzero on failure */
}

/* Dynamic TLS: modules that are not in the static TLS reach their
 * __thread data through here. The first access to a dlopen'd library's
 * gives the running task its own thread pointer (rt/tls.h), so the
 * address computed below is the task's own; every later access from a
 * task whose area is not loaded yet loads it first. Called with whatever
 * stack alignment the compiler left at the call site (older GCCs did not
 * align it), hence the attribute. */
struct evs_tls_index {
	unsigned long module, offset;
};

EVS_HOOK __attribute__((force_align_arg_pointer)) void *__tls_get_addr(void *arg)
{
	struct evs_worker *w = evs_self;
	if (w && evs_tls_armed) {
		struct evs_task *t = w->cur;
		if (t && (!evs_tls_by_address || w->tls_owner != t))
			evs_tls_dynamic(w, t, ((struct evs_tls_index *)arg)->module);
	}
	void *(*real)(void *) = REAL(__tls_get_addr);
	if (EVS_UNLIKELY(!real))  /* a library's constructor, before ours */
		real = (void *(*)(void *))dlsym(RTLD_NEXT, "__tls_get_addr");
	return real(arg);
}
