/* The parking lot (sync/lot.h) with deadlines, first for threads the
 * runtime does not own (they wait on a futex), then for tasks (the runtime
 * started in this process on one worker, as the shim starts it in a
 * program; the monitor off, so nothing but this test moves a task).
 * Checked:
 *   - a timed park nobody ends returns -ETIME, never before its deadline
 *     (a deadline already past: at once);
 *   - a word that no longer matches returns -EAGAIN at once;
 *   - evs_lot_unpark wakes waiters in the order they parked, only those
 *     of its address, and returns how many woke; a record whose task woke
 *     another way (cancelled, not yet run) is skipped and not counted;
 *   - a task's timed park times out; an unparked one returns 0 before
 *     its deadline and is counted by evs_lot_unpark; a task that already
 *     timed out is not counted. */
#include "check.h"
#include "sync/lot.h"
#include "libc/real.h"
#include "rt/config.h"
#include "rt/fdtab.h"
#include "rt/sched.h"
#include "rt/task.h"
#include "rt/timer.h"
#include "rt/tls.h"
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS 1000000LL

/* --- threads ------------------------------------------------------------ */

static uint32_t word = 7, other = 7;
#define NTH 4
struct parker {
	int id;
	const uint32_t *addr;
	int64_t deadline;
	long ret;
	int tid;          /* atomic: set just before it parks */
	int done;         /* atomic */
};
static int order[NTH + 1], norder;  /* who came back, in order (atomic index) */

static void *park_thread(void *x)
{
	struct parker *p = x;
	__atomic_store_n(&p->tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	p->ret = evs_lot_park(p->addr, 7, p->deadline, EVS_WAIT_sem, false);
	order[__atomic_fetch_add(&norder, 1, __ATOMIC_ACQ_REL)] = p->id;
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void pause_ms(int ms)
{
	struct timespec ts = { 0, ms * MS };
	nanosleep(&ts, NULL);
}

/* Is the thread asleep in the kernel (state S)? Once it has announced
 * itself, the only place it sleeps is the lot's futex wait, which comes
 * after it is queued. Waits 10 s at most. */
static int asleep(struct parker *p)
{
	for (int i = 0; i < 2000; i++) {
		int tid = __atomic_load_n(&p->tid, __ATOMIC_ACQUIRE);
		if (tid) {
			char path[64], buf[256];
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
			FILE *f = fopen(path, "r");
			char *rp = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			if (f)
				fclose(f);
			if (rp && rp[1] == ' ' && rp[2] == 'S')
				return 1;
		}
		pause_ms(5);
	}
	return 0;
}

/* Wait (10 s at most) until n threads have come back. */
static int came_back(int n)
{
	for (int i = 0; i < 2000 && __atomic_load_n(&norder, __ATOMIC_ACQUIRE) < n; i++)
		pause_ms(5);
	return __atomic_load_n(&norder, __ATOMIC_ACQUIRE) >= n;
}

static void threads(void)
{
	/* a deadline nobody ends: -ETIME, not before it */
	int64_t dl = evs_now_ns() + 30 * MS;
	long r = evs_lot_park(&word, 7, dl, EVS_WAIT_sem, false);
	int64_t now = evs_now_ns();
	CHECK(r == -ETIME && now >= dl, "thread: 30 ms park returned %ld, %lld ns %s the deadline", r,
	      (long long)(now > dl ? now - dl : dl - now), now >= dl ? "after" : "BEFORE");
	/* a deadline already past: at once */
	r = evs_lot_park(&word, 7, evs_now_ns() - MS, EVS_WAIT_sem, false);
	CHECK(r == -ETIME, "thread: a past deadline returned %ld", r);
	/* the word has moved on: -EAGAIN at once (a 10 s deadline would show) */
	dl = evs_now_ns() + 10000 * MS;
	r = evs_lot_park(&word, 8, dl, EVS_WAIT_sem, false);
	now = evs_now_ns();
	CHECK(r == -EAGAIN && now < dl - 9000 * MS, "thread: mismatched word returned %ld after %lld ms",
	      r, (long long)(now - (dl - 10000 * MS)) / MS);
	CHECK(evs_lot_unpark(&word, -1) == 0, "unpark with nobody parked counted someone");

	/* FIFO: park 0..3 one after the other, each asleep before the next */
	static struct parker p[NTH];
	pthread_t th[NTH];
	for (int i = 0; i < NTH; i++) {
		p[i] = (struct parker){ .id = i, .addr = &word, .deadline = INT64_MAX };
		pthread_create(&th[i], NULL, park_thread, &p[i]);
		CHECK(asleep(&p[i]), "thread %d never went to sleep", i);
	}
	/* a waiter on another address is not counted nor woken */
	static struct parker q = { .id = NTH, .addr = &other, .deadline = INT64_MAX };
	pthread_t qt;
	pthread_create(&qt, NULL, park_thread, &q);
	CHECK(asleep(&q), "the other address's thread never went to sleep");
	for (int i = 0; i < 2; i++) {
		int n = evs_lot_unpark(&word, 1);
		CHECK(n == 1, "unpark(1) #%d returned %d", i, n);
		CHECK(came_back(i + 1), "unpark(1) #%d: nobody came back", i);
		CHECK(order[i] == i, "unpark(1) #%d woke thread %d; expected %d (FIFO)", i, order[i], i);
	}
	int n = evs_lot_unpark(&word, -1);
	CHECK(n == 2, "unpark(all) of the last 2 returned %d", n);
	CHECK(came_back(4), "unpark(all): only %d came back", norder);
	CHECK(!__atomic_load_n(&q.done, __ATOMIC_ACQUIRE), "unpark of one address woke another's");
	CHECK(evs_lot_unpark(&word, -1) == 0, "a second unpark(all) counted someone");
	CHECK(evs_lot_unpark(&other, 3) == 1, "unpark(3) of the other address's one waiter");
	CHECK(came_back(5), "the other address's thread did not come back");
	for (int i = 0; i < NTH; i++) {
		pthread_join(th[i], NULL);
		CHECK(p[i].ret == 0, "thread %d: unparked, returned %ld", i, p[i].ret);
	}
	pthread_join(qt, NULL);
	CHECK(q.ret == 0, "the other address's thread returned %ld", q.ret);

	/* unpark(2) of 3: exactly 2 wake */
	norder = 0;
	for (int i = 0; i < 3; i++) {
		p[i] = (struct parker){ .id = i, .addr = &word, .deadline = INT64_MAX };
		pthread_create(&th[i], NULL, park_thread, &p[i]);
		CHECK(asleep(&p[i]), "thread %d never went to sleep", i);
	}
	n = evs_lot_unpark(&word, 2);
	CHECK(n == 2 && came_back(2), "unpark(2) of 3 returned %d, %d came back", n, norder);
	pause_ms(20);
	CHECK(__atomic_load_n(&norder, __ATOMIC_ACQUIRE) == 2, "unpark(2) of 3: %d came back", norder);
	CHECK(evs_lot_unpark(&word, -1) == 1 && came_back(3), "the third one");
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
}

/* A thread's timeout racing an unpark: evs_lot_unpark must count a
 * waiter exactly when that waiter returns 0, or a wake-up is lost (a
 * mutex unlock that "woke" a leaving waiter leaves the next one parked
 * on a free lock). The unpark comes at the deadline, give or take 20 us;
 * 10,000 rounds or 5 s at most, stopping at the first miscount. */
static int64_t race_deadline;
static long race_ret;
static sem_t race_go, race_done;

static void *race_thread(void *x)
{
	(void)x;
	prctl(PR_SET_TIMERSLACK, 1UL);  /* wake at the deadline, not 50 us late */
	for (;;) {
		sem_wait(&race_go);
		if (race_deadline < 0)
			return NULL;
		race_ret = evs_lot_park(&word, 7, race_deadline, EVS_WAIT_sem, false);
		sem_post(&race_done);
	}
}

static void timeout_race(void)
{
	pthread_t t;
	sem_init(&race_go, 0, 0);
	sem_init(&race_done, 0, 0);
	pthread_create(&t, NULL, race_thread, NULL);
	int rounds = 0, bad = 0, woke = 0, n = 0;
	int64_t stop = evs_now_ns() + 5000 * MS;
	for (; rounds < 10000 && !bad && evs_now_ns() < stop; rounds++) {
		int64_t dl = evs_now_ns() + 200000, at = dl + (rounds % 41 - 20) * 1000;
		race_deadline = dl;
		sem_post(&race_go);
		while (evs_now_ns() < at)
			;
		n = evs_lot_unpark(&word, 1);
		sem_wait(&race_done);
		bad = n != (race_ret == 0);
		woke += race_ret == 0;
	}
	race_deadline = -1;
	sem_post(&race_go);
	pthread_join(t, NULL);
	CHECK(!bad, "round %d (%d woken before): unpark counted %d woken, the waiter returned %ld",
	      rounds, woke, n, race_ret);
}

/* --- tasks --------------------------------------------------------------- */

static uint32_t tword = 7, nap_word = 7;
struct tpark {
	int64_t deadline;
	long ret;
	int64_t back;     /* when it came back */
	uint32_t *addr;   /* NULL: tword */
	bool cancel_point;
};

static void *park_task(void *x)
{
	struct tpark *p = x;
	p->ret = evs_lot_park(p->addr ? p->addr : &tword, 7, p->deadline, EVS_WAIT_sem,
			      p->cancel_point);
	p->back = evs_now_ns();
	return NULL;
}

/* main parks for ms on a word nobody unparks: the worker runs the
 * other tasks meanwhile. */
static void nap(int ms)
{
	evs_lot_park(&nap_word, 7, evs_now_ns() + ms * MS, EVS_WAIT_sleep, false);
}

/* Is t parked in the lot? On one worker with the monitor off, a task
 * main sees switched out has parked: nothing else takes it off the CPU. */
static bool in_lot(struct evs_task *t)
{
	return __atomic_load_n(&t->parked_on, __ATOMIC_RELAXED) == EVS_WAIT_sem;
}

static struct evs_task *spawn(struct tpark *p)
{
	pthread_t pt;
	if (evs_task_create(&pt, NULL, park_task, p) != 0)
		return NULL;
	return evs_task_from_pthread(pt);
}

static int join(struct evs_task *t)
{
	return t ? evs_task_join(t, NULL, INT64_MAX, 0) : -1;
}

static void tasks(void)
{
	/* The runtime on one worker, as the shim's constructor starts it. */
	setenv("EVSHIM_WORKERS", "1", 1);
	setenv("EVSHIM_MONITOR", "0", 1);
	evs_real_init();
	evs_config_load();
	evs_fdtab_init();
	evs_tls_init();
	evs_sched_init();
	CHECK(evs_current() != NULL, "main is not a task after evs_sched_init");
	if (!evs_current())
		return;

	/* main itself: a timed park times out, not before the deadline */
	int64_t dl = evs_now_ns() + 30 * MS;
	long r = evs_lot_park(&tword, 7, dl, EVS_WAIT_sem, false);
	int64_t now = evs_now_ns();
	CHECK(r == -ETIME && now >= dl, "task: 30 ms park returned %ld, %s the deadline", r,
	      now >= dl ? "after" : "BEFORE");
	uint64_t parks = evs_workers[0].st[EVS_ST_parks];
	r = evs_lot_park(&tword, 8, evs_now_ns() + 10000 * MS, EVS_WAIT_sem, false);
	CHECK(r == -EAGAIN && evs_workers[0].st[EVS_ST_parks] == parks,
	      "task: mismatched word returned %ld, parked %llu time(s)", r,
	      (unsigned long long)(evs_workers[0].st[EVS_ST_parks] - parks));

	/* one task that times out, one that is unparked before its deadline */
	struct tpark a = { .deadline = evs_now_ns() + 30 * MS };
	struct tpark b = { .deadline = evs_now_ns() + 10000 * MS };
	struct evs_task *ta = spawn(&a), *tb = spawn(&b);
	nap(100);  /* both parked; a's deadline has passed */
	int n = evs_lot_unpark(&tword, -1);
	CHECK(n == 1, "unpark(all) after one timed out returned %d; expected 1", n);
	CHECK(join(ta) == 0 && join(tb) == 0, "join failed");
	CHECK(a.ret == -ETIME && a.back >= a.deadline, "task a: returned %ld, %s its deadline", a.ret,
	      a.back >= a.deadline ? "after" : "BEFORE");
	CHECK(b.ret == 0 && b.back < b.deadline, "task b: unparked, returned %ld", b.ret);
	CHECK(evs_lot_unpark(&tword, -1) == 0, "unpark with no task left counted one");

	/* FIFO among tasks, one unpark at a time */
	struct tpark c[3];
	struct evs_task *tc[3];
	for (int i = 0; i < 3; i++) {
		c[i] = (struct tpark){ .deadline = INT64_MAX, .back = 0 };
		tc[i] = spawn(&c[i]);
		nap(5);  /* c[i] runs and parks before c[i + 1] is made */
	}
	for (int i = 0; i < 3; i++) {
		n = evs_lot_unpark(&tword, 1);
		nap(5);
		int back = 0;
		for (int k = 0; k < 3; k++)
			back += c[k].back != 0;
		CHECK(n == 1 && back == i + 1 && c[i].back, "task unpark(1) #%d: returned %d, %d back, "
		      "task %d %s", i, n, back, i, c[i].back ? "back" : "still parked");
	}
	for (int i = 0; i < 3; i++)
		CHECK(join(tc[i]) == 0 && c[i].ret == 0, "task %d returned %ld", i, c[i].ret);

	/* A record whose task already woke another way (cancelled, not yet
	 * run) is skipped: the wake-up goes to the one behind it and only
	 * that one is counted. */
	struct tpark x = { .deadline = INT64_MAX, .cancel_point = true };
	struct tpark y = { .deadline = INT64_MAX, .cancel_point = true };
	struct evs_task *tx = spawn(&x);
	nap(5);
	struct evs_task *ty = spawn(&y);
	nap(5);
	evs_task_cancel(tx);  /* tx is queued to run, its record still in the lot */
	n = evs_lot_unpark(&tword, 1);
	nap(5);
	CHECK(n == 1 && x.ret == -ECANCELED && y.back && y.ret == 0,
	      "cancelled first waiter: unpark(1) returned %d, first %ld, second %s %ld", n, x.ret,
	      y.back ? "back with" : "still parked", y.ret);
	evs_lot_unpark(&tword, -1);  /* a failed check must not hang the joins */
	CHECK(join(tx) == 0 && join(ty) == 0, "join failed");

	/* Only the address asked for: 4096 tasks parked on other words (so
	 * some share tword's hash bucket) stay parked. */
	enum { NOTHER = 4096 };
	static uint32_t others[NOTHER];
	static struct tpark op[NOTHER];
	static struct evs_task *ot[NOTHER];
	pthread_attr_t small;
	pthread_attr_init(&small);
	pthread_attr_setstacksize(&small, 64 << 10);
	int made = 0;
	for (int i = 0; i < NOTHER; i++) {
		others[i] = 7;
		op[i] = (struct tpark){ .deadline = INT64_MAX, .addr = &others[i] };
		pthread_t pt;
		if (evs_task_create(&pt, &small, park_task, &op[i]) != 0)
			break;
		ot[made++] = evs_task_from_pthread(pt);
	}
	pthread_attr_destroy(&small);
	struct tpark z = { .deadline = INT64_MAX };
	struct evs_task *tz = spawn(&z);
	/* Every one of them parked before the unpark. They start one after
	 * the other on the one worker, and a nap of a set time does not
	 * ensure that: when main's timer fires first (a loaded machine held
	 * the process off the CPU for a while), main's turn comes between
	 * two new tasks, the unpark found z not parked yet, and z then
	 * parked on tword for good: join(tz) hung (1 run in 60 with other
	 * loads on the machine). */
	int64_t give_up = evs_now_ns() + 10000 * MS;
	int unparked;
	do {
		nap(1);
		unparked = !tz || !in_lot(tz);
		for (int i = 0; i < made; i++)
			unparked += !in_lot(ot[i]);
	} while (unparked && evs_now_ns() < give_up);
	CHECK(unparked == 0, "%d of the %d tasks had not parked after 10 s", unparked, made + 1);
	n = evs_lot_unpark(&tword, -1);
	nap(20);  /* z, queued before main parks, runs first */
	int back = 0;
	for (int i = 0; i < made; i++)
		back += op[i].back != 0;
	CHECK(made == NOTHER && n == 1 && z.back && back == 0,
	      "unpark(all) of one word with %d tasks on others: returned %d, %d of the others woke",
	      made, n, back);
	evs_lot_unpark(&tword, -1);  /* a failed check must not hang the joins */
	int wrong = 0;
	for (int i = 0; i < made; i++)
		wrong += evs_lot_unpark(&others[i], -1) != 1;
	CHECK(wrong == 0, "%d of the other words' unparks did not wake exactly one", wrong);
	for (int i = 0; i < made; i++)
		wrong += join(ot[i]) != 0 || op[i].ret != 0;
	CHECK(wrong == 0 && join(tz) == 0, "%d of the other tasks did not end well", wrong);
}

/* Checks of runtime bugs not fixed yet run with EVSHIM_UNIT_PENDING=1
 * (docs/testing.md); the summary line says what was left out. */
int main(void)
{
	bool pending = getenv("EVSHIM_UNIT_PENDING") != NULL;
	threads();
	if (pending)
		timeout_race();
	tasks();
	printf("parking lot: timed parks of threads and tasks end with -ETIME no sooner than "
	       "the deadline, a moved word is -EAGAIN at once, unpark wakes in FIFO order, "
	       "only its address, skips waiters already awake and counts who woke%s: "
	       "%d failure(s)\n",
	       pending ? "; a thread's timeout racing unpark is not counted as woken"
		       : " (not checked: a thread's timeout racing unpark, a known bug; "
			 "EVSHIM_UNIT_PENDING=1 checks it)",
	       failures);
	return failures ? 1 : 0;
}
