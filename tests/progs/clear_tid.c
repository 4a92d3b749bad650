/* set_tid_address from a thread (stress-ng's pthread stressor): it
 * answers with the caller's thread id, and when the thread has ended its
 * word is 0 and a futex waiter on it is woken, as the kernel does at a
 * thread's exit. Under the shim the kernel's answer was the worker's id,
 * and the worker thread's own word (which glibc joins it by) was
 * replaced. The threads are detached: their join word is now this one. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define N 4
static uint32_t word[N];
static int same[N];

static void *run(void *x)
{
	int i = (int)(intptr_t)x;
	long r = syscall(SYS_set_tid_address, &word[i]);
	same[i] = r == gettid();
	return NULL;
}

int main(void)
{
	for (int i = 0; i < N; i++) {
		word[i] = 1;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_t t;
		pthread_create(&t, &a, run, (void *)(intptr_t)i);
		pthread_attr_destroy(&a);
	}
	for (int i = 0; i < N; i++) {
		/* wait as a joiner would: on the word, until it is 0 */
		int waits = 0;
		while (__atomic_load_n(&word[i], __ATOMIC_ACQUIRE) != 0 && waits < 100) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			syscall(SYS_futex, &word[i], FUTEX_WAIT, 1, &ts, NULL, 0);
			waits++;
		}
		printf("thread %d: set_tid_address answered its gettid: %s; its word cleared at its end: %s\n",
		       i, same[i] ? "yes" : "no", word[i] == 0 ? "yes" : "no");
	}
	return 0;
}
