/* Shared by the fd hooks (fdio.c, net.c, file.c, fileops.c, poll.c). */
#ifndef EVS_HOOK_FDIO_H
#define EVS_HOOK_FDIO_H
#include "hook.h"
#include "../rt/fdtab.h"
#include "../rt/fdio.h"
#include <sys/socket.h>
#include <sys/uio.h>

/* The record of fd when the runtime serves I/O on it (any open fd,
 * called from a task: each verb checks the kind it serves); NULL means:
 * use the real call. */
static inline struct evs_fd *evs_hook_fd(int fd)
{
	if (!evs_current())
		return NULL;
	struct evs_fd *f = evs_fd_get(fd);
	if (!f || f->kind == EVS_FD_UNKNOWN)
		return NULL;
	return f;
}

/* Count a real (blocking) call a task makes on an open fd the runtime does
 * not serve; calls on fds that are not open are not counted. */
static inline void evs_fallback_fd_(int fd, const char *call)
{
	struct evs_fd *f;
	if (evs_current() && (f = evs_fd_get(fd)) && f->kind != EVS_FD_UNKNOWN)
		evs_fallback(call, evs_fd_kind_name(f->kind));
}
#define evs_fallback_fd(fd) evs_fallback_fd_(fd, __func__)
#endif
