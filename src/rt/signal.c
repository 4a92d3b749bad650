/* Signals per task: the protocol is in signal.h. */
#include "../evs.h"
#include "signal.h"
#include "../arch/cpu.h"
#include "../arch/window.h"
#include "sigint.h"
#include "sched.h"
#include "task.h"
#include "monitor.h"
#include "sitetrap.h"
#include "safepoint.h"
#include "sigframe.h"
#include "config.h"
#include "crash.h"
#include "../io/poller.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include "../obs/log.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Everything below is protected by evs_sig_lock, taken only outside
 * signal handlers or where the handler interrupted the program's own code
 * (so the thread cannot hold it already). Rank: with the fd and lot locks
 * (lock.h). */
int evs_sig_lock;
#define lock evs_sig_lock

/* The program's dispositions (what sigaction reports). */
static struct disp {
	void *handler;           /* SIG_DFL, SIG_IGN, or the program's function */
	int flags;
	evs_sigbits mask;
} disp[EVS_SIGMAX + 1];

/* Mask classes: the distinct masks live tasks have, with how many have
 * each. K is the intersection of the classes in use. A full table (more
 * distinct masks at once than this) puts the extra tasks in class 0's
 * count with mask 0, which only makes K smaller: safe, signals then reach
 * the runtime's handler and are routed. */
#define EVS_SIG_CLASSES 64
static struct { evs_sigbits mask; int refs; } cls[EVS_SIG_CLASSES];
static evs_sigbits kmask;
static evs_sigbits sfd_bits;  /* signals a signalfd reads (to_kernel below) */
uint64_t evs_sig_kgen;

/* Signals some task waits for in sigwait (or its timed forms) while their
 * disposition is the kernel's (SIG_DFL, SIG_IGN): counted per signal, and
 * blocked by every worker (added to K, and to a sleeping worker's mask)
 * while someone waits. Natively the main thread in sigwait takes such a
 * signal sent to the process even when another thread does not block it
 * (the kernel offers it to the main thread first, and the default action
 * counts the mask the wait replaced); here any worker's thread could take
 * it, and the kernel would act on it there (e2guardian's main thread
 * waits for SIGTERM while one of its threads leaves it open: SIGTERM
 * ended the process). Held in the kernel instead, the waiter takes it
 * (tests/progs/sigwait_dfl_open.c). */
static int waitcnt[EVS_SIGMAX + 1];
static evs_sigbits waited;    /* signals with waitcnt > 0 */
static evs_sigbits kwait;     /* the part of K that is there for them */
bool evs_sig_ready;

struct evs_queue evs_sig_tasks;         /* every live task, through t->sig.all */
#define tasks evs_sig_tasks
static int main_vtid, next_vtid;

#define EVS_SIG_RECORDS 4096
/* Handed out in order the first time (records_used), then through the
 * free list: 640 KiB that a process which never queues a signal never
 * touches (building the list at start-up faulted in all of it, some
 * 160 pages, in every process and again in every forked child). */
static struct sigrec records[EVS_SIG_RECORDS];
static int records_used;
static struct evs_queue free_records;
struct evs_queue evs_sig_procq;         /* sent to the process, no task takes it yet */
evs_sigbits evs_sig_procpend;
int evs_sig_transit;                    /* caught by the runtime's handler, not yet routed */
#define procq evs_sig_procq
#define procpend evs_sig_procpend

/* Signals the runtime keeps its own handler on: the monitor's, and the
 * task dump's (EVSHIM_DUMP). The program's sigaction is recorded (and
 * reported back) but not installed. */
static bool runtime_owns(int sig)
{
	return sig == EVS_SIG_PREEMPT || (evs_config.dump_sig && sig == evs_config.dump_sig);
}

/* Signals the runtime never lets a task block in the kernel. */
static evs_sigbits never_blocked(void)
{
	return evs_sigbit(SIGKILL) | evs_sigbit(SIGSTOP) | evs_sigbit(EVS_SIG_PREEMPT) |
	       (evs_config.dump_sig ? evs_sigbit(evs_config.dump_sig) : 0);
}

evs_sigbits evs_sigset_bits(const sigset_t *set)
{
	evs_sigbits b = 0;
	for (int s = 1; s <= EVS_SIGMAX; s++)
		if (sigismember(set, s) == 1)
			b |= evs_sigbit(s);
	return b;
}

void evs_bits_sigset(evs_sigbits bits, sigset_t *set)
{
	sigemptyset(set);
	for (int s = 1; s <= EVS_SIGMAX; s++)
		if (bits & evs_sigbit(s))
			sigaddset(set, s);
}

static struct evs_tasksig *sig_of(struct evs_task *t)
{
	return &t->sig;
}

/* --- K: what every worker blocks in the kernel ------------------------ */

static int class_ref(evs_sigbits m)
{
	int freeslot = -1;
	for (int i = 0; i < EVS_SIG_CLASSES; i++) {
		if (cls[i].refs && cls[i].mask == m) {
			cls[i].refs++;
			return i;
		}
		if (!cls[i].refs && freeslot < 0)
			freeslot = i;
	}
	if (freeslot < 0) {  /* full: count it where mask 0 makes K smaller */
		freeslot = 0;
		cls[0].mask = 0;
	} else {
		cls[freeslot].mask = m;
	}
	cls[freeslot].refs++;
	return freeslot;
}

static void class_unref(int i)
{
	cls[i].refs--;
}

static void held_to_kernel(evs_sigbits bits);

/* Under lock. Returns true when K changed. */
static bool k_recompute(void)
{
	evs_sigbits k = ~0ULL;
	bool any = false;
	for (int i = 0; i < EVS_SIG_CLASSES; i++)
		if (cls[i].refs) {
			k &= cls[i].mask;
			any = true;
		}
	if (!any)
		k = 0;
	kwait = 0;
	for (evs_sigbits b = waited; b; b &= b - 1) {
		int sig = __builtin_ctzll(b) + 1;
		void *h = disp[sig].handler;
		if ((h == (void *)SIG_DFL || h == (void *)SIG_IGN) && !runtime_owns(sig))
			kwait |= evs_sigbit(sig);
	}
	kwait &= ~never_blocked() & ~evs_sigbit(SIGCONT);
	k |= kwait;
	k &= ~never_blocked();
	if (__atomic_load_n(&evs_sitetrap_active, __ATOMIC_ACQUIRE))
		k &= ~evs_sigbit(SIGILL);  /* a rewritten site's trap (rt/sitetrap.c) */
	if (k == kmask)
		return false;
	evs_sigbits grew = k & ~kmask;
	__atomic_store_n(&kmask, k, __ATOMIC_RELEASE);
	__atomic_add_fetch(&evs_sig_kgen, 1, __ATOMIC_SEQ_CST);
	held_to_kernel(grew & __atomic_load_n(&sfd_bits, __ATOMIC_RELAXED));
	return true;
}

static void kick_worker(struct evs_worker *w)
{
	if (w == evs_self)
		return;
	__atomic_store_n(&w->sig_ipi, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST))
		evs_poller_poke(w->evfd);
	else if (__atomic_load_n(&evs_pollers_live, __ATOMIC_ACQUIRE))
		evs_monitor_ipi(w);
}

/* K changed: this thread applies it now, the other workers soon (each
 * compares its copy of the generation at its next scheduler round; a busy
 * one gets the monitor's signal). Outside the lock. The generation was
 * bumped (seq_cst) before the workers are looked at (seq_cst): a spare
 * published after this look reads the new generation itself
 * (evs_sig_worker_published). */
static void k_publish(void)
{
	struct evs_worker *me = evs_self;
	if (me)
		evs_sig_worker_poll(me);
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++) {
		struct evs_worker *w = &evs_workers[i];
		if (w != me && w->thread && !__atomic_load_n(&w->retired, __ATOMIC_SEQ_CST))
			kick_worker(w);
	}
}

void evs_sig_worker_published(struct evs_worker *w, uint64_t gen_then)
{
	if (__atomic_load_n(&evs_sig_kgen, __ATOMIC_SEQ_CST) != gen_then)
		kick_worker(w);
}

/* Up to this many live tasks, a worker about to sleep looks at the masks
 * of those that live on it (a look at every task, under the lock); with
 * more, it sleeps under K. */
#define EVS_SIG_SLEEP_SCAN 64

bool evs_sig_sleep_bits(struct evs_worker *w, bool none, evs_sigbits *out)
{
	/* never blocked: the runtime's own, glibc's two (SIGCANCEL, and
	 * SIGSETXID: setuid waits for every thread to take it), the faults */
	evs_sigbits open = never_blocked() | evs_sigbit(32) | evs_sigbit(33) | evs_sigbit(SIGSEGV) |
			   evs_sigbit(SIGBUS) | evs_sigbit(SIGILL) | evs_sigbit(SIGFPE) |
			   evs_sigbit(SIGTRAP) | evs_sigbit(SIGSYS);
	evs_sigbits m = ~0ULL;
	if (!none) {
		if (__atomic_load_n(&evs_live_tasks, __ATOMIC_RELAXED) > EVS_SIG_SLEEP_SCAN)
			return false;
		evs_spin_lock(&lock);
		for (struct evs_link *l = tasks.head; l; l = l->next) {
			struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
			if (t->w == w)
				m &= t->sig.mask;
		}
		evs_spin_unlock(&lock);
	}
	m |= kwait;
	m &= ~open;
	if (m == __atomic_load_n(&kmask, __ATOMIC_ACQUIRE))
		return false;  /* K, as the thread has it */
	*out = m;
	return true;
}

static void k_sigset(sigset_t *ss)
{
	evs_bits_sigset(__atomic_load_n(&kmask, __ATOMIC_ACQUIRE), ss);
}

/* --- records ----------------------------------------------------------- */

struct sigrec *evs_sig_rec_get(void)
{
	struct evs_link *l = evs_queue_pop(&free_records);
	if (l)
		return evs_queue_entry(l, struct sigrec, link);
	return records_used < EVS_SIG_RECORDS ? &records[records_used++] : NULL;
}

void evs_sig_rec_put(struct sigrec *r)
{
	evs_queue_push(&free_records, &r->link);
}

static bool queued_in(struct evs_queue *q, int sig)
{
	for (struct evs_link *l = q->head; l; l = l->next)
		if (evs_queue_entry(l, struct sigrec, link)->info.si_signo == sig)
			return true;
	return false;
}

evs_sigbits evs_sig_bits_of(struct evs_queue *q)
{
	evs_sigbits b = 0;
	for (struct evs_link *l = q->head; l; l = l->next)
		b |= evs_sigbit(evs_queue_entry(l, struct sigrec, link)->info.si_signo);
	return b;
}

/* Queue sig on q (a task's or the process's): false when it was merged
 * with one already queued or no record was left. Under lock. */
static bool enqueue(struct evs_queue *q, const siginfo_t *info, bool to_process)
{
	int sig = info->si_signo;
	if (sig < SIGRTMIN && queued_in(q, sig))
		return false;
	struct sigrec *r = evs_sig_rec_get();
	if (!r)
		return false;
	r->info = *info;
	r->to_process = to_process;
	evs_queue_push(q, &r->link);
	return true;
}

/* Take the first record of the lowest signal in `want` from q. */
struct sigrec *evs_sig_dequeue(struct evs_queue *q, evs_sigbits want)
{
	int best = 0;
	struct sigrec *pick = NULL;
	for (struct evs_link *l = q->head; l; l = l->next) {
		struct sigrec *r = evs_queue_entry(l, struct sigrec, link);
		int s = r->info.si_signo;
		if ((want & evs_sigbit(s)) && (!best || s < best)) {
			best = s;
			pick = r;
		}
	}
	if (pick)
		evs_queue_del(q, &pick->link);
	return pick;
}

/* --- routing ------------------------------------------------------------ */

/* Would the default action of sig do nothing (ignore)? */
static bool default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH;
}

static bool discarded(int sig)
{
	void *h = disp[sig].handler;
	return h == (void *)SIG_IGN || (h == (void *)SIG_DFL && default_ignores(sig));
}

/* --- signals a signalfd reads ----------------------------------------
 * A signalfd reads what the kernel holds pending for the reading thread
 * and the process. A signal the runtime keeps in a queue of its own (sent
 * with pthread_kill or raise to a task that blocks it, or with kill or
 * sigqueue while a handler is installed and every task blocks it) was
 * never there: a read of the program's signalfd waited for ever, and
 * poll or epoll never said it readable. So a signal some signalfd of the
 * process reads (sfd_bits: the union of their masks) that every task
 * blocks (K) goes to the kernel, queued to the process with its siginfo
 * (rt_sigqueueinfo); every worker blocks it there, so it waits in the
 * kernel's pending set, where the signalfd, sigwait and sigpending see
 * it, until a task unblocks it and the runtime's handler routes it. The
 * kernel lets a thread other than the main one queue only negative codes
 * other than SI_TKILL: a kill of this process is made again as a kill,
 * pthread_kill's signals (and another process's kill) queued from another
 * worker thread arrive as SI_QUEUE (differences.md). */
/* Under lock. */
static bool to_kernel(const siginfo_t *info)
{
	evs_sigbits b = evs_sigbit(info->si_signo);
	if (!(__atomic_load_n(&sfd_bits, __ATOMIC_RELAXED) & b) ||
	    !(__atomic_load_n(&kmask, __ATOMIC_RELAXED) & b))
		return false;
	siginfo_t si = *info;
	if (evs_sys3(SYS_rt_sigqueueinfo, evs_sig_pid, si.si_signo, (long)&si) == 0)
		return true;
	if (si.si_code == SI_USER && si.si_pid == evs_sig_pid && si.si_uid == getuid())
		return evs_sys3(SYS_kill, evs_sig_pid, si.si_signo, 0) == 0;  /* the same siginfo */
	si.si_code = SI_QUEUE;
	return evs_sys3(SYS_rt_sigqueueinfo, evs_sig_pid, si.si_signo, (long)&si) == 0;
}

/* Under lock: what the runtime holds of bits (signalfd signals now in K)
 * goes to the kernel. */
static void held_to_kernel(evs_sigbits bits)
{
	if (!bits)
		return;
	struct sigrec *r;
	while ((r = evs_sig_dequeue(&procq, bits))) {
		procpend = evs_sig_bits_of(&procq);
		to_kernel(&r->info);
		evs_sig_rec_put(r);
	}
	for (struct evs_link *l = tasks.head; l; l = l->next) {
		struct evs_tasksig *ts = &evs_container_of(l, struct evs_task, sig.all)->sig;
		bool took = false;
		while ((r = evs_sig_dequeue(&ts->q, bits))) {
			to_kernel(&r->info);
			evs_sig_rec_put(r);
			took = true;
		}
		if (took)
			__atomic_store_n(&ts->pend, evs_sig_bits_of(&ts->q), __ATOMIC_SEQ_CST);
	}
}

void evs_sig_signalfd_made(const sigset_t *mask)
{
	evs_sigbits b = evs_sigset_bits(mask) & ~never_blocked();
	evs_spin_lock(&lock);
	__atomic_or_fetch(&sfd_bits, b, __ATOMIC_RELAXED);
	held_to_kernel(b & kmask);
	evs_spin_unlock(&lock);
}

void evs_sig_kick_running(struct evs_task *t)
{
	struct evs_worker *tw = t->w;
	if (tw && __atomic_load_n(&tw->cur, __ATOMIC_RELAXED) == t)
		kick_worker(tw);
}

/* Make t take what is queued for it: end a wait that a signal may end, or
 * interrupt its worker if it is running there. */
static void kick(struct evs_task *t)
{
	uint64_t w = __atomic_load_n(&t->wait, __ATOMIC_SEQ_CST);
	if ((w & 1) && !(t->wait_flags & EVS_WAIT_NOSIGNAL) &&
	    evs_task_wake(t, w, EVS_WAKE_SIGNAL))
		return;
	struct evs_worker *tw = t->w;
	if (__atomic_load_n(&tw->cur, __ATOMIC_RELAXED) == t)
		kick_worker(tw);
	/* Otherwise it is queued to run: it takes the signal at its next
	 * park, or when the monitor sees it running with a signal owed. */
}

static void route_process(const siginfo_t *info, struct evs_task *prefer);

static void give(struct evs_task *t, const siginfo_t *info, bool to_process)
{
	struct evs_tasksig *s = sig_of(t);
	int sig = info->si_signo;
	if (EVS_UNLIKELY(s->gone)) {
		/* ending (evs_sig_task_gone drained it): the process's goes
		 * to another task, the thread's own dies with it */
		if (to_process)
			route_process(info, NULL);
		return;
	}
	if (s->waiting & evs_sigbit(sig) && !s->handed_sig && !s->lone) {
		s->handed = *info;
		s->handed_sig = sig;
		uint64_t w = __atomic_load_n(&t->wait, __ATOMIC_SEQ_CST);
		if (w & 1)
			evs_task_wake(t, w, EVS_WAKE_EVENT);
		return;
	}
	if (to_kernel(info))
		return;  /* a signalfd's: held in the kernel (above) */
	if (enqueue(&s->q, info, to_process))
		__atomic_or_fetch(&s->pend, evs_sigbit(sig), __ATOMIC_SEQ_CST);
	/* a lone sigwait's window looks at pend (set before the worker's
	 * lone_wait is looked at, both seq_cst): it bails, or the kick ends
	 * the kernel's wait */
	if (!(s->mask & evs_sigbit(sig)) || (s->lone && (s->waiting & evs_sigbit(sig))))
		kick(t);
}

static bool takes(struct evs_task *t, int sig)
{
	struct evs_tasksig *s = sig_of(t);
	return !(s->mask & evs_sigbit(sig)) || (s->waiting & evs_sigbit(sig));
}

/* A signal sent to the process: to a task in sigwait for it, else the
 * main task, else `prefer` (the task that was running where it arrived),
 * else any task that does not block it, else the process's queue until a
 * task unblocks it or waits for it. Under lock. */
static void route_process(const siginfo_t *info, struct evs_task *prefer)
{
	int sig = info->si_signo;
	if (discarded(sig))
		return;
	struct evs_task *target = NULL;
	for (struct evs_link *l = tasks.head; l && !target; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		if (sig_of(t)->waiting & evs_sigbit(sig))
			target = t;
	}
	if (!target && takes(&evs_main_task, sig) && evs_main_task.sig.all.linked)
		target = &evs_main_task;
	if (!target && prefer && takes(prefer, sig))
		target = prefer;
	for (struct evs_link *l = tasks.head; l && !target; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		if (takes(t, sig))
			target = t;
	}
	if (target) {
		give(target, info, true);
	} else if (to_kernel(info)) {
		/* a signalfd's: held in the kernel (above) */
	} else if (enqueue(&procq, info, true)) {
		procpend |= evs_sigbit(sig);
	}
}

/* --- no monitor: a kernel timer interrupts again -------------------------
 * A signal the handler could only note (it came inside the runtime, or in
 * libc where the stack cannot be walked yet: rt/safepoint.h) is taken at
 * the task's next hook or park; the monitor, seeing it owed, interrupts
 * the worker again once a tick until it lands in the program's own code.
 * A process whose monitor is not running (one that never started the
 * runtime: a single-threaded program, a fork()ed child) had nobody to do
 * that, and a task that went on in code that calls no hook kept the
 * signal unhandled for good: openssl speed -multi's children loop on
 * "while (run) EVP_Digest()" until SIGALRM's handler clears run; an alarm
 * that came in malloc or free, called from that loop, was noted and never
 * handled (tests/progs/sig_in_lock_loop.c). There a one-shot kernel timer
 * does the monitor's part: it sends this thread the runtime's signal
 * EVS_SIG_RETRY_NS later (on_preempt, then evs_sig_on_ipi), again from
 * there while the signal is still owed, and is stopped as soon as the
 * worker routes what was noted (so it never ends a later wait of the
 * program's with EINTR). The timer takes a kernel timer id, made the
 * first time it is needed in each process. */
#define EVS_SIG_RETRY_NS 1000000
static int retry_id, retry_tid, retry_pid;  /* retry_pid 0: none made here */
static int retry_armed;

static void retry_arm(void)
{
	/* a vfork child shares these words with its parent, not its timers */
	if (evs_monitor_running() || evs_vfork_child)
		return;
	/* the kernel's ids: a child made with the clone system call keeps
	 * evs_sig_pid, and none of its parent's timers */
	int pid = (int)evs_sys3(SYS_getpid, 0, 0, 0);
	int tid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	if (retry_pid != pid || retry_tid != tid) {
		if (retry_pid == pid)  /* another thread's: this one's now */
			evs_sys3(SYS_timer_delete, retry_id, 0, 0);
		struct sigevent sev;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = EVS_SIG_PREEMPT;
		sev._sigev_un._tid = tid;  /* sigev_notify_thread_id */
		int id;
		retry_pid = 0;
		if (evs_sys3(SYS_timer_create, CLOCK_MONOTONIC, (long)&sev, (long)&id) < 0)
			return;
		retry_id = id;
		retry_tid = tid;
		retry_pid = pid;
	}
	struct itimerspec its = { .it_value = { 0, EVS_SIG_RETRY_NS } };
	if (evs_sys6(SYS_timer_settime, retry_id, 0, (long)&its, 0, 0, 0) == 0)
		__atomic_store_n(&retry_armed, 1, __ATOMIC_RELAXED);
}

static void retry_disarm(void)
{
	if (!__atomic_load_n(&retry_armed, __ATOMIC_RELAXED) || evs_vfork_child)
		return;
	__atomic_store_n(&retry_armed, 0, __ATOMIC_RELAXED);
	struct itimerspec off;
	memset(&off, 0, sizeof(off));
	if (retry_pid == (int)evs_sys3(SYS_getpid, 0, 0, 0))
		evs_sys6(SYS_timer_settime, retry_id, 0, (long)&off, 0, 0, 0);
}

static void route_inbox(struct evs_worker *w);

/* Signals the handler could not route (it interrupted the runtime): the
 * worker routes them now. Also where a worker applies a new K: first, as
 * a signal pending in the kernel that the new K lets through arrives
 * during that very call, inside the runtime, and lands in the inbox. */
void evs_sig_worker_poll(struct evs_worker *w)
{
	uint64_t gen = __atomic_load_n(&evs_sig_kgen, __ATOMIC_ACQUIRE);
	if (w->kgen_seen != gen || w->noted_blocked) {
		sigset_t ss;
		w->noted_blocked = 0;  /* before the mask: a note meanwhile sets it again */
		k_sigset(&ss);
		REAL(pthread_sigmask)(SIG_SETMASK, &ss, NULL);
		w->kgen_seen = gen;
	}
	route_inbox(w);
}

/* What w's handler noted, routed. Owner only, outside the locks. */
static void route_inbox(struct evs_worker *w)
{
	struct evs_siginbox *in = &w->sigin;
	if (!evs_sig_inbox_empty(in)) {
		evs_spin_lock(&lock);
		while (in->tail != __atomic_load_n(&in->head, __ATOMIC_ACQUIRE)) {
			siginfo_t info = in->e[in->tail % EVS_SIG_INBOX].info;
			uint64_t task = in->e[in->tail % EVS_SIG_INBOX].task;
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			__atomic_store_n(&in->tail, in->tail + 1, __ATOMIC_RELEASE);
			/* The thread's own signal (a write's SIGPIPE) goes to the
			 * task that made the call, while it is still the one
			 * running (the call's way out, evs_ret); once it has
			 * switched away, to the process as before. */
			if (task && w->cur && w->cur->id + 1 == task)
				give(w->cur, &info, false);
			else
				route_process(&info, w->cur);
			__atomic_sub_fetch(&evs_sig_transit, 1, __ATOMIC_SEQ_CST);
		}
		evs_spin_unlock(&lock);
		retry_disarm();
	}
}

/* --- delivery ----------------------------------------------------------- */

/* The default action of sig, for real: the kernel's, on this thread. */
static void default_action(int sig)
{
	if (default_ignores(sig))
		return;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if (evs_crash_owns(sig))
		evs_crash_note(sig);  /* a fatal signal: the task and its backtrace first */
	REAL(sigaction)(sig, &dfl, NULL);
	sigset_t one, old;
	sigemptyset(&one);
	sigaddset(&one, sig);
	REAL(pthread_sigmask)(SIG_UNBLOCK, &one, &old);
	evs_sys3(SYS_tgkill, getpid(), evs_sys3(SYS_gettid, 0, 0, 0), sig);
	/* A stop signal comes back here once the process is continued. */
	REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
}

/* Deliver one record to the current task (its context). uc: the kernel's
 * context when this is the signal that interrupted it, else NULL. Returns
 * EVS_SIG_RAN[|EVS_SIG_NORESTART] or 0. */
struct handler_call {
	struct disp *d;
	int sig;
	siginfo_t *info;
	ucontext_t *uc;
};

static void call_handler(void *p)
{
	struct handler_call *c = p;
	if (c->d->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))c->d->handler)(c->sig, c->info, c->uc);
	else
		((void (*)(int))c->d->handler)(c->sig);
}

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

/* Is this thread on its kernel alternate stack, the worker's? */
static bool on_worker_altstack(void)
{
	stack_t cur;
	return evs_sys3(SYS_sigaltstack, 0, &cur, 0) == 0 && (cur.ss_flags & SS_ONSTACK);
}

/* The program's handler, on the task's own alternate stack when it asked
 * for one (SA_ONSTACK) and is not on it already, as the kernel would run
 * it; SS_AUTODISARM disarms that stack while the handler runs (the kernel
 * disarms it for any handler it runs). Not from the worker's alternate
 * stack, the kernel's (hook/signal.c): a frame of the runtime's there
 * stays in use while the handler runs, and the kernel frames the next
 * signal at that stack's top, the stack pointer being off it (SIGSEGV
 * when the first handler returned: tests/progs/onstack_nested.c). The
 * runtime moves its frame off it first (move_frame, rt/monitor.c
 * on_preempt); where it could not, the handler runs here, on the
 * worker's alternate stack, and signals inside it are framed below. */
static void run_handler(struct evs_task *t, struct handler_call *c)
{
	struct evs_tasksig *s = sig_of(t);
	stack_t was = s->alt;
	if (!was.ss_size) {
		call_handler(c);
		return;
	}
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	bool jump = (c->d->flags & SA_ONSTACK) && sp - (uintptr_t)was.ss_sp >= was.ss_size &&
		    !on_worker_altstack();
	if (was.ss_flags & SS_AUTODISARM)
		s->alt = (stack_t){ 0 };
	if (jump)
		evs_call_on_stack((char *)was.ss_sp + was.ss_size, call_handler, c);
	else
		call_handler(c);
	if (was.ss_flags & SS_AUTODISARM)
		s->alt = was;
}

/* A handler has returned: the task's mask is the one its context holds,
 * as sigreturn would set it (old, unless the handler changed it there:
 * SBCL blocks the signals it defers so, until it handles them). cls: the
 * task's mask class before the handler, which a sigprocmask inside it
 * changed (the mask the handler ran with is not a class of its own).
 * Always through evs_sig_set_mask, also when the mask comes back as it
 * was: a process signal that came while the handler blocked it (its own,
 * sent again from inside it, or the kernel's next SIGIO for the pipe it
 * reads) went to the process's queue, no task taking it then, and the
 * task takes it from there now, as sigreturn unblocks it natively (it
 * stayed there until some later sigprocmask: tests/progs/
 * sig_in_own_handler.c, stress-ng --sigio's SIGIOs stopped). */
static void mask_after_handler(struct evs_task *t, evs_sigbits old, int cls, const ucontext_t *uc)
{
	struct evs_tasksig *s = sig_of(t);
	evs_sigbits want = evs_sigset_bits(&uc->uc_sigmask) & ~never_blocked();
	if (s->cls == cls)
		s->mask = old;
	evs_sig_set_mask(t, want);
}

/* Calls the kernel makes again after any handler (ERESTARTNOINTR): a
 * fork, a PI futex lock. */
static bool always_restarted(const long call[7])
{
	switch (call[0]) {
	case SYS_clone: case SYS_fork: case SYS_vfork: case SYS_clone3:
		return true;
	case SYS_futex:
		switch ((int)call[2] & FUTEX_CMD_MASK) {
		case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2: case FUTEX_WAIT_REQUEUE_PI:
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* uc is on a system call the kernel set up to be made again (the
 * runtime's own signal asks for restarts; a learned site's trap stands
 * for a call the same way): the program's handler about to run there
 * asked for no restarts, so the call ends with -EINTR instead, as the
 * kernel decides when it frames the first handler (rawsig_intr: a raw
 * read went on after such a handler). */
static void end_restart(ucontext_t *uc)
{
	long call[7];
	if (!evs_uc_call_pending(uc))
		return;
	call[0] = uc->uc_mcontext.gregs[REG_RAX];
	evs_uc_syscall_args(uc->uc_mcontext.gregs, call);
	if (!always_restarted(call))
		evs_uc_finish_syscall(uc, -EINTR);
}

static int deliver(struct evs_task *t, struct sigrec *r, ucontext_t *uc)
{
	siginfo_t info = r->info;
	int sig = info.si_signo;
	struct disp d;
	evs_spin_lock(&lock);
	d = disp[sig];
	evs_sig_rec_put(r);
	if (d.handler != (void *)SIG_DFL && d.handler != (void *)SIG_IGN &&
	    (d.flags & SA_RESETHAND)) {  /* one shot: back to the default */
		disp[sig].handler = (void *)SIG_DFL;
		disp[sig].flags &= ~SA_SIGINFO;
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		REAL(sigaction)(sig, &dfl, NULL);
	}
	evs_spin_unlock(&lock);
	if (d.handler == (void *)SIG_IGN)
		return 0;
	if (d.handler == (void *)SIG_DFL) {
		default_action(sig);
		return 0;
	}
	struct evs_tasksig *s = sig_of(t);
	evs_sigbits old = s->mask;
	s->mask |= d.mask | ((d.flags & SA_NODEFER) ? 0 : evs_sigbit(sig));
	s->mask &= ~never_blocked();
	ucontext_t made;
	if (!uc) {
		/* Not the kernel's frame of this signal: the task's registers
		 * here, on its own stack. A conservative collector scans the
		 * stack from this pointer up (SBCL's stop-for-GC handler saves
		 * it: "no SP known for thread" when it was 0). A change the
		 * handler makes to it is not acted on (differences.md). */
		getcontext(&made);
		uc = &made;
	} else if (!(d.flags & SA_RESTART)) {
		end_restart(uc);
	}
	evs_bits_sigset(old, &uc->uc_sigmask);  /* what the handler sees as "before" */
	struct handler_call c = { &d, sig, &info, uc };
	int cls = s->cls;
	run_handler(t, &c);
	mask_after_handler(t, old, cls, uc);
	return EVS_SIG_RAN | ((d.flags & SA_RESTART) ? 0 : EVS_SIG_NORESTART);
}

int evs_sig_run_pending(struct evs_task *t, int sig_uc, ucontext_t *uc)
{
	struct evs_tasksig *s = sig_of(t);
	int ran = 0;
	for (;;) {
		evs_spin_lock(&lock);
		struct sigrec *r = evs_sig_dequeue(&s->q, ~s->mask);
		__atomic_store_n(&s->pend, evs_sig_bits_of(&s->q), __ATOMIC_SEQ_CST);
		evs_spin_unlock(&lock);
		if (!r)
			return ran;
		bool mine = r->info.si_signo == sig_uc || (sig_uc == EVS_SIG_UC_FIRST && uc);
		ran |= deliver(t, r, mine ? uc : NULL);
		if (mine)
			sig_uc = 0;  /* the kernel's context goes with that one only */
	}
}

/* The way out of sigsuspend (and pause): the kernel sets up a frame for
 * each signal the call's mask lets through, the mask growing with each
 * one's sa_mask and, unless SA_NODEFER, the signal itself, and the first
 * frame's sigreturn puts back the mask the call replaced (restore). So a
 * signal queued several times runs its handler once there, and the
 * others wait for the mask to let them through (before, the mask went
 * back to the call's between handlers: each queued one ran). Handlers
 * run one after another here, not nested (natively the last frame's
 * runs first). Returns what evs_sig_run would. */
int evs_sig_run_through(evs_sigbits restore)
{
	struct evs_task *t = evs_current();
	struct evs_tasksig *s = sig_of(t);
	evs_sigbits acc = s->mask;
	int ran = 0;
	for (;;) {
		evs_spin_lock(&lock);
		struct sigrec *r = evs_sig_dequeue(&s->q, ~acc);
		__atomic_store_n(&s->pend, evs_sig_bits_of(&s->q), __ATOMIC_SEQ_CST);
		struct disp d = r ? disp[r->info.si_signo] : (struct disp){ 0 };
		evs_spin_unlock(&lock);
		if (!r)
			break;
		int sig = r->info.si_signo;
		if (s->mask != acc)
			evs_sig_set_mask(t, acc);
		ran |= deliver(t, r, NULL);
		if (d.handler != (void *)SIG_DFL && d.handler != (void *)SIG_IGN)
			acc |= d.mask | ((d.flags & SA_NODEFER) ? 0 : evs_sigbit(sig));
		acc &= ~never_blocked();
	}
	if (ran & EVS_SIG_RAN)
		evs_sig_set_mask(t, restore);
	return ran;
}

int evs_sig_run(void)
{
	struct evs_task *t = evs_current();
	if (!t || !evs_sig_deliverable(&t->sig))
		return 0;
	return evs_sig_run_pending(t, 0, NULL);
}

bool evs_sig_interrupts(void)
{
	return evs_sig_run() & EVS_SIG_NORESTART;
}

/* The program's handler, called straight (a thread the runtime does not
 * own, a vfork child). */
static void call_direct(int sig, siginfo_t *info, void *uc)
{
	struct disp d = disp[sig];
	if (d.handler == (void *)SIG_IGN || d.handler == (void *)SIG_DFL)
		return;  /* changed since: the kernel's default is set again */
	if (d.flags & SA_RESETHAND) {
		/* One shot, as in deliver(): a fault handler that returns
		 * lets the instruction fault again with the default action
		 * (the process ends), not with this handler again. Without
		 * the lock: this may be a fault inside the runtime. */
		__atomic_store_n(&disp[sig].handler, (void *)SIG_DFL, __ATOMIC_RELAXED);
		disp[sig].flags &= ~SA_SIGINFO;
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		REAL(sigaction)(sig, &dfl, NULL);
	}
	if (d.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))d.handler)(sig, info, uc);
	else
		((void (*)(int))d.handler)(sig);
}

/* A fault (and the kernel's SIGPIPE, SIGXFSZ, a tgkill of this thread)
 * belongs to the task that was running. */
static bool for_running_task(int sig, const siginfo_t *info)
{
	if (info->si_code == SI_TKILL || sig == SIGPIPE || sig == SIGXFSZ)
		return true;
	bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		     sig == SIGTRAP || sig == SIGSYS;
	return fault && (info->si_code > 0 || info->si_code == SI_KERNEL);
}

static bool is_fault(int sig, const siginfo_t *info)
{
	return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		sig == SIGTRAP || sig == SIGSYS) && (info->si_code > 0 || info->si_code == SI_KERNEL);
}

/* May the runtime act on the task interrupted at uc (route, run its
 * handlers)? Only where it was running the program's own code or libc on
 * its behalf: never inside the runtime, nor at work inside libc itself
 * (a bare system-call wrapper, a memory or string function, or a wait in
 * a system call are fine). There the handler would run with whatever
 * lock of libc's that code holds, as natively; but a handler that waits
 * (Mono stops a thread for its collector with a signal whose handler
 * sigsuspends) parks the task, and its worker then runs the others: one
 * of them wanting the same lock (malloc's arena) waits for it in the
 * kernel and holds the worker, so the stopped task, which stays on that
 * worker, never runs again to let it go (sig_suspend_in_libc). The
 * signal is taken a moment later instead: on the task's way out of its
 * next hooked call, or when the monitor (or the retry timer) interrupts
 * it again, once a tick, out of there. */
static bool at_safe_point(struct evs_task *t, ucontext_t *uc, bool leaf_ok)
{
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	enum evs_at at = evs_safepoint_at_ip(ip);
	if (at == EVS_AT_LIBC) {
		uintptr_t lo, hi;
		evs_monitor_stack_of(t, &lo, &hi);
		at = leaf_ok ? evs_safepoint_classify_sig(uc, t == &evs_main_task, lo, hi)
			     : evs_monitor_classify(t, uc);
		if (at == EVS_AT_LIBC && evs_safepoint_in_libc_work(uc))
			return false;
	}
	return at != EVS_AT_SHIM;
}

/* A signal the task sent itself from inside libc's own raise (the shim's
 * raise hook never saw it): abort's SIGABRT, which abort unblocks itself,
 * or another the task does not block. */
static bool at_libc_raise(struct evs_task *t, int sig, const siginfo_t *info, ucontext_t *uc)
{
	if (info->si_pid != (pid_t)evs_sys3(SYS_getpid, 0, 0, 0))
		return false;
	if (sig != SIGABRT && (sig_of(t)->mask & evs_sigbit(sig)))
		return false;
	uintptr_t lo, hi;
	evs_monitor_stack_of(t, &lo, &hi);
	return evs_safepoint_raised(uc, lo, hi);
}

/* A fault's handler run on the spot in task t: while it runs, the task's
 * mask (what pthread_sigmask answers) has the action's sa_mask and the
 * signal added, and the handler sees its mask before in its context, as
 * natively (SBCL's trap handler checks that its blockable signals are
 * blocked: "blockables unblocked"); afterwards the task's mask is what
 * the context holds then. Only the fault's own thread is touched, without
 * the lock (the fault may be inside the runtime); a mask the handler
 * changes in the context becomes the task's only where the fault is not
 * in the runtime. The kernel's mask for sigreturn is put back. */
static void fault_in_task(struct evs_task *t, int sig, siginfo_t *info, ucontext_t *uc)
{
	struct disp d = disp[sig];
	if (d.handler == (void *)SIG_IGN || d.handler == (void *)SIG_DFL) {
		call_direct(sig, info, uc);
		return;
	}
	struct evs_tasksig *s = sig_of(t);
	evs_sigbits old = s->mask;
	int cls = s->cls;
	sigset_t kmask = uc->uc_sigmask;
	s->mask |= d.mask | ((d.flags & SA_NODEFER) ? 0 : evs_sigbit(sig));
	s->mask &= ~never_blocked();
	evs_bits_sigset(old, &uc->uc_sigmask);
	bool in_shim = evs_safepoint_at_ip((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]) == EVS_AT_SHIM;
	/* The kernel's mask while the handler runs: the runtime's handler
	 * blocks everything (evs_sig_action), but natively a handler takes
	 * another fault (SBCL's collector, run from its SIGTRAP handler,
	 * writes to pages it protected and takes the SIGSEGV), and a fault
	 * with its signal blocked ends the process. Faults are never blocked
	 * here, and in the program's code the worker takes signals again as
	 * for any other handler (evs_sig_entry): the handler may wait (the
	 * collector waits for the other threads to stop), and the worker's
	 * other tasks then run under this mask. In the runtime the rest stays
	 * blocked. */
	struct evs_worker *w = evs_self;
	uint64_t kgen = __atomic_load_n(&evs_sig_kgen, __ATOMIC_ACQUIRE);
	sigset_t run = kmask;
	if (!in_shim)
		k_sigset(&run);
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&run, faults[i]);
	REAL(pthread_sigmask)(SIG_SETMASK, &run, NULL);
	if (!in_shim)
		w->kgen_seen = kgen;
	t->sigframes++;  /* a handler that waits stays on this worker */
	call_direct(sig, info, uc);
	t->sigframes--;
	if (in_shim)
		s->mask = old;
	else
		mask_after_handler(t, old, cls, uc);
	uc->uc_sigmask = kmask;
	if (!in_shim)
		evs_sig_frame_renew(uc, kgen);
}

/* The runtime's handler, once the signal is routed: the handlers of what
 * the interrupted task takes now, run with the worker taking signals
 * again. */
static void entry_run(struct evs_worker *w, struct evs_task *t, int sig, ucontext_t *uc)
{
	sigset_t k;
	k_sigset(&k);
	/* The handler's own mask blocks everything (see evs_sig_action):
	 * while the program's handler runs, the worker takes signals again. */
	REAL(pthread_sigmask)(SIG_SETMASK, &k, NULL);
	w->kgen_seen = __atomic_load_n(&evs_sig_kgen, __ATOMIC_ACQUIRE);
	if (evs_sig_deliverable(&t->sig)) {
		t->sigframes++;  /* a handler that waits stays on this worker */
		evs_sig_run_pending(t, sig, uc);
		t->sigframes--;
	}
	/* sigreturn restores this mask: K as it is now, not as it was. */
	k_sigset(&uc->uc_sigmask);
}

/* entry_run on the copy of the frame (move_frame). */
static void entry_moved(void *ucv)
{
	int saved = errno;
	struct evs_worker *w = evs_self;
	entry_run(w, w->cur, w->sig_moved, ucv);
	errno = saved;
}

/* What the runtime's frames and the program's handler keep of a task's
 * alternate stack below a frame moved there. */
#define EVS_ALT_ROOM 4096

/* This signal's frame is on the worker's alternate stack, the kernel's
 * (its handler has SA_ONSTACK), the task was interrupted off it, and the
 * task has an alternate stack of its own: its handlers run there
 * (run_handler). A second signal that comes meanwhile is framed by the
 * kernel at the top of the worker's alternate stack (the stack pointer is
 * off it), over this frame, still in use: SIGSEGV once the first handler
 * returned (tests/progs/onstack_nested.c). So the frame moves off it
 * first, as a preemption's does (rt/monitor.c on_preempt), entry_run goes
 * on below the copy and sigreturn returns from it (rt/sigframe.c):
 *   - interrupted in a handler on its alternate stack: below that
 *     handler's stack pointer, where the kernel would have framed it;
 *   - on its own stack: there, below its stack pointer; the handler then
 *     has its alternate stack to itself, as before;
 *   - elsewhere (a JIT's stack): at the top of its alternate stack.
 * Every signal is still blocked (the handler's own mask, evs_sig_action),
 * until entry_run unblocks them on the copy. An alternate stack without
 * room for the copy and EVS_ALT_ROOM below it keeps the frame here, and
 * the handlers run here too (run_handler). */
static void move_frame(struct evs_worker *w, struct evs_task *t, int sig, ucontext_t *uc)
{
	const stack_t *a = &t->sig.alt;
	const stack_t *k = &uc->uc_stack;  /* the kernel's when it framed this */
	if (!a->ss_size || (k->ss_flags & SS_DISABLE) || evs_sigframe_nested(uc) ||
	    (uintptr_t)uc - (uintptr_t)k->ss_sp >= k->ss_size)
		return;
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP], alo = (uintptr_t)a->ss_sp;
	uintptr_t lo, hi, below, floor = alo + EVS_ALT_ROOM;
	evs_monitor_stack_of(t, &lo, &hi);
	bool own = sp - lo < hi - lo;
	if (sp - alo < a->ss_size)
		below = sp - 128;
	else if (own)
		below = sp - 128, floor = 0;
	else
		below = alo + a->ss_size;
	if (floor && below < floor)
		return;
	w->sig_moved = sig;
	evs_sigframe_move(uc, below, floor, entry_moved, own && t == &evs_main_task);
}

/* The runtime's handler for every signal the program handles. */
static void evs_sig_entry(int sig, siginfo_t *info, void *ucv)
{
	int saved = errno;
	evs_sig_entered();
	ucontext_t *uc = ucv;
	struct evs_worker *w = evs_self;
	struct evs_task *t = w ? w->cur : NULL;
	if (!w && evs_safepoint_walker && !is_fault(sig, info)) {
		/* a worker walking a stack (rt/safepoint.h): inside the
		 * runtime, noted below. The program's handler ran here before,
		 * in the middle of the monitor's walk, every signal blocked:
		 * one it waited for never came (tests/progs/onstack_nested.c
		 * on 1 worker, about 1 run in 10). */
		w = evs_safepoint_walker;
	}
	if (!w) {
		/* not a thread of ours: the program's handler, on the spot */
		errno = saved;
		call_direct(sig, info, ucv);
		return;
	}
	if (t && is_fault(sig, info)) {
		/* a fault: the program's handler, on the spot, as the kernel
		 * would, with the task's mask as the kernel would set it */
		errno = saved;
		fault_in_task(t, sig, info, uc);
		return;
	}
	if (t && info->si_code == SI_TKILL && at_libc_raise(t, sig, info, uc)) {
		/* abort(), assert() and glibc's fatal errors: the program's
		 * handler now, as natively, before libc goes on (to the default
		 * action: noted, it would never run) */
		errno = saved;
		fault_in_task(t, sig, info, uc);
		return;
	}
	/* In transit from here until it is queued on a task: a sigwait that
	 * returns meanwhile waits for it (rt/sigwait.c, settle). */
	__atomic_add_fetch(&evs_sig_transit, 1, __ATOMIC_SEQ_CST);
	/* A bare wrapper known by its code (evs_safepoint_classify_sig) only
	 * for a signal the task takes now: one the task blocks (its
	 * handler's own, coming again while the handler runs) stays noted
	 * and blocked in the kernel, as before. A handler on the task's
	 * alternate stack is run once this frame has left the worker's
	 * (move_frame); before, it was kept out of this rule (a 1 us timer
	 * re-armed by such a handler: SIGSEGV, tests/progs/timer_flood.c). */
	bool leaf_ok = t && !(sig_of(t)->mask & evs_sigbit(sig));
	if (!t || !at_safe_point(t, uc, leaf_ok)) {
		/* in the scheduler, or inside the runtime: note it; the worker
		 * routes it soon */
		struct evs_siginbox *in = &w->sigin;
		unsigned h = in->head;
		if (h - in->tail < EVS_SIG_INBOX) {
			in->e[h % EVS_SIG_INBOX].sig = sig;
			in->e[h % EVS_SIG_INBOX].task = t && for_running_task(sig, info) ? t->id + 1 : 0;
			in->e[h % EVS_SIG_INBOX].info = *info;
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			__atomic_store_n(&in->head, h + 1, __ATOMIC_RELEASE);
		} else {
			__atomic_sub_fetch(&evs_sig_transit, 1, __ATOMIC_SEQ_CST);
		}
		/* Until the worker routes it, the signal stays blocked on this
		 * thread, as natively it stays pending while no handler of its
		 * has run: the kernel keeps a second one pending (a timer's
		 * counts overruns) instead of handing it to this handler again.
		 * A timer firing faster than this handler returns (stress-ng's
		 * timer stressor: 1 us) otherwise kept the task at the first
		 * instruction of the runtime's own handler for ever, each retry
		 * signal stacked on the last until the alternate stack
		 * overflowed (SIGSEGV; tests/progs/timer_flood.c). */
		if (!(never_blocked() & evs_sigbit(sig))) {
			sigaddset(&uc->uc_sigmask, sig);
			w->noted_blocked = 1;
		}
		if (w->evfd >= 0)  /* -1 before the runtime has started */
			evs_poller_poke(w->evfd);  /* a worker about to sleep wakes up */
		/* a lone task about to wait in the kernel does not (lonewait.c);
		 * one leaving the window with -EINTR routes the note at once
		 * (evs_lone_syscall), so only the others need the retry timer:
		 * a lone wait's signals (PostgreSQL's latches) cost no timer
		 * calls */
		if (!evs_window_bail(uc) && !evs_window_eintr(uc))
			retry_arm();  /* with no monitor, interrupt again soon */
		errno = saved;
		return;
	}
	evs_spin_lock(&lock);
	if (for_running_task(sig, info))
		give(t, info, false);
	else
		route_process(info, t);
	__atomic_sub_fetch(&evs_sig_transit, 1, __ATOMIC_SEQ_CST);
	evs_spin_unlock(&lock);
	if (evs_sig_deliverable(&t->sig)) {
		errno = saved;
		move_frame(w, t, sig, uc);  /* returns only if it stays here */
	}
	entry_run(w, t, sig, uc);
	errno = saved;
}

void evs_sig_frame_renew(ucontext_t *uc, uint64_t gen_then)
{
	if (__atomic_load_n(&evs_sig_kgen, __ATOMIC_ACQUIRE) != gen_then)
		k_sigset(&uc->uc_sigmask);
}

void evs_sig_on_ipi(struct evs_worker *w, ucontext_t *uc)
{
	struct evs_task *t = w->cur;
	w->sig_ipi = 0;
	uint64_t gen = __atomic_load_n(&evs_sig_kgen, __ATOMIC_ACQUIRE);
	if (w->kgen_seen != gen) {  /* sigreturn sets the mask: set it there */
		k_sigset(&uc->uc_sigmask);
		/* and now: a task may wait inside this handler (a yield, a
		 * handed-off call), and the worker then runs the others under
		 * the mask the handler began with. A spare worker kept K from
		 * before a site was rewritten, SIGILL blocked, and its next
		 * task's trap there ended the process (raw_futex_sites). */
		evs_sys6(SYS_rt_sigprocmask, SIG_SETMASK, &uc->uc_sigmask, 0, _NSIG / 8, 0, 0);
		w->kgen_seen = gen;
	}
	/* The task waits in the runtime's own call that may wait on what
	 * the runtime cannot see (arch/window.h: an open of a FIFO): a
	 * signal for it, or its cancellation, ends that call with EINTR; the
	 * runtime's caller acts on the cancellation, or runs the handler and
	 * makes the call again if it asked for restarts, as the kernel does
	 * (rt/fileops.c). */
	if (t && evs_offable_at(uc)) {
		evs_sig_worker_poll(w);  /* safe: the runtime holds no lock there */
		if (evs_sig_deliverable(&t->sig) || evs_task_cancel_due(t)) {
			evs_offable_bail(uc);
			return;
		}
	}
	if (!t || !at_safe_point(t, uc, false)) {
		if (evs_sig_owed(w))
			retry_arm();  /* not here: again soon, with no monitor */
		return;
	}
	if (!evs_sig_inbox_empty(&w->sigin) || evs_sig_deliverable(&t->sig))
		evs_sig_run_at(w, t, uc);
}

int evs_sig_run_at(struct evs_worker *w, struct evs_task *t, ucontext_t *uc)
{
	int saved = errno, ran = 0;
	evs_sig_worker_poll(w);  /* safe: this thread holds no runtime lock */
	/* The first handler gets the context the kernel gave this signal,
	 * which is where the task was interrupted in its own code: what the
	 * program's signal would have carried had it come itself. What that
	 * handler changes there (SBCL's interrupt-thread sets the pc) is
	 * where sigreturn resumes. */
	if (evs_sig_deliverable(&t->sig))
		ran = evs_sig_run_pending(t, EVS_SIG_UC_FIRST, uc);
	k_sigset(&uc->uc_sigmask);
	errno = saved;
	return ran;
}

bool evs_sig_owed(struct evs_worker *w)
{
	struct evs_task *t = __atomic_load_n(&w->cur, __ATOMIC_RELAXED);
	return (t && evs_sig_deliverable(&t->sig)) || !evs_sig_inbox_empty(&w->sigin);
}

/* --- the program's calls ------------------------------------------------- */

int evs_sig_action(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig < 1 || sig > EVS_SIGMAX || (act && (sig == SIGKILL || sig == SIGSTOP)))
		return -EINVAL;
	struct sigaction real;
	memset(&real, 0, sizeof(real));
	evs_spin_lock(&lock);
	if (old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = (void (*)(int))disp[sig].handler;
		old->sa_flags = disp[sig].flags;
		evs_bits_sigset(disp[sig].mask, &old->sa_mask);
	}
	long r = 0;
	if (act) {
		void *h = (act->sa_flags & SA_SIGINFO) ? (void *)act->sa_sigaction
						      : (void *)act->sa_handler;
		disp[sig].handler = h;
		disp[sig].flags = act->sa_flags;
		disp[sig].mask = evs_sigset_bits(&act->sa_mask);
		if (h == (void *)SIG_DFL && evs_crash_owns(sig)) {
			evs_crash_action(&real);  /* the crash report stands for SIG_DFL */
		} else if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) {
			real.sa_handler = (void (*)(int))h;
			real.sa_flags = act->sa_flags & ~SA_SIGINFO;
			real.sa_mask = act->sa_mask;
		} else {
			/* Ours, with everything blocked while it runs (it sets
			 * the worker's mask itself before the program's handler). */
			real.sa_sigaction = evs_sig_entry;
			real.sa_flags = SA_SIGINFO |
				(act->sa_flags & (SA_RESTART | SA_ONSTACK | SA_NOCLDSTOP | SA_NOCLDWAIT));
			sigfillset(&real.sa_mask);
		}
		if (sig == SIGILL && evs_sitetrap_chain(&real))
			;  /* behind the runtime's trap handler (rt/sitetrap.c) */
		else if (!runtime_owns(sig))  /* the runtime's: kept */
			r = REAL(sigaction)(sig, &real, NULL) == 0 ? 0 : -errno;
	}
	bool changed = act && (waited & evs_sigbit(sig)) && k_recompute();
	evs_spin_unlock(&lock);
	if (changed)
		k_publish();
	return (int)r;
}

void evs_sig_trap_sigill(const struct sigaction *ours, struct sigaction *behind)
{
	evs_spin_lock(&lock);
	REAL(sigaction)(SIGILL, ours, behind);
	__atomic_store_n(&evs_sitetrap_active, 1, __ATOMIC_RELEASE);
	bool changed = k_recompute();
	evs_spin_unlock(&lock);
	if (changed)
		k_publish();
}

void evs_sig_set_mask(struct evs_task *t, evs_sigbits m)
{
	struct evs_tasksig *s = sig_of(t);
	m &= ~never_blocked();
	evs_spin_lock(&lock);
	bool changed = false;
	if (m != s->mask) {
		class_unref(s->cls);
		s->cls = class_ref(m);
		s->mask = m;
		changed = k_recompute();
	}
	/* What the process holds that this task now takes. */
	evs_sigbits now = procpend & ~m;
	while (now) {
		struct sigrec *r = evs_sig_dequeue(&procq, now);
		if (!r)
			break;
		procpend = evs_sig_bits_of(&procq);
		give(t, &r->info, true);
		evs_sig_rec_put(r);
		now = procpend & ~m;
	}
	evs_spin_unlock(&lock);
	if (changed)
		k_publish();
}

bool evs_sig_wait_count(evs_sigbits set, int d)
{
	evs_sigbits was = waited;
	for (evs_sigbits b = set; b; b &= b - 1) {
		int sig = __builtin_ctzll(b) + 1;
		if (sig > EVS_SIGMAX)
			break;
		waitcnt[sig] += d;
		if (waitcnt[sig] > 0)
			waited |= evs_sigbit(sig);
		else
			waited &= ~evs_sigbit(sig);
	}
	return waited != was && k_recompute();
}

void evs_sig_k_publish(void)
{
	k_publish();
}

int evs_sig_procmask(int how, const sigset_t *set, sigset_t *old)
{
	struct evs_task *t = evs_current();
	evs_sigbits cur = t->sig.mask;
	if (old)
		evs_bits_sigset(cur, old);
	if (!set)
		return 0;
	evs_sigbits b = evs_sigset_bits(set);
	switch (how) {
	case SIG_BLOCK: b = cur | b; break;
	case SIG_UNBLOCK: b = cur & ~b; break;
	case SIG_SETMASK: break;
	default: return -EINVAL;
	}
	evs_sig_set_mask(t, b);
	if (evs_sig_deliverable(&t->sig))
		evs_sig_run();  /* POSIX: delivered before sigprocmask returns */
	return 0;
}

evs_sigbits evs_sig_swap_mask(evs_sigbits m)
{
	struct evs_task *t = evs_current();
	evs_sigbits old = t->sig.mask;
	evs_sig_set_mask(t, m);
	return old;
}

void evs_sig_pending(sigset_t *set)
{
	struct evs_task *t = evs_current();
	evs_spin_lock(&lock);
	evs_sigbits b = evs_sig_bits_of(&t->sig.q) | procpend;
	evs_spin_unlock(&lock);
	sigset_t k;
	if (REAL(sigpending)(&k) == 0)
		b |= evs_sigset_bits(&k);
	evs_bits_sigset(b, set);
}

int evs_sig_send(struct evs_task *t, int sig, const siginfo_t *info)
{
	if (sig < 0 || sig > EVS_SIGMAX)
		return -EINVAL;
	if (sig == 0)
		return t->exited || t->sig.gone ? -ESRCH : 0;
	siginfo_t si;
	if (info) {
		si = *info;
	} else {
		memset(&si, 0, sizeof(si));
		si.si_code = SI_TKILL;
		si.si_pid = getpid();
		si.si_uid = getuid();
	}
	si.si_signo = sig;
	evs_spin_lock(&lock);
	/* Ending: a record given now would never be taken nor freed (the
	 * joinable mark comes later, once the task is off its stack). */
	if (t->exited || t->sig.gone) {
		evs_spin_unlock(&lock);
		return -ESRCH;
	}
	/* Ignored and not blocked: the kernel discards it at once. */
	if (!(discarded(sig) && !(t->sig.mask & evs_sigbit(sig))))
		give(t, &si, false);
	evs_spin_unlock(&lock);
	if (t == evs_current() && evs_sig_deliverable(&t->sig))
		evs_sig_run();  /* raise: the handler has run when it returns */
	return 0;
}

int evs_sig_kill_self(int sig, const siginfo_t *info)
{
	if (sig <= 0 || sig > EVS_SIGMAX || sig == SIGKILL || sig == SIGSTOP)
		return EVS_USE_REAL;
	siginfo_t si;
	if (info) {
		si = *info;
	} else {
		memset(&si, 0, sizeof(si));
		si.si_code = SI_USER;
		si.si_pid = getpid();
		si.si_uid = getuid();
	}
	si.si_signo = sig;
	evs_spin_lock(&lock);
	void *h = disp[sig].handler;
	if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) {
		evs_spin_unlock(&lock);
		return EVS_USE_REAL;  /* the kernel's default action, or nothing */
	}
	route_process(&si, evs_current());
	evs_spin_unlock(&lock);
	struct evs_task *t = evs_current();
	if (t && evs_sig_deliverable(&t->sig))
		evs_sig_run();
	return 0;
}

void evs_sig_sent(void)
{
	struct evs_task *t = evs_current();
	struct evs_worker *w = evs_self;
	if (!t || !w)
		return;
	evs_sig_worker_poll(w);
	if (evs_sig_deliverable(&t->sig))
		evs_sig_run();
}

evs_sigbits evs_sig_caught(void)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
	evs_sigbits b = 0;
	evs_spin_lock(&lock);
	for (int s = 1; s <= EVS_SIGMAX; s++) {
		void *h = disp[s].handler;
		if (h != (void *)SIG_DFL && h != (void *)SIG_IGN && !runtime_owns(s))
			b |= evs_sigbit(s);
	}
	evs_spin_unlock(&lock);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		b &= ~evs_sigbit(faults[i]);
	return b;
}

void evs_sig_worker_leave(struct evs_worker *w)
{
	sigset_t all;
	sigfillset(&all);
	REAL(pthread_sigmask)(SIG_SETMASK, &all, NULL);
	route_inbox(w);
}

/* --- tasks ----------------------------------------------------------------- */

void evs_sig_task_new(struct evs_task *t, struct evs_task *parent)
{
	evs_sigbits m = parent ? parent->sig.mask : 0;
	evs_spin_lock(&lock);
	t->sig.mask = m;
	t->sig.cls = class_ref(m);
	t->sig.vtid = ++next_vtid;
	evs_queue_push(&tasks, &t->sig.all);
	evs_spin_unlock(&lock);
}

void evs_sig_task_gone(struct evs_task *t)
{
	struct evs_tasksig *s = sig_of(t);
	evs_spin_lock(&lock);
	evs_queue_del(&tasks, &s->all);
	s->gone = true;
	class_unref(s->cls);
	bool changed = k_recompute();
	struct evs_link *l;
	while ((l = evs_queue_pop(&s->q))) {  /* what was sent to the process goes on */
		struct sigrec *r = evs_queue_entry(l, struct sigrec, link);
		if (r->to_process)
			route_process(&r->info, NULL);
		evs_sig_rec_put(r);
	}
	s->pend = 0;
	evs_spin_unlock(&lock);
	if (changed)
		k_publish();
}

int evs_sig_gettid(void)
{
	struct evs_task *t = evs_current();
	if (!t || t == &evs_main_task)
		return (int)evs_sys3(SYS_gettid, 0, 0, 0);
	return t->sig.vtid;
}

struct evs_task *evs_sig_task_of_tid(int tid)
{
	if (tid <= main_vtid)
		return tid == main_vtid ? &evs_main_task : NULL;
	struct evs_task *found = NULL;
	evs_spin_lock(&lock);
	for (struct evs_link *l = tasks.head; l && !found; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		if (t->sig.vtid == tid && t != &evs_main_task)
			found = t;
	}
	evs_spin_unlock(&lock);
	return found;
}

int evs_sig_kernel_tid(int tid)
{
	if (tid <= main_vtid)
		return tid;
	int k = tid;
	evs_spin_lock(&lock);
	for (struct evs_link *l = tasks.head; l; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		if (t->sig.vtid == tid && t != &evs_main_task) {
			k = t->w ? t->w->ktid : tid;
			break;
		}
	}
	evs_spin_unlock(&lock);
	return k;
}

/* --- start-up and fork ------------------------------------------------------ */

/* Task ids other than main's start above the kernel's pid_max: unique in
 * the process, and never the id of a real thread or process. */
static int read_pid_max(void)
{
	char buf[32];
	long fd = evs_sys6(SYS_openat, AT_FDCWD, "/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC,
			   0, 0, 0);
	int v = 0;
	if (fd >= 0) {
		long n = evs_sys_read((int)fd, buf, sizeof(buf) - 1);
		evs_sys_close((int)fd);
		if (n > 0) {
			buf[n] = 0;
			v = atoi(buf);
		}
	}
	return v > 0 ? v : 4194304;  /* the 64-bit kernels' default */
}

void evs_sig_init(void)
{
	evs_sig_pid = (int)evs_sys3(SYS_getpid, 0, 0, 0);
	for (int s = 1; s <= EVS_SIGMAX; s++) {
		struct sigaction cur;
		disp[s].handler = (void *)SIG_DFL;
		if (s == SIGKILL || s == SIGSTOP || REAL(sigaction)(s, NULL, &cur) != 0)
			continue;
		disp[s].flags = cur.sa_flags;
		disp[s].mask = evs_sigset_bits(&cur.sa_mask);
		disp[s].handler = (cur.sa_flags & SA_SIGINFO) ? (void *)cur.sa_sigaction
							      : (void *)cur.sa_handler;
		if (disp[s].handler != (void *)SIG_DFL && disp[s].handler != (void *)SIG_IGN &&
		    !runtime_owns(s)) {  /* installed before us: ours from now on */
			struct sigaction act = cur;
			evs_sig_action(s, &act, NULL);
		}
	}
	sigset_t m;
	REAL(pthread_sigmask)(SIG_SETMASK, NULL, &m);
	main_vtid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	next_vtid = read_pid_max();
	evs_main_task.sig.mask = evs_sigset_bits(&m) & ~never_blocked();
	evs_main_task.sig.cls = class_ref(evs_main_task.sig.mask);
	evs_main_task.sig.vtid = main_vtid;
	evs_queue_push(&tasks, &evs_main_task.sig.all);
	k_recompute();
	evs_sig_worker_start(&evs_workers[0]);
	evs_sig_ready = true;
}

void evs_sig_worker_start(struct evs_worker *w)
{
	w->kgen_seen = (uint64_t)-1;  /* apply K now */
	evs_sig_worker_poll(w);
}

int evs_sig_pid;

void evs_sig_atfork_child(struct evs_task *cur)
{
	evs_sig_pid = (int)evs_sys3(SYS_getpid, 0, 0, 0);
	retry_armed = 0;  /* timers stay with the parent */
	/* One task left, the forking one; nothing is pending in a new
	 * process. */
	lock = 0;
	tasks = (struct evs_queue){ 0 };
	procq = (struct evs_queue){ 0 };
	procpend = 0;
	evs_sig_transit = 0;  /* every inbox starts empty (evs_sched_atfork_child) */
	free_records = (struct evs_queue){ 0 };
	records_used = 0;
	memset(cls, 0, sizeof(cls));
	if (!cur)
		return;
	main_vtid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	cur->sig.q = (struct evs_queue){ 0 };
	cur->sig.pend = 0;
	cur->sig.waiting = 0;
	cur->sig.handed_sig = 0;
	cur->sig.cls = class_ref(cur->sig.mask);
	cur->sig.vtid = main_vtid;
	evs_queue_push(&tasks, &cur->sig.all);
	k_recompute();
	evs_sig_worker_start(&evs_workers[0]);
}
