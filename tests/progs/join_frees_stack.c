/* Threads on stacks the program maps itself (pthread_attr_setstack), each
 * unmapped as soon as its join returns, as SBCL frees a finished thread's
 * memory. Natively the join returns only after the thread has left its
 * stack for good (the kernel clears its tid then), so this is safe. Each
 * thread is made while main waits on a pipe (so it starts on another
 * CPU), writes to the pipe and ends while main is parked in its join;
 * two child processes keep both CPUs busy meanwhile, so that the ending
 * thread's CPU is often taken from it at the wake-up. Printed: the count,
 * if the process lives to print it. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 4000
#define STACK (64 * 1024)

static int pfd[2];

static void *body(void *arg)
{
	volatile char buf[512];
	buf[0] = (char)(long)arg;
	char c = 1;
	if (write(pfd[1], &c, 1) != 1)
		return NULL;
	for (volatile int i = 0; i < 2000; i++)  /* main is in its join by the end */
		;
	return (void *)(long)buf[0];
}

int main(void)
{
	if (pipe(pfd))
		return 1;
	pid_t hogs[2];
	for (int i = 0; i < 2; i++)
		if ((hogs[i] = fork()) == 0) {
			alarm(60);
			for (;;)
				;
		}
	long sum = 0;
	for (int i = 0; i < ROUNDS; i++) {
		void *stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (stk == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstack(&a, stk, STACK);
		pthread_t t;
		if (pthread_create(&t, &a, body, (void *)(long)(i & 1))) {
			perror("pthread_create");
			return 1;
		}
		pthread_attr_destroy(&a);
		char c;
		if (read(pfd[0], &c, 1) != 1)
			return 1;
		void *r;
		pthread_join(t, &r);
		sum += (long)r;
		munmap(stk, STACK);  /* the thread is gone: its stack too */
	}
	for (int i = 0; i < 2; i++) {
		kill(hogs[i], SIGKILL);
		waitpid(hogs[i], NULL, 0);
	}
	printf("%d threads on stacks of their own, each unmapped after its join: %ld odd\n", ROUNDS, sum);
	return 0;
}
