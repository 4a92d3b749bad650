/* Raw system calls returning -errno, never touching errno: the runtime's
 * own I/O, which must neither re-enter the hooks nor disturb the program's
 * errno. */
#ifndef EVS_SYS_H
#define EVS_SYS_H
#include "../arch/cpu.h"
#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#define evs_sys6(n, a, b, c, d, e, f) \
	evs_raw_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define evs_sys3(n, a, b, c) evs_sys6((n), (a), (b), (c), 0, 0, 0)
static inline long evs_sys_read(int fd, void *b, size_t n) { return evs_sys3(SYS_read, fd, b, n); }
static inline long evs_sys_write(int fd, const void *b, size_t n) { return evs_sys3(SYS_write, fd, b, n); }
static inline long evs_sys_close(int fd) { return evs_sys3(SYS_close, fd, 0, 0); }
static inline long evs_sys_fcntl(int fd, int cmd, long arg) { return evs_sys3(SYS_fcntl, fd, cmd, arg); }

/* poll() of one fd for events, raw: the revents (0 on timeout) or
 * -errno. Also when RLIMIT_NOFILE is below 1, where poll says EINVAL
 * (poll1.c): then only POLLIN or POLLOUT, as select sees them. */
long evs_sys_poll1(int fd, short events, int timeout_ms);

/* The value after "\nKEY:" in a /proc status file read into buf (its
 * whitespace left for strtol and kin), or NULL when the file cannot be
 * read or has no such line. Raw calls only: safe in a signal handler. */
const char *evs_proc_status_field(const char *path, const char *key, char *buf, size_t size);
#endif
