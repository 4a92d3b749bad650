/* A thread computes in generated code: a loop copied into an anonymous
 * executable mapping, which no loaded module holds (SBCL's compiled Lisp
 * lives in its heap, a JIT's output in pages it maps). Main sleeps 20 ms
 * meanwhile, then sets the flag the loop watches. Natively main wakes
 * while the loop runs and stops it. Printed: whether the loop ended by
 * main's flag (it gives up by itself after some 4 x 10^9 turns). Cases: the
 * loop as a leaf without a frame, and inside a frame of its own (rbp
 * pushed, as SBCL's Lisp frames), each called from the program's code.
 *
 * `jit_spin badfp`: the loop uses rbp as a plain register (Chez Scheme's
 * generated code, Racket CS's) and holds -8, -16 or 8 there, no frame
 * pointer at all, for at most 3 x 10^8 turns. The runtime's stack walk
 * crosses such code by its frame pointers; a value so near the top of
 * the address space wrapped its bounds check and the walk read address 0
 * (racket with places died of SIGSEGV on one worker about 1 run in 6).
 * Printed: that the loop returned (by main's flag, or by itself: with no
 * frame pointer to cross the code by, the walk cannot tell whether the
 * task may be preempted, and refuses, as for HotSpot's compiled code). */
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

/* push %rbp; mov $IMM32,%rbp; 1: mov (%rdi),%eax; test %eax,%eax;
 * jnz 2f; dec %rsi; jnz 1b; 2: mov %rsi,%rax; pop %rbp; ret */
static const unsigned char badfp_code[] = {
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
static long turns;

static void *spinner(void *arg)
{
	(void)arg;
	sem_post(&started);
	return (void *)code(&flag, turns);
}

/* n bytes of code from src run in a page of their own (it refers to
 * nothing by address, so it runs anywhere), rbp patched in at offset 4
 * when asked; what the loop left of its turns. */
static long run_copied(const void *src, size_t n, const int *rbp)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return -1;
	}
	memcpy(page, src, n);
	if (rbp)
		memcpy((char *)page + 4, rbp, 4);  /* sign-extended to 64 bits */
	code = (spin_fn)page;
	flag = 0;
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	while (sem_wait(&started))
		;
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
	flag = 1;
	void *left;
	pthread_join(t, &left);
	munmap(page, 4096);
	return (long)left;
}

int main(int argc, char **argv)
{
	sem_init(&started, 0, 0);
	if (argc > 1 && !strcmp(argv[1], "badfp")) {
		turns = 300000000L;
		for (int rbp = -16; rbp <= 8; rbp += 8) {
			if (!rbp)
				continue;
			long left = run_copied(badfp_code, sizeof(badfp_code), &rbp);
			printf("loop with rbp = %d in generated code: %s\n", rbp,
			       left >= 0 ? "returned" : "returned a wrong count");
		}
		return 0;
	}
	turns = TURNS;
	const char *names[] = { "a leaf", "a framed" };
	void *fns[] = { (void *)leaf, (void *)framed };
	for (int i = 0; i < 2; i++)
		printf("%s loop in generated code: %s\n", names[i],
		       run_copied(fns[i], 512, NULL) > 0 ? "stopped by main's flag" : "ran out by itself");
	return 0;
}
