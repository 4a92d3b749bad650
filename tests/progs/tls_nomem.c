/* pthread_create while the program's own malloc fails (it interposes
 * malloc and its kin; glibc allocates a thread's TLS with them, so does
 * it for the runtime's own threads). Natively pthread_create fails with
 * EAGAIN and the next one, with memory back, works. Then a thread that
 * spins until main, sleeping 20 ms, stops it: on one worker that needs
 * the monitor, whose thread could not start on the first try either.
 * Before, under the shim: pthread_create returned 0 (the thread shared
 * its worker's TLS), and the monitor never started: the spinner held the
 * only worker and main never woke. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int failing;

void *malloc(size_t n) { return failing ? (errno = ENOMEM, NULL) : __libc_malloc(n); }
void *calloc(size_t a, size_t b) { return failing ? (errno = ENOMEM, NULL) : __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return failing ? (errno = ENOMEM, NULL) : __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { return failing ? (errno = ENOMEM, NULL) : __libc_memalign(a, n); }
void free(void *p) { __libc_free(p); }

static __thread int mine = 7;
static volatile int stop;

static void *run(void *arg)
{
	mine = 99;
	return arg;
}

static void *spin(void *arg)
{
	while (!stop)
		;
	return arg;
}

static const char *name(int r)
{
	return r ? strerrorname_np(r) : "0";
}

int main(void)
{
	pthread_t t;
	failing = 1;
	int r = pthread_create(&t, NULL, run, NULL);
	failing = 0;
	printf("pthread_create with allocations failing: %s\n", name(r));
	if (r == 0)
		pthread_join(t, NULL);
	r = pthread_create(&t, NULL, run, NULL);
	printf("then: %s\n", name(r));
	if (r == 0)
		pthread_join(t, NULL);
	printf("main's __thread value: %d\n", mine);
	fflush(stdout);
	r = pthread_create(&t, NULL, spin, NULL);
	usleep(20000);
	stop = 1;
	if (r == 0)
		pthread_join(t, NULL);
	printf("a spinner stopped by main after its sleep: %s\n", name(r));
	return 0;
}
