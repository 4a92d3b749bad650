/* A thread computes in generated code: a loop copied into an anonymous
 * executable mapping, which no loaded module holds (SBCL's compiled Lisp
 * lives in its heap, a JIT's output in pages it maps). Main sleeps 20 ms
 * meanwhile, then sets the flag the loop watches. Natively main wakes
 * while the loop runs and stops it. Printed: whether the loop ended by
 * main's flag (it gives up by itself after some 4 x 10^9 turns). Cases: the
 * loop as a leaf without a frame, and inside a frame of its own (rbp
 * pushed, as SBCL's Lisp frames), each called from the program's code. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TURNS 4000000000L

typedef long (*spin_fn)(volatile int *flag, long n);

__attribute__((noinline, optimize("omit-frame-pointer"))) static long leaf(volatile int *flag, long n)
{
	while (n && !*flag)
		n--;
	return n;
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static long framed(volatile int *flag, long n)
{
	while (n && !*flag) {
		n--;
		__asm__ volatile("" ::: "memory");
	}
	return n;
}

static volatile int flag;
static sem_t started;
static spin_fn code;

static void *spinner(void *arg)
{
	(void)arg;
	sem_post(&started);
	long left = code(&flag, TURNS);
	return (void *)(left > 0 ? "stopped by main's flag" : "ran out by itself");
}

static void one(const char *name, void *fn)
{
	/* Copy the compiled loop out of the program: it refers to nothing
	 * by address, so it runs anywhere. */
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return;
	}
	memcpy(page, fn, 512);
	code = (spin_fn)page;
	flag = 0;
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	while (sem_wait(&started))
		;
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
	flag = 1;
	void *how;
	pthread_join(t, &how);
	printf("%s loop in generated code: %s\n", name, (const char *)how);
	munmap(page, 4096);
}

int main(void)
{
	sem_init(&started, 0, 0);
	one("a leaf", (void *)leaf);
	one("a framed", (void *)framed);
	return 0;
}
