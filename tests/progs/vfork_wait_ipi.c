/* A worker that cannot take the runtime's signal for a long time while
 * work waits behind its task: here main's vfork child sleeps 1 s, and
 * the parent thread waits in the kernel (killable only) all that time,
 * while another thread is runnable on the same worker. The monitor sent
 * its real-time signal again every 10 ms (a mark older than that was
 * taken for lost), the kernel queued each one, and when the parent ran
 * again it took all of them at once, nested (SA_NODEFER), until the
 * alternate stack ran out: SIGSEGV. stunnel died so on a loaded machine,
 * where a worker thread went unscheduled for some 200 ms. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;

static void *busy(void *p)
{
	unsigned long n = 0;
	while (!stop) {
		for (volatile int i = 0; i < 100000; i++)
			;
		n++;
		sched_yield();
	}
	return (void *)n;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, busy, NULL);
	struct timespec ms = { 0, 20 * 1000000 };
	nanosleep(&ms, NULL);  /* the busy thread runs */
	pid_t pid = vfork();
	if (pid == 0) {
		struct timespec s = { 1, 0 };
		syscall(SYS_nanosleep, &s, NULL);
		_exit(3);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	stop = 1;
	pthread_join(t, NULL);
	printf("the vfork child slept 1 s and exited %d; the busy thread ended\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
