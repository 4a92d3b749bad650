/* Four threads wait on four kinds of thing: a socket read, a mutex, a
 * condition variable, a sleep. Once they are waiting the program says
 * "waiting" and reads a line from stdin; then it releases them all and
 * says what each got. Natively and under the shim the transcript is the
 * same; under the shim the test asks for a task dump meanwhile. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go, sv[2], parked;

static void arrive(void)
{
	__atomic_add_fetch(&parked, 1, __ATOMIC_SEQ_CST);
}

static void *wait_socket(void *p)
{
	char b;
	arrive();
	return (void *)(long)read(sv[0], &b, 1);
}

static void *wait_mutex(void *p)
{
	arrive();
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
	return (void *)1L;
}

static void *wait_cond(void *p)
{
	pthread_mutex_lock(&cmu);
	arrive();
	while (!go)
		pthread_cond_wait(&cv, &cmu);
	pthread_mutex_unlock(&cmu);
	return (void *)1L;
}

static void *wait_sleep(void *p)
{
	arrive();
	struct timespec ts = { 3, 0 };
	nanosleep(&ts, NULL);
	return (void *)1L;
}

int main(void)
{
	static void *(*const fn[])(void *) = { wait_socket, wait_mutex, wait_cond, wait_sleep };
	static const char *const name[] = { "on-socket", "on-mutex", "on-cond", "on-sleep" };
	pthread_t t[4];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < 4; i++) {
		pthread_create(&t[i], NULL, fn[i], NULL);
		pthread_setname_np(t[i], name[i]);
	}
	while (__atomic_load_n(&parked, __ATOMIC_SEQ_CST) < 4)
		usleep(1000);
	usleep(100000);  /* from "about to wait" to waiting */
	printf("waiting\n");
	fflush(stdout);
	char line[64];
	if (read(0, line, sizeof(line)) <= 0)
		return 2;
	if (write(sv[1], "x", 1) != 1)
		return 3;
	pthread_mutex_unlock(&lock);
	pthread_mutex_lock(&cmu);
	go = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&cmu);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		printf("%s: %ld\n", name[i], (long)r);
	}
	return 0;
}
