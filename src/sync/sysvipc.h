/* System V message queues and semaphores without holding the worker
 * (sync/sysvipc.c). Each returns the call's result or -errno. */
#ifndef EVS_SYNC_SYSVIPC_H
#define EVS_SYNC_SYSVIPC_H
#include <stddef.h>
#include <sys/sem.h>
#include <time.h>

long evs_msgrcv(int id, void *p, size_t n, long type, int flags);
long evs_msgsnd(int id, const void *p, size_t n, int flags);
/* semop (tmo NULL) and semtimedop; EVS_USE_REAL when the call cannot
 * wait (every op IPC_NOWAIT, none) or has more ops than are copied. */
long evs_semop(int id, struct sembuf *ops, size_t n, const struct timespec *tmo);
#endif
