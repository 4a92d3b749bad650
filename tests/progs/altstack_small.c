/* sigaltstack per thread. Each thread sets an alternate signal stack of
 * its own, two of them the smallest the kernel takes (2 KiB),
 * and computes for a while; under the shim with one worker they share it
 * and are preempted by the runtime's signal many times. That signal's
 * frame (its CPU's register state included) does not fit: were a
 * thread's alternate stack given to the kernel, the process would die of
 * SIGSEGV at the first preemption. Printed: what sigaltstack answers
 * (querying, setting, bad sizes and flags, disabling), that a handler
 * with SA_ONSTACK ran, and the computations' sums. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each thread's lines, printed by main in a fixed order. */
struct out {
	char text[1024];
	size_t len;
};

#define say(o, ...) ((o)->len += (size_t)snprintf((o)->text + (o)->len, sizeof((o)->text) - (o)->len, __VA_ARGS__))

static void show(struct out *o, const char *who, const char *what)
{
	stack_t st;
	if (sigaltstack(NULL, &st) != 0) {
		say(o, "%s %s: error %s\n", who, what, strerror(errno));
		return;
	}
	say(o, "%-8s %-22s %s, %zu bytes\n", who, what,
	    (st.ss_flags & SS_DISABLE) ? "disabled" : (st.ss_flags & SS_ONSTACK) ? "on it" : "set",
	    (st.ss_flags & SS_DISABLE) ? (size_t)0 : st.ss_size);
}

static int try_set(void *sp, size_t size, int flags)
{
	stack_t s = { .ss_sp = sp, .ss_size = size, .ss_flags = flags };
	errno = 0;
	int r = sigaltstack(&s, NULL);
	return r == 0 ? 0 : errno;
}

static const char *names[3] = { "small-a", "small-b", "big" };
static struct out outs[3];

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	const char *who = names[i];
	struct out *o = &outs[i];
	size_t size = i < 2 ? 2048 : 65536;
	char *st = malloc(size);
	show(o, who, "at start");
	int e = try_set(st, size, 0);
	say(o, "%-8s %-22s %s\n", who, "set", e ? strerror(e) : "ok");
	show(o, who, "after set");
	unsigned long x = 1;
	for (unsigned long k = 0; k < 60000000UL; k++)  /* ~0.1-0.3 s */
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	say(o, "%-8s %-22s %lx\n", who, "computed", x);
	show(o, who, "still");
	e = try_set(NULL, 0, SS_DISABLE);
	say(o, "%-8s %-22s %s\n", who, "disable", e ? strerror(e) : "ok");
	show(o, who, "after disable");
	free(st);
	return NULL;
}

static volatile sig_atomic_t ran;
static void on_usr1(int sig)
{
	(void)sig;
	ran = 1;
}

int main(void)
{
	alarm(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct out m = { .len = 0 };
	show(&m, "main", "at start");
	fputs(m.text, stdout);
	char small[64];
	printf("%-8s %-22s %s\n", "main", "100 bytes", strerror(try_set(small, sizeof(small), 0)));
	printf("%-8s %-22s %s\n", "main", "bad flags", strerror(try_set(malloc(65536), 65536, 12345)));
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)i);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		fputs(outs[i].text, stdout);
	}
	stack_t s = { .ss_sp = malloc(32768), .ss_size = 32768 };
	sigaltstack(&s, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("%-8s %-22s %s\n", "main", "SA_ONSTACK handler", ran ? "ran" : "did not run");
	m.len = 0;
	show(&m, "main", "at the end");
	fputs(m.text, stdout);
	return 0;
}
