/* Waiting for file locks without blocking the worker (rt/filelock.c).
 * 0 or -errno (-EINTR after a handler without SA_RESTART; -ECANCELED:
 * F_SETLKW only, which is a cancellation point). */
#ifndef EVS_FILELOCK_H
#define EVS_FILELOCK_H
long evs_flock(int fd, int op);
/* cmd: F_SETLKW or F_OFD_SETLKW; lock: the struct flock. */
long evs_setlkw(int fd, int cmd, void *lock);
#endif
