/* The timer heap (a pairing heap linked through the timers): random
 * deadlines come out in order; deleting from anywhere (the root, a first
 * child, a later sibling) keeps it valid; the count and next() agree with
 * a plain reference list after every step; equal deadlines all fire. */
#include "rt/timer.h"
#include "rt/task.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4000

static struct evs_timer tm[N];
static int in_heap[N];

/* Every child is due no sooner than its parent, the links agree with
 * each other, and the heap holds exactly the timers we think. */
static int check(struct evs_timer *x, struct evs_timer *parent, int *count)
{
	int bad = 0;
	for (; x; x = x->next) {
		(*count)++;
		bad += !x->queued;
		bad += parent && x->when < parent->when;
		if (x->child)
			bad += x->child->prev != x;
		if (x->next)
			bad += x->next->prev != x;
		bad += check(x->child, x, count);
	}
	return bad;
}

static int64_t reference_min(void)
{
	int64_t m = INT64_MAX;
	for (int i = 0; i < N; i++)
		if (in_heap[i] && tm[i].when < m)
			m = tm[i].when;
	return m;
}

int main(void)
{
	struct evs_timers h = { 0 };
	static struct evs_task dummy;  /* wait == 0: wakes are no-ops */
	int bad = 0, live = 0, fired = 0;
	srand(42);
	for (int step = 0; step < 40000; step++) {
		int i = rand() % N, op = rand() % 4;
		if (!in_heap[i] && op < 3) {
			/* a few deadlines repeat, to exercise ties */
			tm[i] = (struct evs_timer){ .when = rand() % (step % 2 ? 50 : 1000000),
						    .t = &dummy, .token = 1 };
			evs_timer_add(&h, &tm[i]);
			in_heap[i] = 1;
			live++;
		} else if (in_heap[i]) {
			evs_timer_del(&h, &tm[i]);
			in_heap[i] = 0;
			live--;
			bad += tm[i].queued;
		}
		if (step % 97 == 0) {  /* fire what is due at the current minimum */
			int64_t now = evs_timer_next(&h);
			bad += now != reference_min();
			int n = now == INT64_MAX ? 0 : evs_timer_fire(&h, now);
			for (int k = 0; k < N; k++)
				if (in_heap[k] && tm[k].when <= now) {
					in_heap[k] = 0;
					live--;
					n--;
				}
			bad += n != 0;
			fired++;
		}
		if (step % 1000 == 0) {
			int count = 0;
			bad += check(h.root, NULL, &count);
			bad += count != live || h.n != live;
			bad += h.root && h.root->prev;
		}
	}
	int64_t prev = -1;
	int popped = 0;
	while (h.n) {
		int64_t next = evs_timer_next(&h);
		bad += next < prev || next != reference_min();
		prev = next;
		int n = evs_timer_fire(&h, next);
		popped += n;
		for (int k = 0; k < N; k++)
			if (in_heap[k] && tm[k].when <= next)
				in_heap[k] = 0;
	}
	bad += evs_timer_next(&h) != INT64_MAX || h.root != NULL;
	printf("timers: 40000 random adds and deletes, %d firing rounds checked against a "
	       "reference; %d drained in order; %d errors\n", fired, popped, bad);
	return bad ? 1 : 0;
}
