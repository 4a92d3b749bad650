/* Blocking the shim cannot see, five ways (argv[1]):
 *   rawsyscall  a thread blocks in a read made with the syscall instruction
 *               itself (not through libc) on a pipe while
 *               another sleeps 5 ms twenty times, then writes the pipe
 *   spin        two threads spin on the CPU while a third ticks every
 *               5 ms twenty times, then tells them to stop
 *   memspin     the same, the spinners copying memory with memcpy (the
 *               time is spent inside libc)
 *   joinspin    main joins a sleeping thread while another spins
 *   deepspin    main spins itself while a thread ticks as in spin, its
 *               stack pointer a few hundred bytes above the start of a
 *               page of its stack it never touched before (a quarter MiB
 *               below where it was): the signal frame the runtime copies
 *               there runs into that page (under valgrind, which grows the
 *               main stack only down to its stack pointer, the copy hit
 *               unmapped memory: SIGSEGV)
 *   stdio       a thread holds a FILE's lock (flockfile) while writing
 *               to a pipe nobody reads yet, another writes to the same
 *               FILE, a third reads it; the shim leaves a stdio call to
 *               glibc when the caller's kernel thread holds the lock
 *               (rt/stdio.c), so the write is one it cannot see. The
 *               other two are made once the pipe is full (the write is
 *               blocked), by a conductor that waits for that without
 *               parking (see conductor)
 * argv[2] "masked": block every signal first; "shrink": once the case is
 * over and the process is back to at most 2 kernel threads (20 s at most),
 * report the count on stderr ("kernel-threads N"); "twice" (stdio): the
 * case again once the process is back to at most 2 kernel threads (the
 * spare workers of the first stall have retired: one worker and the
 * monitor are left; natively there is 1).
 * Natively each finishes; on one worker without a monitor each would
 * hang. The output is the same either way. */
#include <alloca.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static int p[2];
static volatile int stop;
static int ticks;

/* A read the shim cannot see: the system call instruction itself, as a
 * program with its own system-call code (or libc internally) makes it.
 * (libc's syscall() is interposed: a read made through it parks.) */
static long inline_read(int fd, void *buf, unsigned long n)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(SYS_read), "D"(fd), "S"(buf), "d"(n)
			 : "rcx", "r11", "memory");
	return ret;
}

static void *raw_reader(void *x)
{
	(void)x;
	char c;
	long r = inline_read(p[0], &c, 1);
	printf("raw read returned %ld '%c'\n", r, c);
	return NULL;
}

static void *ticker(void *x)
{
	for (int i = 0; i < 20; i++) {
		usleep(5000);
		ticks++;
	}
	if (x)  /* rawsyscall: release the reader */
		write(p[1], "!", 1);
	stop = 1;
	return NULL;
}

static void *spinner(void *x)
{
	(void)x;
	unsigned long n = 0;
	while (!stop)
		n++;
	return (void *)(long)(n > 0);
}

/* A spinner that spends nearly all its time inside libc's memcpy. */
static void *memspinner(void *x)
{
	(void)x;
	static char src[2][256 << 10], dst[2][256 << 10];
	static volatile size_t len = sizeof(src[0]);
	long me = x ? 1 : 0, n = 0;
	while (!stop) {
		memcpy(dst[me], src[me], len);
		n++;
	}
	return (void *)(long)(n > 0);
}

static __attribute__((noinline)) unsigned long spin_here(void)
{
	unsigned long n = 0;
	while (!stop)
		n++;
	return n;
}

/* spin_here with the stack pointer about 512 bytes above a page's start,
 * a quarter MiB deeper than main's frame has been */
static __attribute__((noinline)) unsigned long spin_deep(void)
{
	char here;
	uintptr_t at = (uintptr_t)&here - (256u << 10);
	size_t room = (256u << 10) + ((at - 512) & 4095);
	char *gap = alloca(room);
	__asm__ volatile("" : : "r"(gap) : "memory");
	return spin_here();
}

static void *sleeper(void *x)
{
	(void)x;
	usleep(50000);
	return (void *)42;
}

/* Wait until the process has at most n kernel threads, polling every
 * 0.1 s for 20 s at most; returns the count it ended with. */
static int settle(int n)
{
	for (int i = 0; i < 200 && threads_of(0) > n; i++)
		usleep(100000);
	return threads_of(0);
}

static FILE *out;
static char block[200000];  /* filled by main: the writer goes straight
			     * from its start to the write that blocks */
static void *conductor(void *x);
static void *big_writer(void *x)
{
	flockfile(out);
	pthread_create(x, NULL, conductor, NULL);  /* main joins it */
	fwrite_unlocked(block, 1, sizeof(block), out);  /* fills the pipe, holds the lock */
	fflush_unlocked(out);
	funlockfile(out);
	return NULL;
}

static void *line_writer(void *x)
{
	(void)x;
	fprintf(out, "hello from the second writer\n");
	fflush(out);
	return NULL;
}

static void *pipe_reader(void *x)
{
	(void)x;
	char buf[4096];
	long total = 0, as = 0;
	ssize_t r;
	while ((r = read(p[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++)
			as += buf[i] == 'a';
		total += r;
	}
	printf("reader got %ld bytes, %ld of them from the big write\n", total, as);
	return NULL;
}

/* Made by the big writer between its flockfile and its write; makes the
 * second writer and the reader once that write is blocked (the pipe is
 * full), then waits for the second writer. Under the shim a thread that
 * has run never changes worker, and one whose worker is then stuck in
 * glibc's write waits with it (docs/differences.md, "Preemption"): a
 * reader that had run on the big writer's worker before the write blocked
 * (it was made before, by main, and ran there first, or while the writer
 * or main was preempted) was stuck behind the write it had to drain, and
 * a second writer parked in the shim's wait for room (it found the buffer
 * full while the big write was filling it) could come back on the
 * reader's worker and wait there for the lock: 1 run in 15 to 50 hung on
 * a loaded machine. So nothing that must get through runs before the
 * write blocks: the big writer, which main joins at once, makes this
 * thread and goes straight to the write (nothing of its own to run in
 * between: no preemption point but a few instructions), so this one runs
 * on another worker (stolen from the stuck one, or a spare); it waits for
 * the full pipe by looking, not by parking (parked, it could be joined on
 * its worker by a task that gets stuck there). The second writer starts
 * here at the join (a new thread joined at once runs on the spot) and
 * waits in glibc for the FILE's lock, the big write being blocked: this
 * worker is stuck too, and the reader, never run, is stolen by one that
 * is not (a spare when all are stuck). */
static pthread_t reader;
static void *conductor(void *x)
{
	(void)x;
	int cap = fcntl(p[0], F_GETPIPE_SZ), n = 0;
	while (ioctl(p[0], FIONREAD, &n) == 0 && n < cap)
		;
	pthread_t b;
	pthread_create(&b, NULL, line_writer, NULL);
	pthread_create(&reader, NULL, pipe_reader, NULL);
	pthread_join(b, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "spin";
	pthread_t a, b, c;
	if (argc > 2 && !strcmp(argv[2], "masked")) {
		/* a server that leaves signals to a sigwait thread */
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	void *r1, *r2;
	pipe(p);
	if (!strcmp(mode, "rawsyscall")) {
		pthread_create(&a, NULL, raw_reader, NULL);
		pthread_create(&b, NULL, ticker, (void *)1);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		printf("ticker ticked %d times\n", ticks);
	} else if (!strcmp(mode, "spin")) {
		pthread_create(&a, NULL, spinner, NULL);
		pthread_create(&b, NULL, spinner, NULL);
		pthread_create(&c, NULL, ticker, NULL);
		pthread_join(c, NULL);
		pthread_join(a, &r1);
		pthread_join(b, &r2);
		printf("ticker ticked %d times; spinners ran: %d %d\n", ticks, r1 != NULL, r2 != NULL);
	} else if (!strcmp(mode, "memspin")) {
		pthread_create(&a, NULL, memspinner, NULL);
		pthread_create(&b, NULL, memspinner, (void *)1);
		pthread_create(&c, NULL, ticker, NULL);
		pthread_join(c, NULL);
		pthread_join(a, &r1);
		pthread_join(b, &r2);
		printf("ticker ticked %d times; spinners ran: %d %d\n", ticks, r1 != NULL, r2 != NULL);
	} else if (!strcmp(mode, "deepspin")) {
		pthread_create(&c, NULL, ticker, NULL);
		unsigned long n = spin_deep();
		pthread_join(c, NULL);
		printf("ticker ticked %d times; main spun: %d\n", ticks, n > 0);
	} else if (!strcmp(mode, "joinspin")) {
		pthread_create(&a, NULL, spinner, NULL);
		pthread_create(&b, NULL, sleeper, NULL);
		pthread_join(b, &r1);
		stop = 1;
		pthread_join(a, NULL);
		printf("joined the sleeper while a spinner ran: %ld\n", (long)r1);
	} else if (!strcmp(mode, "stdio")) {
		int rounds = argc > 2 && !strcmp(argv[2], "twice") ? 2 : 1;
		for (int round = 0; round < rounds; round++) {
			if (round) {  /* the first stall's spare workers have left */
				settle(2);
				pipe(p);
			}
			out = fdopen(p[1], "w");
			memset(block, 'a', sizeof(block));
			pthread_create(&a, NULL, big_writer, &b);
			pthread_join(a, NULL);
			pthread_join(b, NULL);  /* the conductor */
			fclose(out);
			pthread_join(reader, NULL);
		}
	}
	if (argc > 2 && !strcmp(argv[2], "shrink"))  /* after the stall */
		fprintf(stderr, "kernel-threads %d\n", settle(2));
	return 0;
}
