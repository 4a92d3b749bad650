/* A thread that runs code with %rsp pointing into memory that is not a
 * thread stack, relying on every signal handler running on the alternate
 * stack it set up (SA_ONSTACK everywhere), as Erlang's JIT does: BeamAsm
 * (OTP 25, x86-64) uses an Erlang process's own stack, a few hundred
 * bytes inside its heap block, as the machine stack, and ERTS gives each
 * thread a sigaltstack and every handler SA_ONSTACK so that no signal
 * frame is ever written below it. Under the shim, the monitor's signal
 * (and the program's handlers it carries) ran on whatever stack %rsp
 * pointed to: its ~1-3 KiB frame, the handler and libunwind's walk landed
 * in the memory below, and a preempted task yielded there; `erl +S 2`
 * with processes, timers and gen_tcp died of SIGSEGV in 1 run of 6
 * (returning into the runtime's data: two dirty I/O scheduler tasks had
 * saved their contexts in overlapping Erlang memory).
 *
 * One thread sets an alternate stack and a SIGUSR1 handler with
 * SA_ONSTACK, fills a 64 KiB buffer with a pattern and spins with %rsp
 * near its top (no calls, no memory touched below its own few pushes)
 * until told to stop; another sends it SIGUSR1, then sleeps 1 ms at a
 * time (a timer due on a worker whose task computes: the monitor
 * preempts it) and tells it to stop. Natively the handler runs on the
 * alternate stack and the buffer below %rsp is untouched. Run with
 * EVSHIM_WORKERS=1 (both threads on one worker) and with 2. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define ALT (64 * 1024)

static unsigned char *buf, *alt;
static volatile int spinning, stop, handled, on_alt;
static volatile uintptr_t spin_sp;
static pthread_t spinner_thr;

static void on_usr1(int sig)
{
	(void)sig;
	unsigned char here;
	handled++;
	on_alt = &here >= alt && &here < alt + ALT;
}

/* Runs on the buffer: a loop with no calls, bounded by a count. */
static void spin(void)
{
	uintptr_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	spin_sp = sp;
	spinning = 1;
	for (unsigned long i = 0; i < 4000000000UL && !stop; i++)
		__asm__ volatile("" ::: "memory");
}

/* Calls fn with %rsp = top (16-byte aligned), back on the thread's stack
 * after. */
static void call_on(void *top, void (*fn)(void))
{
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %0, %%rsp\n\t"
			 "call *%1\n\t"
			 "mov %%rbx, %%rsp\n\t"
			 :
			 : "r"(top), "r"(fn)
			 : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "memory", "cc");
}

static void *spinner(void *arg)
{
	(void)arg;
	stack_t ss = { .ss_sp = alt, .ss_size = ALT, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		exit(1);
	}
	call_on(buf + BUF - 256, spin);
	return NULL;
}

static void *sender(void *arg)
{
	(void)arg;
	while (!spinning)
		usleep(1000);
	pthread_kill(spinner_thr, SIGUSR1);
	/* until the handler has run (on a loaded machine the spinner may
	 * not get a CPU for a while: natively, as under the shim), at most
	 * 20 s, then 100 ms more of spinning */
	for (int i = 0; i < 20000 && !handled; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	stop = 1;
	return NULL;
}

int main(void)
{
	buf = malloc(BUF);
	alt = malloc(ALT);
	if (!buf || !alt)
		return 1;
	memset(buf, 0xa5, BUF);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	pthread_t s;
	pthread_create(&spinner_thr, NULL, spinner, NULL);
	pthread_create(&s, NULL, sender, NULL);
	pthread_join(s, NULL);
	pthread_join(spinner_thr, NULL);

	/* What lies below the spinner's own frame (its pushes, then the
	 * red zone) must still hold the pattern. */
	size_t changed = 0, below = spin_sp - 128 - (uintptr_t)buf;
	for (size_t i = 0; i < below; i++)
		changed += buf[i] != 0xa5;
	printf("spinner stopped when told: %s\n", stop ? "yes" : "no");
	printf("handler ran %d time(s), on the alternate stack: %s\n", handled,
	       on_alt ? "yes" : "no");
	printf("bytes changed below the spinner's stack pointer: %s\n", changed ? "some" : "none");
	return 0;
}
