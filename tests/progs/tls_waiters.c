/* Threads that hand the address of their own __thread data to another
 * thread, the way InnoDB's group commit does (log0sync.cc: each committer
 * links its thread_local waiter into the lock's list and sleeps on a futex
 * word inside it; the leader walks the list, writes each waiter's result
 * and wakes it through that address).
 *
 * Round after round, N threads each put their __thread waiter on a shared
 * list under a mutex and sleep on the waiter's futex word (libc's
 * syscall(SYS_futex), as InnoDB does); main waits until all N are listed,
 * walks the list (at most N + 1 steps), gives each waiter its result
 * (its id times 10) and wakes it. Every waiter checks its result and
 * whether its data still holds its own id. A waiter that is not woken
 * gives up after 1 s (bounded), so a broken run ends and says how. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define N 8
#define ROUNDS 5

struct waiter {
	int id;
	int result;
	uint32_t woken;          /* the futex word */
	struct waiter *next;
};

static __thread struct waiter me;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct waiter *head;
static int listed;
static int right, wrong_result, lost_id, timed_out;

static void futex_wait(uint32_t *w, uint32_t val, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *committer(void *arg)
{
	int id = (int)(intptr_t)arg;
	me.id = id;
	me.result = -1;
	__atomic_store_n(&me.woken, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&mu);
	me.next = head;
	head = &me;
	listed++;
	pthread_mutex_unlock(&mu);

	/* Sleep until the leader wakes us, 1 s at most (50 x 20 ms). */
	int tries = 0;
	while (!__atomic_load_n(&me.woken, __ATOMIC_ACQUIRE) && tries++ < 50)
		futex_wait(&me.woken, 0, 20);

	pthread_mutex_lock(&mu);
	if (!__atomic_load_n(&me.woken, __ATOMIC_ACQUIRE))
		timed_out++;
	else if (me.id != id)
		lost_id++;
	else if (me.result != id * 10)
		wrong_result++;
	else
		right++;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	int walked_total = 0, distinct_total = 0;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t th[N];
		head = NULL;
		listed = 0;
		for (int i = 0; i < N; i++)
			pthread_create(&th[i], NULL, committer, (void *)(intptr_t)i);
		/* Wait until every committer is on the list (2 s at most). */
		for (int k = 0; k < 2000; k++) {
			pthread_mutex_lock(&mu);
			int n = listed;
			pthread_mutex_unlock(&mu);
			if (n == N)
				break;
			usleep(1000);
		}
		/* Lead: take the list, answer each waiter through its address. */
		pthread_mutex_lock(&mu);
		struct waiter *w = head;
		head = NULL;
		pthread_mutex_unlock(&mu);
		int seen = 0, walked = 0;
		for (; w && walked <= N; walked++) {
			struct waiter *next = w->next;
			if (w->id >= 0 && w->id < N)
				seen |= 1 << w->id;
			w->result = w->id * 10;
			__atomic_store_n(&w->woken, 1, __ATOMIC_RELEASE);
			futex_wake(&w->woken);
			w = next;
		}
		walked_total += walked;
		distinct_total += __builtin_popcount(seen);
		for (int i = 0; i < N; i++)
			pthread_join(th[i], NULL);
	}
	printf("rounds %d, waiters %d\n", ROUNDS, ROUNDS * N);
	printf("list entries walked %d, distinct waiters on the list %d\n", walked_total,
	       distinct_total);
	printf("woken with their own result %d, wrong result %d, id overwritten %d, never woken %d\n",
	       right, wrong_result, lost_id, timed_out);
	return 0;
}
