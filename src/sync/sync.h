/* Task-aware synchronization objects. Each keeps glibc's layout for the
 * words glibc's static initializers and attributes set (mutex kind at 16,
 * condvar flags at 36, semaphore `private` at 8, barrier `shared` at 12,
 * rwlock `shared` at 28 and `flags` at 48), so PTHREAD_*_INITIALIZER
 * objects in static storage just work, and process-shared objects are
 * recognised and left to glibc. Waiters sleep in the parking lot (lot.h).
 * Functions return 0 or -errno; the hooks (hook/sync.c) give pthread's
 * callers the positive error number. */
#ifndef EVS_SYNC_H
#define EVS_SYNC_H
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

/* mutex.c */
int evs_mutex_is_ours(const pthread_mutex_t *m);
int evs_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a);
int evs_mutex_lock(pthread_mutex_t *m, int64_t deadline, int try_only);
int evs_mutex_unlock(pthread_mutex_t *m);
int evs_mutex_destroy(pthread_mutex_t *m);
/* For condition variables: release completely / take back, keeping a
 * recursive mutex's count. */
int evs_mutex_release(pthread_mutex_t *m, unsigned *count);
void evs_mutex_reacquire(pthread_mutex_t *m, unsigned count);
/* A mutex left to glibc (!evs_mutex_is_ours) locked by a task: glibc's
 * trylock, the task parked while it is busy (deadline: CLOCK_MONOTONIC
 * ns, INT64_MAX for none). */
int evs_mutex_foreign_lock(pthread_mutex_t *m, int64_t deadline);
/* glibc's own lock or trylock of one answered r: if it is held now, the
 * calling task is not moved to another worker until it lets go. */
void evs_mutex_foreign_held(pthread_mutex_t *m, int r);
/* The same record (it pins the task) for another object of glibc's that
 * names the worker's thread: a process-shared rwlock's write lock. */
void evs_glibc_hold(const void *obj);
void evs_glibc_let_go(const void *obj);
/* glibc's trylock of such a mutex, its owner checks made per task. */
int evs_mutex_foreign_trylock(pthread_mutex_t *m);
/* glibc's unlock of one, then a wake of a task of this process parked
 * for it (the unlock hook, and condition variables) / the lock again (a
 * task parks; 0 or glibc's error, EOWNERDEAD say). 0 or -errno. */
int evs_mutex_foreign_release(pthread_mutex_t *m);
int evs_mutex_foreign_reacquire(pthread_mutex_t *m);

/* cond.c */
int evs_cond_is_ours(const pthread_cond_t *c);
int evs_cond_init(pthread_cond_t *c, const pthread_condattr_t *a);
clockid_t evs_cond_clock(const pthread_cond_t *c);
int evs_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline);
int evs_cond_wake(pthread_cond_t *c, int all);
/* glibc's wait on a condition left to it (process-shared): `how` 0
 * pthread_cond_wait, 1 _timedwait, 2 _clockwait (clk, ts as given).
 * A task among others makes it on a thread of the blocking pool while it
 * parks; the answer is glibc's (a positive error number or 0). */
int evs_cond_glibc_wait(pthread_cond_t *c, pthread_mutex_t *m, int how, clockid_t clk,
			const struct timespec *ts);

/* sem.c */
int evs_sem_is_ours(const sem_t *s);
int evs_sem_init(sem_t *s, unsigned value);
int evs_sem_wait(sem_t *s, int64_t deadline, int try_only);
int evs_sem_post(sem_t *s);
int evs_sem_value(sem_t *s);

/* rwlock.c */
int evs_rwlock_is_ours(const pthread_rwlock_t *l);
int evs_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a);
int evs_rwlock_rdlock(pthread_rwlock_t *l, int64_t deadline, int try_only);
int evs_rwlock_wrlock(pthread_rwlock_t *l, int64_t deadline, int try_only);
int evs_rwlock_unlock(pthread_rwlock_t *l);
/* glibc's lock of one left to it (process-shared): `write`, and `how` 0
 * rdlock/wrlock, 1 timed (CLOCK_REALTIME), 2 clock (clk, ts as given),
 * 3 the trylock. A
 * task among others makes glibc's wait on a pool thread while it parks;
 * the answer is glibc's (a positive error number or 0), and so is the
 * unlock's. */
int evs_rwlock_glibc_lock(pthread_rwlock_t *l, int write, int how, clockid_t clk,
			  const struct timespec *ts);
int evs_rwlock_glibc_unlock(pthread_rwlock_t *l);

/* barrier.c, once.c */
int evs_barrier_is_ours(const pthread_barrier_t *b);
int evs_barrier_init(pthread_barrier_t *b, unsigned count);
int evs_barrier_wait(pthread_barrier_t *b);
/* glibc's wait on one left to it (process-shared), made by a task among
 * others on a pool thread while it parks; glibc's answer. */
int evs_barrier_glibc_wait(pthread_barrier_t *b);
int evs_once(pthread_once_t *o, void (*fn)(void));
#endif
