/* The timer heap: random deadlines come out in order, deletion from the
 * middle keeps the heap valid, next() reports the earliest. */
#include "rt/timer.h"
#include "rt/task.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 5000

int main(void)
{
	struct evs_timers h = { 0 };
	static struct evs_timer tm[N];
	static struct evs_task dummy;  /* wait == 0: wakes are no-ops */
	srand(42);
	for (int i = 0; i < N; i++) {
		tm[i] = (struct evs_timer){ .when = rand() % 1000000, .t = &dummy, .token = 1, .idx = -1 };
		if (evs_timer_add(&h, &tm[i]))
			return 1;
	}
	int deleted = 0;
	for (int i = 0; i < N; i += 3) {
		evs_timer_del(&h, &tm[i]);
		deleted++;
	}
	int64_t prev = -1;
	int popped = 0, bad = 0;
	while (h.n) {
		int64_t next = evs_timer_next(&h);
		bad += next < prev;
		prev = next;
		popped += evs_timer_fire(&h, next);
	}
	for (int i = 0; i < N; i++)
		bad += tm[i].idx != -1;
	printf("timers: %d added, %d deleted, %d fired in order, %d errors; empty next %s\n",
	       N, deleted, popped, bad, evs_timer_next(&h) == INT64_MAX ? "ok" : "BAD");
	return popped == N - deleted && !bad ? 0 : 1;
}
