/* sched_yield lets others run; pthread_self is unique per thread and equal
 * to what pthread_create returned; names; getattr_np reports a stack that
 * holds the thread's own locals. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 32
static pthread_t seen[N];
#define TURNS 1000
static volatile int turn, done_turns;

/* Two threads take turns; each waits for its turn with sched_yield. On a
 * single worker this only finishes if sched_yield really lets the other
 * run. */
static void *player(void *x)
{
	int me = (int)(intptr_t)x;
	for (int i = 0; i < TURNS; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me)
			sched_yield();
		__atomic_fetch_add(&done_turns, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&turn, !me, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *who(void *x)
{
	seen[(intptr_t)x] = pthread_self();
	return NULL;
}

static void *stackcheck(void *x)
{
	int local;
	pthread_attr_t at;
	void *lo;
	size_t sz;
	pthread_getattr_np(pthread_self(), &at);
	pthread_attr_getstack(&at, &lo, &sz);
	pthread_attr_destroy(&at);
	int inside = (char *)&local >= (char *)lo && (char *)&local < (char *)lo + sz;
	printf("stack of a %zu KiB thread holds its locals: %s, size >= asked: %s\n",
	       (size_t)(uintptr_t)x / 1024, inside ? "yes" : "no", sz >= (size_t)(uintptr_t)x ? "yes" : "no");
	char name[16];
	pthread_setname_np(pthread_self(), "worker-x");
	pthread_getname_np(pthread_self(), name, sizeof(name));
	printf("name: %s, too long: %d, small buffer: %d\n", name,
	       pthread_setname_np(pthread_self(), "a-name-that-is-too-long"),
	       pthread_getname_np(pthread_self(), name, 4));
	return NULL;
}

int main(void)
{
	pthread_t ta, tb, t[N];
	pthread_create(&ta, NULL, player, (void *)0);
	pthread_create(&tb, NULL, player, (void *)1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	printf("turns taken with sched_yield: %d\n", done_turns);

	for (intptr_t i = 0; i < N; i++)
		pthread_create(&t[i], NULL, who, (void *)i);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	int same = 1, distinct = 1;
	for (int i = 0; i < N; i++) {
		same &= pthread_equal(seen[i], t[i]) != 0;
		for (int j = 0; j < i; j++)
			distinct &= !pthread_equal(seen[i], seen[j]);
		distinct &= !pthread_equal(seen[i], pthread_self());
	}
	printf("pthread_self matches pthread_create: %s, all distinct: %s\n",
	       same ? "yes" : "no", distinct ? "yes" : "no");

	size_t sizes[] = { 64 * 1024, 1024 * 1024 };
	for (int i = 0; i < 2; i++) {
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, sizes[i]);
		pthread_create(&t[0], &at, stackcheck, (void *)(uintptr_t)sizes[i]);
		pthread_attr_destroy(&at);
		pthread_join(t[0], NULL);
	}
	return 0;
}
