/* Task-local storage for `__thread` variables. Two modes (EVSHIM_TLS).
 *
 * address (the default): each task has a thread pointer of its own, so its
 * `__thread` data lives at an address no other task shares, as natively.
 * Programs hand such addresses to other threads: InnoDB's group commit
 * links each committer's thread_local waiter into a shared list and the
 * leader writes the answer and wakes the futex word through it. The area
 * (static TLS blocks, thread descriptor, DTV) comes from glibc's own
 * allocator, _dl_allocate_tls, as for pthread_create; the descriptor is
 * made from the home worker's when the task first runs there (tls.c,
 * tcb_prepare). Switching to a task with another thread pointer is one
 * arch_prctl(ARCH_SET_FS) (no wrfsbase here); back to the same task, or
 * through the scheduler, costs nothing (the scheduler runs on whichever
 * area is loaded). glibc's block (errno, its allocator caches, locale)
 * and the shim's own block (which worker this is) follow the worker, not
 * the task: they are copied from the outgoing area to the incoming one at
 * each change. Libraries loaded later with dlopen get per-task blocks
 * from glibc's __tls_get_addr (freed with the task).
 *
 * copy: every task of a worker uses the worker's thread pointer; each task
 * keeps its copy of the static TLS blocks of the program and its start-up
 * libraries (found with dl_iterate_phdr) in a save area, swapped into the
 * worker's blocks on a switch (tls_owner says whose copy is resident).
 * Cheaper (a memcpy instead of a system call), but a `__thread` address
 * is the same for every task of a worker, and dynamic TLS is per worker:
 * docs/differences.md.
 *
 * Without glibc's allocator (not found by dlsym) or without TLS of the
 * program's own, the copy mode is used (it costs nothing without TLS).
 * In copy mode (and without TLS of the program's own) tasks never move
 * once they have run, so addresses a program computed into TLS stay
 * valid. In address mode a preempted task may move to another worker
 * (sched.c): its own area goes with it, the worker's blocks are copied in
 * at its next switch, and its old worker first unloads its pointer
 * (evs_tls_move). */
#ifndef EVS_TLS_H
#define EVS_TLS_H
#include <stdbool.h>
#include <stddef.h>

struct evs_task;
struct evs_worker;

extern size_t evs_tls_total;   /* bytes per task; 0: nothing to switch */
extern int evs_tls_by_address; /* each task has its own thread pointer */
extern int evs_tls_armed;      /* address mode possible (glibc's allocator found) */

void evs_tls_init(void);       /* at load, on the main thread */
void evs_tls_worker_start(struct evs_worker *w);   /* on the worker's thread */
/* After each kernel thread the runtime starts: glibc's SIGSETXID handler
 * (setuid and kin with threads) made to run on the worker's own thread
 * pointer (tls.c). */
void evs_tls_setxid_hook(void);
/* A task's save area, filled with the initial images. 0 or -ENOMEM. */
int evs_tls_task_init(struct evs_task *t);
void evs_tls_task_free(struct evs_worker *w, struct evs_task *t);
void evs_tls_swap(struct evs_worker *w, struct evs_task *next);
/* A worker thread that ends: its own thread pointer back (address mode). */
void evs_tls_worker_stop(struct evs_worker *w);
/* C++ thread_local destructors of a task: registered by
 * __cxa_thread_atexit_impl (hook/thread.c), run newest first at task exit
 * before the pthread key destructors, as glibc does. 0 or -ENOMEM. */
int evs_tls_add_dtor(struct evs_task *t, void (*fn)(void *), void *obj);
void evs_tls_run_dtors(struct evs_task *t);

/* True when [p, p+n) overlaps a TLS block that is not the task's alone
 * (copy mode: the swapped blocks; address mode: glibc's and the shim's,
 * which follow the worker): memory that may hold another task's data
 * while this task is parked, so no other thread may write it on this
 * task's behalf (rt/offload.h users bounce such buffers). */
bool evs_tls_overlaps(const void *p, size_t n);
/* A task reaches the TLS of module `modid` through __tls_get_addr
 * (hook/thread.c): a dlopen'd library's turns address mode on, and the
 * task gets its own thread pointer before the address is computed. */
void evs_tls_dynamic(struct evs_worker *w, struct evs_task *t, size_t modid);
/* The mode in force, in words, for the start-up log line. */
const char *evs_tls_mode(void);

/* Address mode, and t has no TLS area of its own yet: making one calls
 * glibc's allocator of static TLS, which calls the program's malloc. */
bool evs_tls_has_area(const struct evs_task *t);
#define evs_tls_needs_area(t) (evs_tls_by_address && !evs_tls_has_area(t))

/* Tasks that have run may move (sched.c): address mode, and the field of
 * glibc's thread descriptor that holds the kernel thread id is known. */
bool evs_tls_movable(void);
/* Address mode: t (with an area of its own, not running) moves from w to
 * `to`. If w's kernel thread still has t's thread pointer loaded (the
 * scheduler runs on whichever area was last loaded), it goes back to its
 * own, so that two kernel threads never use one area; and t's thread
 * descriptor takes the kernel thread id of `to`, as every task running
 * there has it: glibc's recursive locks (the loader's: dl_iterate_phdr,
 * dlopen) record their owner by that id, and a moved task still carrying
 * its old worker's would enter such a lock held by a task running there,
 * at the same time (pbzip2 hung so, in the loader lock, inside the
 * monitor's stack walks). Owner (w) only. */
void evs_tls_move(struct evs_worker *w, struct evs_worker *to, struct evs_task *t);

/* Make next's TLS current on w, the worker running this code (copy mode:
 * its copy resident; address mode: its thread pointer loaded). */
#define evs_tls_switch(w, next)                                          \
	do {                                                             \
		if ((evs_tls_total || evs_tls_by_address) &&             \
		    (w)->tls_owner != (next))                            \
			evs_tls_swap((w), (next));                      \
	} while (0)
#endif
