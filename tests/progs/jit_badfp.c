/* A thread computes in generated code that uses rbp as a plain register
 * (Chez Scheme's, Racket CS's): while the loop runs, rbp holds -8 or -16,
 * no frame pointer at all. Main sleeps 20 ms meanwhile, then sets the
 * flag the loop watches. The runtime's stack walk crosses such code by its
 * frame pointers; a value so near the top of the address space wrapped
 * its bounds check and the walk read address 0 (racket with places died
 * of SIGSEGV on one worker about 1 run in 6). Printed: that the loop
 * returned (by main's flag, or by itself after 3 x 10^8 turns: with no
 * frame pointer to cross the code by, the walk cannot tell whether the
 * task may be preempted, and refuses, as for HotSpot's compiled code). */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TURNS 300000000L

typedef long (*spin_fn)(volatile int *flag, long n);

/* push %rbp; mov $IMM32,%rbp; 1: mov (%rdi),%eax; test %eax,%eax;
 * jnz 2f; dec %rsi; jnz 1b; 2: mov %rsi,%rax; pop %rbp; ret */
static const unsigned char loop_code[] = {
	0x55,
	0x48, 0xc7, 0xc5, 0, 0, 0, 0,
	0x8b, 0x07,
	0x85, 0xc0,
	0x75, 0x05,
	0x48, 0xff, 0xce,
	0x75, 0xf5,
	0x48, 0x89, 0xf0,
	0x5d,
	0xc3,
};

static volatile int flag;
static sem_t started;
static spin_fn code;

static void *spinner(void *arg)
{
	(void)arg;
	sem_post(&started);
	long left = code(&flag, TURNS);
	return (void *)(left >= 0 ? "returned" : "returned a wrong count");
}

static void one(int rbp)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return;
	}
	memcpy(page, loop_code, sizeof(loop_code));
	memcpy((char *)page + 4, &rbp, 4);  /* sign-extended to 64 bits */
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
	printf("loop with rbp = %d in generated code: %s\n", rbp, (const char *)how);
	munmap(page, 4096);
}

int main(void)
{
	sem_init(&started, 0, 0);
	one(-8);
	one(-16);
	one(8);
	return 0;
}
