/* Two threads that hand a counter back and forth by spinning on it (as
 * redis's main and I/O threads do), the helper made while the main
 * thread then waits in poll, not in a join:
 *   spin_handoff [N]
 * prints "handoffs N". Natively they run on two CPUs; under the shim the
 * helper must start on the other worker, or each hand-off waits for the
 * monitor to preempt a spinner. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int turn, n;

static void *helper(void *x)
{
	(void)x;
	for (int i = 0; i < n; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 2 * i + 1)
			;
		__atomic_store_n(&turn, 2 * i + 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	n = argc > 1 ? atoi(argv[1]) : 200;
	pthread_t t;
	pthread_create(&t, NULL, helper, NULL);
	poll(NULL, 0, 50);  /* waits, not in a join */
	for (int i = 0; i < n; i++) {
		__atomic_store_n(&turn, 2 * i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 2 * i + 2)
			;
	}
	pthread_join(t, NULL);
	printf("handoffs %d\n", n);
	return 0;
}
