/* The fd table's wake-up rules (rt/fdtab.h), below the level of running
 * tasks: records made with evs_fd_reset, waiters queued by hand whose
 * tasks are dummies on a dummy worker. A wake-up shows in two places: the
 * task's wait token is consumed (t->wait loses its low bit, wake_reason
 * says why) and the task lands in its worker's run queue. Checked:
 *   - an event tagged with an older generation (the fd was closed and its
 *     number reused) bumps no counter and wakes no waiter;
 *   - evs_fd_reset wakes every waiter of both directions, EVS_WAKE_CLOSED;
 *   - an event wakes only the first live waiter of its direction, and
 *     evs_fd_pass hands it to the next; a record whose task already woke
 *     for another reason is skipped, not allowed to swallow the event;
 *   - which epoll bits count as "in" and which as "out". */
#include "check.h"
#include "rt/fdtab.h"
#include "rt/sched.h"
#include "rt/task.h"
#include <stdio.h>
#include <sys/epoll.h>

#define NT 8

static struct evs_worker dw;          /* the dummy tasks' home */
static struct evs_task tk[NT];
static struct evs_waiter wr[NT];
static uint64_t next_seq = 1;

/* Task i opens a wait (as evs_wait_open would) and queues its record on
 * f in direction dir. */
static void wait_on(struct evs_fd *f, int dir, int i)
{
	tk[i].wait = (next_seq++ << 1) | 1;
	tk[i].wake_reason = -1;
	wr[i] = (struct evs_waiter){ .t = &tk[i], .token = tk[i].wait };
	evs_spin_lock(&f->lock);
	evs_queue_push(&f->waiters[dir], &wr[i].link);
	evs_spin_unlock(&f->lock);
}

static int waiting(int i)
{
	return (int)(tk[i].wait & 1);
}

/* Which dummy tasks the wake-ups queued, in order, as a bit mask per
 * position; -1 past the end. Empties the run queue. */
static int woken[NT + 1], nwoken;
static void collect(void)
{
	nwoken = 0;
	evs_runq_drain(&dw.rq);
	struct evs_task *t;
	while ((t = evs_runq_pop(&dw.rq)) && nwoken < NT)
		woken[nwoken++] = (int)(t - tk);
}

static uint64_t tag(uint32_t gen, int fd)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

/* Clear f's queues of records the checks left there (test bookkeeping). */
static void drop_waiters(struct evs_fd *f)
{
	for (int d = 0; d < 2; d++)
		while (evs_queue_pop(&f->waiters[d]))
			;
}

int main(void)
{
	evs_fdtab_init();
	evs_runq_init(&dw.rq);
	for (int i = 0; i < NT; i++)
		tk[i].w = &dw;
	const int fd = 100;  /* records do not need the number to be open */

	/* 1. evs_fd_reset wakes every waiter of both directions, CLOSED. */
	evs_fd_reset(fd, EVS_FD_SOCKET, 0, 1);
	struct evs_fd *f = evs_fd_get(fd);
	CHECK(f != NULL, "no record for fd %d", fd);
	if (!f)
		return 1;
	uint32_t gen0 = f->gen;
	wait_on(f, EVS_IN, 0);
	wait_on(f, EVS_IN, 1);
	wait_on(f, EVS_IN, 2);
	wait_on(f, EVS_OUT, 3);
	wait_on(f, EVS_OUT, 4);
	evs_fd_reset(fd, EVS_FD_SOCKET, 0, 1);
	collect();
	CHECK(f->gen == gen0 + 1, "reset: generation %u, expected %u", f->gen, gen0 + 1);
	CHECK(nwoken == 5, "reset woke %d of 5 waiters", nwoken);
	for (int i = 0; i < 5; i++) {
		CHECK(!waiting(i), "reset: waiter %d still waiting", i);
		CHECK(tk[i].wake_reason == EVS_WAKE_CLOSED, "reset: waiter %d woke with reason %d",
		      i, tk[i].wake_reason);
		CHECK(!wr[i].link.linked, "reset: waiter %d still queued", i);
	}
	CHECK(evs_queue_empty(&f->waiters[EVS_IN]) && evs_queue_empty(&f->waiters[EVS_OUT]),
	      "reset left records queued");

	/* 2. An event of the old generation: no counter moves, nobody wakes.
	 * Then the same event with the current generation does both. */
	wait_on(f, EVS_IN, 0);
	wait_on(f, EVS_OUT, 1);
	uint32_t in0 = f->seq[EVS_IN], out0 = f->seq[EVS_OUT];
	evs_fd_event(tag(gen0, fd), EPOLLIN | EPOLLOUT | EPOLLHUP);
	collect();
	CHECK(f->seq[EVS_IN] == in0 && f->seq[EVS_OUT] == out0,
	      "stale event moved the counters: in %u -> %u, out %u -> %u", in0, f->seq[EVS_IN],
	      out0, f->seq[EVS_OUT]);
	CHECK(nwoken == 0 && waiting(0) && waiting(1), "stale event woke %d waiter(s)", nwoken);
	CHECK(wr[0].link.linked && wr[1].link.linked, "stale event dequeued a waiter");
	evs_fd_event(tag(f->gen, fd), EPOLLIN | EPOLLOUT);
	collect();
	CHECK(f->seq[EVS_IN] == in0 + 1 && f->seq[EVS_OUT] == out0 + 1,
	      "current event: counters in %u -> %u, out %u -> %u", in0, f->seq[EVS_IN], out0,
	      f->seq[EVS_OUT]);
	CHECK(nwoken == 2 && !waiting(0) && !waiting(1) &&
		      tk[0].wake_reason == EVS_WAKE_EVENT && tk[1].wake_reason == EVS_WAKE_EVENT,
	      "current event woke %d of 2 waiters", nwoken);
	drop_waiters(f);

	/* 3. One event, one waiter: the first of its direction. evs_fd_pass
	 * hands it on, one waiter at a time; the other direction is left. */
	wait_on(f, EVS_IN, 0);
	wait_on(f, EVS_IN, 1);
	wait_on(f, EVS_IN, 2);
	wait_on(f, EVS_OUT, 3);
	in0 = f->seq[EVS_IN];
	out0 = f->seq[EVS_OUT];
	evs_fd_event(tag(f->gen, fd), EPOLLIN);
	collect();
	CHECK(nwoken == 1 && woken[0] == 0, "EPOLLIN woke %d waiter(s), first %d; expected 1, task 0",
	      nwoken, nwoken ? woken[0] : -1);
	CHECK(waiting(1) && waiting(2) && waiting(3), "EPOLLIN woke more than the first in-waiter");
	CHECK(f->seq[EVS_IN] == in0 + 1 && f->seq[EVS_OUT] == out0,
	      "EPOLLIN: counters in +%u, out +%u; expected +1, +0", f->seq[EVS_IN] - in0,
	      f->seq[EVS_OUT] - out0);
	evs_fd_pass(f, EVS_IN);
	collect();
	CHECK(nwoken == 1 && woken[0] == 1 && waiting(2), "first pass: woke %d, first %d",
	      nwoken, nwoken ? woken[0] : -1);
	evs_fd_pass(f, EVS_IN);
	collect();
	CHECK(nwoken == 1 && woken[0] == 2, "second pass: woke %d, first %d", nwoken,
	      nwoken ? woken[0] : -1);
	evs_fd_pass(f, EVS_IN);  /* nobody left: nothing happens */
	collect();
	CHECK(nwoken == 0 && waiting(3), "a pass with no in-waiter woke %d", nwoken);
	CHECK(f->seq[EVS_IN] == in0 + 1, "evs_fd_pass moved the in counter");
	evs_fd_event(tag(f->gen, fd), EPOLLOUT);
	collect();
	CHECK(nwoken == 1 && woken[0] == 3, "EPOLLOUT woke %d, first %d; expected task 3", nwoken,
	      nwoken ? woken[0] : -1);
	drop_waiters(f);

	/* 4. A record whose task already woke (a timeout, another fd of the
	 * same poll) is skipped: the event goes to the live one behind it,
	 * and the stale one's task is not queued a second time. */
	wait_on(f, EVS_IN, 0);
	wait_on(f, EVS_IN, 1);
	wait_on(f, EVS_IN, 2);
	tk[0].wait &= ~1ULL;  /* task 0's wait ended another way */
	tk[0].wake_reason = EVS_WAKE_TIMEOUT;
	evs_fd_event(tag(f->gen, fd), EPOLLIN);
	collect();
	CHECK(nwoken == 1 && woken[0] == 1, "stale head: woke %d, first %d; expected task 1", nwoken,
	      nwoken ? woken[0] : -1);
	CHECK(tk[0].wake_reason == EVS_WAKE_TIMEOUT, "stale head's wake reason overwritten");
	CHECK(waiting(2), "stale head: the event reached the third waiter too");
	/* a waiter whose token is from an earlier wait of the same task */
	uint64_t old = wr[2].token;
	tk[2].wait = (next_seq++ << 1) | 1;  /* task 2 is in a newer wait now */
	evs_fd_pass(f, EVS_IN);
	collect();
	CHECK(nwoken == 0 && tk[2].wait != (old & ~1ULL) && waiting(2),
	      "an old token ended task 2's newer wait");
	drop_waiters(f);

	/* 5. Which bits wake which direction. */
	static const struct { uint32_t ev; int in, out; const char *name; } bits[] = {
		{ EPOLLIN, 1, 0, "EPOLLIN" },    { EPOLLPRI, 1, 0, "EPOLLPRI" },
		{ EPOLLRDHUP, 1, 0, "EPOLLRDHUP" }, { EPOLLOUT, 0, 1, "EPOLLOUT" },
		{ EPOLLHUP, 1, 1, "EPOLLHUP" },  { EPOLLERR, 1, 1, "EPOLLERR" },
	};
	for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
		wait_on(f, EVS_IN, 0);
		wait_on(f, EVS_OUT, 1);
		in0 = f->seq[EVS_IN];
		out0 = f->seq[EVS_OUT];
		evs_fd_event(tag(f->gen, fd), bits[b].ev);
		collect();
		CHECK((!waiting(0)) == bits[b].in && (!waiting(1)) == bits[b].out &&
			      f->seq[EVS_IN] - in0 == (uint32_t)bits[b].in &&
			      f->seq[EVS_OUT] - out0 == (uint32_t)bits[b].out,
		      "%s: woke in %d out %d, counters +%u +%u; expected %d %d", bits[b].name,
		      !waiting(0), !waiting(1), f->seq[EVS_IN] - in0, f->seq[EVS_OUT] - out0,
		      bits[b].in, bits[b].out);
		drop_waiters(f);
	}

	/* 6. close() of the fd (evs_fd_closing) is a reset too: its waiters
	 * wake CLOSED, and the record forgets its kind. */
	wait_on(f, EVS_IN, 0);
	evs_fd_closing(fd);
	collect();
	CHECK(nwoken == 1 && tk[0].wake_reason == EVS_WAKE_CLOSED && f->kind == EVS_FD_UNKNOWN,
	      "closing: woke %d, reason %d, kind %d", nwoken, tk[0].wake_reason, f->kind);
	/* an event for a number with no record at all is ignored */
	evs_fd_event(tag(0, 1 << 19), EPOLLIN);

	printf("fd table: old-generation events ignored, reset wakes all (CLOSED), one waiter "
	       "per event and evs_fd_pass to the next, stale records skipped, event bits by "
	       "direction: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
