/* An allocator of the program's own that takes a pthread mutex (as
 * jemalloc does for its arenas and its list of threads), and a program
 * with __thread data, whose threads each need a TLS area: glibc allocates
 * it with the program's malloc (pthread_create natively; the shim made it
 * the first time the thread ran, in its scheduler, where a contended
 * allocator lock parked "the thread" that was not running yet: the
 * worker crashed switching back to a scheduler context it had never
 * saved, and rustc under cargo spun in SIGSEGV). A holder keeps the lock
 * for a while each round, so the allocation finds it taken. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ROUNDS 20

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static int allocs;

#define LOCKED(call)                             \
	do {                                     \
		pthread_mutex_lock(&alloc_lock); \
		allocs++;                        \
		void *r_ = (call);               \
		pthread_mutex_unlock(&alloc_lock); \
		return r_;                       \
	} while (0)

void *malloc(size_t n) { LOCKED(__libc_malloc(n)); }
void *calloc(size_t a, size_t b) { LOCKED(__libc_calloc(a, b)); }
void *realloc(void *p, size_t n) { LOCKED(__libc_realloc(p, n)); }
void *memalign(size_t a, size_t n) { LOCKED(__libc_memalign(a, n)); }
void *aligned_alloc(size_t a, size_t n) { LOCKED(__libc_memalign(a, n)); }
int posix_memalign(void **p, size_t a, size_t n)
{
	pthread_mutex_lock(&alloc_lock);
	*p = __libc_memalign(a, n);
	pthread_mutex_unlock(&alloc_lock);
	return *p ? 0 : 12;
}
void free(void *p)
{
	pthread_mutex_lock(&alloc_lock);
	__libc_free(p);
	pthread_mutex_unlock(&alloc_lock);
}

static __thread int mine[64];   /* the program's own TLS: a block per thread */

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&alloc_lock);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	pthread_mutex_unlock(&alloc_lock);
	return NULL;
}

static void *worker(void *arg)
{
	for (int i = 0; i < 64; i++)
		mine[i] = (int)(uintptr_t)arg + i;
	int ok = 1;
	for (int i = 0; i < 64; i++)
		ok &= mine[i] == (int)(uintptr_t)arg + i;
	return (void *)(uintptr_t)ok;
}

int main(void)
{
	int ok = 0;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t h, w;
		void *res;
		pthread_create(&h, NULL, holder, NULL);
		/* the holder gets the lock before the worker is made */
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		pthread_create(&w, NULL, worker, (void *)(uintptr_t)r);
		pthread_join(w, &res);
		pthread_join(h, NULL);
		ok += (int)(uintptr_t)res;
	}
	printf("%d rounds, %d threads saw their own TLS\n", ROUNDS, ok);
	return 0;
}
