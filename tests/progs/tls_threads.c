/* 100 threads each write their id into __thread scalars and an array,
 * then sleep, yield and block on sockets in between, and check they never
 * see another thread's values. errno set before a blocking call is read
 * after it. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define N 100
static __thread long my_id = -1;
static __thread char my_buf[512];
static __thread int initialised = 42;  /* from the TLS image */
static int wrong, bad_init, bad_errno;

static int check(long id)
{
	if (my_id != id)
		return 1;
	for (int i = 0; i < 512; i++)
		if (my_buf[i] != (char)id)
			return 1;
	return 0;
}

static void *work(void *x)
{
	long id = (long)x;
	int sv[2];
	if (initialised != 42)
		__atomic_fetch_add(&bad_init, 1, __ATOMIC_RELAXED);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct timeval tmo = { 0, 2000 };  /* recv blocks 2 ms, then EAGAIN */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	my_id = id;
	memset(my_buf, (char)id, sizeof(my_buf));
	for (int round = 0; round < 5; round++) {
		usleep(1000 * (id % 5));
		__atomic_fetch_add(&wrong, check(id), __ATOMIC_RELAXED);
		sched_yield();
		__atomic_fetch_add(&wrong, check(id), __ATOMIC_RELAXED);
		char c;
		if (recv(sv[0], &c, 1, 0) != -1 || errno != EAGAIN)  /* blocked, timed out */
			__atomic_fetch_add(&bad_errno, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&wrong, check(id), __ATOMIC_RELAXED);
		errno = (int)(1000 + id);
		send(sv[1], "x", 1, 0);
		recv(sv[0], &c, 1, 0);
		usleep(500);
		if (errno != 1000 + id)
			__atomic_fetch_add(&bad_errno, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&wrong, check(id), __ATOMIC_RELAXED);
	}
	close(sv[0]);
	close(sv[1]);
	return NULL;
}

int main(void)
{
	pthread_t t[N];
	my_id = 12345;
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("threads %d: wrong __thread values %d, bad initial values %d, errno lost %d\n",
	       N, wrong, bad_init, bad_errno);
	printf("main keeps its own value: %ld\n", my_id);
	return 0;
}
