/* An allocator of the program's own that sets a pthread key the first
 * time a thread allocates, as jemalloc does (rustc links it as malloc):
 * it registers each thread's state with pthread_setspecific so that its
 * destructor cleans it up at thread exit. Natively glibc keeps the first
 * 32 keys inside the thread descriptor, so pthread_setspecific never
 * allocates. The allocator here forwards to glibc's own functions.
 *
 * Each thread first sets key `user` (the first key call of the thread),
 * then allocates. Every thread's `state` destructor must run: rustc's
 * jemalloc kept a dead thread's state linked in its list of live ones
 * when it did not, and crashed or spun at a later thread's start. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 40

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static pthread_key_t state, user;
static int keys_made;
static __thread int armed, registered;
static int state_dtors, user_dtors;

/* The allocator's per-thread start-up: only in the threads of the test
 * (armed), once each. */
static void thread_state(void)
{
	if (__atomic_load_n(&keys_made, __ATOMIC_ACQUIRE) && armed && !registered) {
		registered = 1;
		pthread_setspecific(state, (void *)(uintptr_t)1);
	}
}

void *malloc(size_t n) { thread_state(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { thread_state(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { thread_state(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

static void state_dtor(void *v) { (void)v; __atomic_fetch_add(&state_dtors, 1, __ATOMIC_RELAXED); }
static void user_dtor(void *v) { (void)v; __atomic_fetch_add(&user_dtors, 1, __ATOMIC_RELAXED); }

static void *work(void *arg)
{
	armed = 1;
	pthread_setspecific(user, arg);
	void *p = malloc(64);  /* natively the state is registered here */
	memset(p, 1, 64);
	free(p);
	int ok = pthread_getspecific(state) == (void *)(uintptr_t)1 &&
		 pthread_getspecific(user) == arg;
	return (void *)(uintptr_t)ok;
}

int main(void)
{
	pthread_key_create(&state, state_dtor);
	pthread_key_create(&user, user_dtor);
	__atomic_store_n(&keys_made, 1, __ATOMIC_RELEASE);
	int ok = 0;
	for (int i = 0; i < N; i++) {
		pthread_t th;
		void *r;
		pthread_create(&th, NULL, work, (void *)(uintptr_t)(i + 1));
		pthread_join(th, &r);
		ok += (int)(uintptr_t)r;
	}
	printf("%d threads: both keys read back in %d; state destructors %d, user destructors %d\n",
	       N, ok, state_dtors, user_dtors);
	return 0;
}
