/* Stacks: the size asked for, a guard page that faults, reuse through the
 * cache, memory given back on retire. */
#include "rt/stack.h"
#include "rt/task.h"
#include "rt/timer.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static long resident_kib(void *p, size_t len)
{
	unsigned char vec[4096];
	size_t pages = len / 4096;
	if (pages > sizeof(vec) || mincore(p, len, vec))
		return -1;
	long n = 0;
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	return n * 4;
}

int main(void)
{
	int ok = 1;
	struct evs_task *t;
	if (evs_stack_alloc(1 << 20, 4096, &t) != 0)
		return 1;
	/* the size asked for, and the room the struct leaves in its page */
	ok &= t->stack_size >= (1 << 20) && t->stack_size < (1 << 20) + 4096;
	ok &= evs_stack_asked(t) == (1 << 20);
	ok &= (char *)t >= (char *)t->stack_lo + t->stack_size;
	memset(t->stack_lo, 1, t->stack_size);
	/* a task that ran for a while: all but the warm top given back */
	t->first_run_ns = evs_now_ns() - 1000000;
	t->stack_warm = 0;
	long before = resident_kib(t->stack_lo, t->stack_size);
	evs_stack_retire(t);
	long after = resident_kib(t->stack_lo, t->stack_size);
	printf("resident before retire %ld KiB, after %ld KiB\n", before, after);
	ok &= before >= 1000 && after <= 64;
	/* one that ended within microseconds of its start: no system call,
	 * its pages stay (it could not have faulted in many) */
	memset(t->stack_lo, 1, t->stack_size);
	t->first_run_ns = evs_now_ns();
	t->stack_warm = 0;
	evs_stack_retire(t);
	long brief = resident_kib(t->stack_lo, t->stack_size);
	printf("a brief task's stack keeps %ld KiB\n", brief);
	ok &= brief >= 1000;

	pid_t pid = fork();
	if (pid == 0) {  /* write just below the stack: the guard page */
		signal(SIGSEGV, SIG_DFL);  /* a sanitizer's handler would exit(1) */
		((volatile char *)t->stack_lo)[-1] = 1;
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	int guard = WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
	printf("guard page faults: %s\n", guard ? "yes" : "no");
	ok &= guard;

	void *map = t->map;
	evs_stack_free(t);
	struct evs_task *u = NULL, *v = NULL;
	evs_stack_alloc(1 << 20, 4096, &u);
	printf("same-size stack reused from the cache: %s\n", u && u->map == map ? "yes" : "no");
	ok &= u && u->map == map;
	evs_stack_alloc(64 << 10, 4096, &v);
	ok &= v && v->map != map && evs_stack_asked(v) == (64 << 10);
	return ok ? 0 : 1;
}
