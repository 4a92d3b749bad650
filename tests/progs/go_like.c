/* What Go's runtime does in a program built with cgo (dynamically linked,
 * so LD_PRELOAD reaches it), in C: its threads (Ms) are made with
 * pthread_create, then wait for and wake each other with futex system
 * calls made by the instruction itself, not through libc, and the main
 * executable carries Go's build-id note (owner "Go", type 4), which is how
 * the shim knows a Go program and steps aside. Without that, main's raw
 * futex wait blocked the worker the new threads were to run on (a hang on
 * one worker). Prints the kernel threads while they all live: as natively
 * when the shim steps aside. */
#include "common.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>

/* Go's build-id note, as its linker writes it. */
__attribute__((used, section(".note.go.buildid"), aligned(4)))
static const struct {
	uint32_t namesz, descsz, type;
	char name[4];
	char desc[8];
} go_note = { 4, 8, 4, "Go", "evshimgo" };

#define N 4

static uint32_t started, go;

/* The system call itself, as Go's runtime·futex does. */
static long raw_futex(uint32_t *addr, int op, uint32_t val)
{
	long r;
	register long r10 __asm__("r10") = 0;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"((long)SYS_futex), "D"(addr), "S"((long)op), "d"((long)val), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}

static void *m(void *arg)
{
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	raw_futex(&started, FUTEX_WAKE, 1);
	while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST))
		raw_futex(&go, FUTEX_WAIT, 0);
	return arg;
}

int main(void)
{
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, m, NULL);
	uint32_t seen;
	while ((seen = __atomic_load_n(&started, __ATOMIC_SEQ_CST)) < N)
		raw_futex(&started, FUTEX_WAIT, seen);  /* as Go's notesleep */
	printf("%d threads started; kernel threads: %d\n", N, threads_of(0));
	__atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
	raw_futex(&go, FUTEX_WAKE, N);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("all joined (note %s)\n", go_note.name);
	return 0;
}
