/* A thread computes in a library loaded with dlopen (libspinmod.so):
 * in a loop of the library's own, and in a loop of the program's called
 * back from the library (OCaml's bytecode threads: the interpreter runs
 * under dllthreads.so's thread start, which ocamlrun loads with dlopen).
 * Main sleeps 20 ms meanwhile, then sets the flag the loop watches.
 * Natively main wakes while the loop runs and stops it. Printed: whether
 * each loop ended by main's flag (it gives up by itself after some
 * 4 x 10^9 turns). Two spinners per case, so on two CPUs main shares one
 * with a spinner. */
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TURNS 4000000000L
#define SPINNERS 2

typedef long (*loop_fn)(volatile int *flag, long n);
typedef long (*call_fn)(loop_fn cb, volatile int *flag, long n);

static loop_fn lib_loop;
static call_fn lib_call;
static volatile int flag;
static sem_t started;

__attribute__((noinline)) static long own_loop(volatile int *f, long n)
{
	while (n && !*f) {
		n--;
		__asm__ volatile("" ::: "memory");
	}
	return n;
}

static void *in_library(void *arg)
{
	(void)arg;
	sem_post(&started);
	return (void *)(lib_loop(&flag, TURNS) > 0 ? "stopped by main's flag" : "ran out by itself");
}

static void *called_back(void *arg)
{
	(void)arg;
	sem_post(&started);
	return (void *)(lib_call(own_loop, &flag, TURNS) > 0 ? "stopped by main's flag" : "ran out by itself");
}

static void one(const char *name, void *(*start)(void *))
{
	pthread_t t[SPINNERS];
	flag = 0;
	for (int i = 0; i < SPINNERS; i++)
		pthread_create(&t[i], NULL, start, NULL);
	for (int i = 0; i < SPINNERS; i++)
		while (sem_wait(&started))
			;
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
	flag = 1;
	for (int i = 0; i < SPINNERS; i++) {
		void *how;
		pthread_join(t[i], &how);
		printf("%s: %s\n", name, (const char *)how);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	char path[4096];
	snprintf(path, sizeof(path), "%s", argv[0]);
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (size_t)(slash ? slash + 1 - path : 0), "libspinmod.so");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	lib_loop = (loop_fn)dlsym(h, "spinmod_loop");
	lib_call = (call_fn)dlsym(h, "spinmod_call");
	sem_init(&started, 0, 0);
	one("a loop in a dlopen'd library", in_library);
	one("the program's loop called back from a dlopen'd library", called_back);
	return 0;
}
