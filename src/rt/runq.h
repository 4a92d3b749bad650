/* A worker's run queue: a local FIFO and a remote inbox.
 *
 *   local  an evs_queue (list.h) linked through t->rq. Owner only.
 *   inbox  ck_stack (Treiber stack). Producers: any thread, through
 *          ck_stack_push_upmc (a CAS loop, release). Consumer: the owner
 *          only, through ck_stack_batch_pop_upmc (one exchange, acquire),
 *          which takes everything at once, so ABA cannot arise. The batch
 *          comes newest first; evs_runq_drain reverses it so tasks run in
 *          the order they were made ready. */
#ifndef EVS_RUNQ_H
#define EVS_RUNQ_H
#include "task.h"
#include "../list.h"
#include <ck_pr.h>
#include <ck_stack.h>

struct evs_runq {
	struct evs_queue local;         /* owner only */
	ck_stack_t inbox;               /* any producer, owner consumes */
};

static inline void evs_runq_init(struct evs_runq *q)
{
	q->local.head = q->local.tail = NULL;
	ck_stack_init(&q->inbox);
}

static inline void evs_runq_push_local(struct evs_runq *q, struct evs_task *t)
{
	evs_queue_push(&q->local, &t->rq);
}

static inline struct evs_task *evs_runq_pop(struct evs_runq *q)
{
	struct evs_link *l = evs_queue_pop(&q->local);
	return l ? evs_queue_entry(l, struct evs_task, rq) : NULL;
}

/* Anything in the local FIFO? (The monitor reads this racily, as a hint.) */
static inline bool evs_runq_has_local(struct evs_runq *q)
{
	return __atomic_load_n(&q->local.head, __ATOMIC_RELAXED) != NULL;
}

static inline void evs_runq_push_remote(struct evs_runq *q, struct evs_task *t)
{
	ck_stack_push_upmc(&q->inbox, &t->inbox);
}

static inline bool evs_runq_inbox_empty(struct evs_runq *q)
{
	return ck_pr_load_ptr(&q->inbox.head) == NULL;
}

/* Move the inbox to the local FIFO, oldest first. Owner only. */
static inline void evs_runq_drain(struct evs_runq *q)
{
	if (evs_runq_inbox_empty(q))
		return;
	ck_stack_entry_t *e = ck_stack_batch_pop_upmc(&q->inbox), *oldest = NULL;
	while (e) {  /* newest first: reverse it through the entries themselves */
		ck_stack_entry_t *n = e->next;
		e->next = oldest;
		oldest = e;
		e = n;
	}
	while (oldest) {
		struct evs_task *t = evs_container_of(oldest, struct evs_task, inbox);
		oldest = oldest->next;
		evs_runq_push_local(q, t);
	}
}
#endif
