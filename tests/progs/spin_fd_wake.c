/* A thread that computes without making a system call must not keep a
 * thread blocked in read() from seeing its data (CPython's
 * test_hang_global_shutdown_lock: a pool thread busy submitting work kept
 * ProcessPoolExecutor's manager thread, in poll() on its result pipe,
 * from ever waking; the test hung, then faulthandler's dump crashed).
 * A reader blocks in read() on a pipe; a spinner computes until the
 * reader has seen its byte, or gives up after 5 s; a child process writes
 * the byte once both are under way. Natively the reader wakes as soon as
 * the byte is written. Under the shim, with both threads on one worker
 * (EVSHIM_WORKERS=1), nothing looked at that worker's ready fds while the
 * spinner ran. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static volatile int seen, spinning;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *reader(void *arg)
{
	(void)arg;
	char c;
	ssize_t n = read(fds[0], &c, 1);
	seen = n == 1 ? c : -1;
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	double end = now() + 5;
	unsigned long x = 1;
	spinning = 1;
	while (!seen) {
		for (int i = 0; i < 1000000; i++)  /* no system call in here */
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		if (now() > end)
			break;
	}
	return (void *)(x | 1);  /* keeps the loop */
}

int main(void)
{
	if (pipe(fds) != 0)
		return 1;
	pthread_t r, s;
	pthread_create(&r, NULL, reader, NULL);
	pthread_create(&s, NULL, spinner, NULL);
	while (!spinning)
		usleep(1000);
	usleep(50000);  /* the reader is in read(), the spinner spinning */
	pid_t pid = fork();
	if (pid == 0) {
		(void)!write(fds[1], "x", 1);
		_exit(0);
	}
	pthread_join(s, NULL);
	printf("spinner stopped because the reader saw its byte: %s\n", seen ? "yes" : "no");
	if (!seen)
		(void)!write(fds[1], "y", 1);  /* let the reader go */
	pthread_join(r, NULL);
	printf("reader got: '%c'\n", seen);
	waitpid(pid, NULL, 0);
	return 0;
}
