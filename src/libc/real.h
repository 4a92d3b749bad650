/* The real libc functions behind every interposed name (real.def). Runtime
 * code calls these, never the interposed names, so it cannot re-enter
 * itself. */
#ifndef EVS_REAL_H
#define EVS_REAL_H
#include "../evs.h"
#include <pthread.h>
#include <mqueue.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/select.h>
#include <sys/epoll.h>
#include <poll.h>
#include <semaphore.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/ptrace.h>
#include <spawn.h>
#include <liburing.h>
#include <dirent.h>

struct evs_real {
#define R(name, ret, params) ret (*name) params;
#include "real.def"
#undef R
};
extern struct evs_real evs_real;

/* Resolve every real symbol; safe to call more than once and from any
 * thread (idempotent stores of the same values). */
void evs_real_init(void);

/* REAL(read) is the real function, resolving the table first if a hook runs
 * before the constructor did (another library's constructor, say). */
#define REAL(name) \
	(EVS_LIKELY(evs_real.name != NULL) ? evs_real.name \
					   : (evs_real_init(), evs_real.name))
#endif
