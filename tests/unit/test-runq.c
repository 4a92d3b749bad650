/* Run queue: local FIFO order, and an inbox fed by 4 producer threads while
 * the owner drains it: nothing lost, nothing twice, each producer's tasks
 * in the order it pushed them. */
#include "rt/runq.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define PRODUCERS 4
#define PER 50000

static struct evs_runq q;
static struct evs_task *tasks;
static volatile int go;

static void *producer(void *arg)
{
	long p = (long)arg;
	while (!go)
		;
	for (long i = 0; i < PER; i++)
		evs_runq_push_remote(&q, &tasks[p * PER + i]);
	return NULL;
}

int main(void)
{
	struct evs_task local[3];
	evs_runq_init(&q);
	for (int i = 0; i < 3; i++)
		evs_runq_push_local(&q, &local[i]);
	int fifo = evs_runq_pop(&q) == &local[0] && evs_runq_pop(&q) == &local[1] &&
		   evs_runq_pop(&q) == &local[2] && evs_runq_pop(&q) == NULL;

	tasks = calloc(PRODUCERS * PER, sizeof(*tasks));
	for (long i = 0; i < PRODUCERS * PER; i++)
		tasks[i].id = (uint64_t)i;
	pthread_t th[PRODUCERS];
	for (long p = 0; p < PRODUCERS; p++)
		pthread_create(&th[p], NULL, producer, (void *)p);
	go = 1;
	long got = 0, dup = 0, order = 0, last[PRODUCERS];
	char *seen = calloc(PRODUCERS * PER, 1);
	for (int p = 0; p < PRODUCERS; p++)
		last[p] = -1;
	while (got < PRODUCERS * PER) {
		evs_runq_drain(&q);
		struct evs_task *t;
		while ((t = evs_runq_pop(&q))) {
			long id = (long)t->id, p = id / PER;
			dup += seen[id]++;
			order += id <= last[p];
			last[p] = id;
			got++;
		}
	}
	for (int p = 0; p < PRODUCERS; p++)
		pthread_join(th[p], NULL);
	printf("local fifo %s; inbox: %ld received, %ld twice, %ld out of order\n",
	       fifo ? "ok" : "BAD", got, dup, order);
	return fifo && got == PRODUCERS * PER && !dup && !order ? 0 : 1;
}
