/* A worker's run queue: a local FIFO and a remote inbox.
 *
 *   local  rq_head/rq_tail, intrusive through t->next. Owner only.
 *   inbox  ck_stack (Treiber stack). Producers: any thread, through
 *          ck_stack_push_upmc (a CAS loop, release). Consumer: the owner
 *          only, through ck_stack_batch_pop_upmc (one exchange, acquire),
 *          which takes everything at once, so ABA cannot arise. The batch
 *          comes newest first; evs_runq_drain reverses it so tasks run in
 *          the order they were made ready. */
#ifndef EVS_RUNQ_H
#define EVS_RUNQ_H
#include "task.h"
#include <ck_pr.h>
#include <ck_stack.h>

struct evs_runq {
	struct evs_task *head, *tail;   /* owner only */
	ck_stack_t inbox;               /* any producer, owner consumes */
};

static inline void evs_runq_init(struct evs_runq *q)
{
	q->head = q->tail = NULL;
	ck_stack_init(&q->inbox);
}

static inline void evs_runq_push_local(struct evs_runq *q, struct evs_task *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static inline struct evs_task *evs_runq_pop(struct evs_runq *q)
{
	struct evs_task *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
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
	ck_stack_entry_t *e = ck_stack_batch_pop_upmc(&q->inbox);
	struct evs_task *oldest = NULL;
	while (e) {  /* newest first: prepending reverses it */
		struct evs_task *t = evs_container_of(e, struct evs_task, inbox);
		e = e->next;
		t->next = oldest;
		oldest = t;
	}
	while (oldest) {
		struct evs_task *t = oldest;
		oldest = t->next;
		evs_runq_push_local(q, t);
	}
}
#endif
