/* Intrusive doubly linked queues: a worker's local run queue, an fd's
 * waiters, the parking lot's buckets, the blocking pool's jobs. The link
 * lives in the queued record (often on a parked task's stack), so queueing
 * never allocates. A zeroed queue is a valid empty one (fd records live in
 * calloc'd chunks). Push at the tail, pop at the head and removal of a
 * linked record are O(1). No locking here: each user says which lock (or
 * which single owner) protects its queue. */
#ifndef EVS_LIST_H
#define EVS_LIST_H
#include <stdbool.h>
#include <stddef.h>

struct evs_link {
	struct evs_link *next, *prev;
	bool linked;
};

struct evs_queue {
	struct evs_link *head, *tail;
};

static inline bool evs_queue_empty(const struct evs_queue *q)
{
	return q->head == NULL;
}

static inline void evs_queue_push(struct evs_queue *q, struct evs_link *n)
{
	n->next = NULL;
	n->prev = q->tail;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	n->linked = true;
}

/* Remove n, which must be linked in q. */
static inline void evs_queue_del(struct evs_queue *q, struct evs_link *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		q->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		q->tail = n->prev;
	n->next = n->prev = NULL;
	n->linked = false;
}

static inline struct evs_link *evs_queue_pop(struct evs_queue *q)
{
	struct evs_link *n = q->head;
	if (n)
		evs_queue_del(q, n);
	return n;
}

#define evs_queue_entry(link, type, member) \
	((type *)((char *)(link) - offsetof(type, member)))
#endif
