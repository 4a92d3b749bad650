/* Task-local storage for `__thread` variables: copied on switch (each task
 * keeps its own copy; the worker's blocks hold whichever task runs).
 *
 * At start-up the static TLS blocks of the program and of every library
 * loaded with it are found with dl_iterate_phdr (PT_TLS: initial image,
 * size) at their offsets from the thread pointer, the same on every thread.
 * Each task owns a save area holding its copy of those blocks. A worker
 * remembers whose copy is resident in its blocks (tls_owner); switching to
 * another task saves the resident copy into its owner's area and loads the
 * incoming task's. Switching back to the same task, or to the scheduler,
 * copies nothing, and a program with no TLS of its own pays one branch.
 *
 * Not swapped, on purpose: glibc's own block (its allocator caches, which
 * would otherwise be made per task and never freed; errno is switched by
 * itself, see task.c), and the shim's own block (it says which worker this
 * kernel thread is). Blocks of libraries loaded later with dlopen (dynamic
 * TLS) are per worker: docs/differences.md. Tasks never migrate, so
 * addresses a program computed into its TLS stay valid. */
#ifndef EVS_TLS_H
#define EVS_TLS_H
#include <stdbool.h>
#include <stddef.h>

struct evs_task;
struct evs_worker;

extern size_t evs_tls_total;   /* bytes per task; 0: nothing to switch */

void evs_tls_init(void);       /* at load, on the main thread */
void evs_tls_worker_start(struct evs_worker *w);   /* on the worker's thread */
/* A task's save area, filled with the initial images. 0 or -ENOMEM. */
int evs_tls_task_init(struct evs_task *t);
void evs_tls_task_free(struct evs_worker *w, struct evs_task *t);
void evs_tls_swap(struct evs_worker *w, struct evs_task *next);
/* C++ thread_local destructors of a task: registered by
 * __cxa_thread_atexit_impl (hook/thread.c), run newest first at task exit
 * before the pthread key destructors, as glibc does. 0 or -ENOMEM. */
int evs_tls_add_dtor(struct evs_task *t, void (*fn)(void *), void *obj);
void evs_tls_run_dtors(struct evs_task *t);

/* True when [p, p+n) overlaps a swapped TLS block of the calling worker:
 * memory that holds another task's copy while this task is parked, so no
 * other thread may write it on this task's behalf (rt/offload.h users
 * bounce such buffers). */
bool evs_tls_overlaps(const void *p, size_t n);

/* Make next's copy resident on w, the worker running this code. */
#define evs_tls_switch(w, next)                                          \
	do {                                                             \
		if (evs_tls_total && (w)->tls_owner != (next))          \
			evs_tls_swap((w), (next));                      \
	} while (0)
#endif
