/* File operations without stalling the worker: the chosen backend
 * (EVSHIM_IO) carries out an evs_fop (io/fop.h) while the task parks.
 *   uring: the worker's io_uring (io/uring.h) for every operation, except
 *          writes and O_DIRECT transfers at the file position (the pool:
 *          io_uring can leave the position unmoved, see fileio.c);
 *   aio:   the worker's Linux AIO context (io/aio.h) for O_DIRECT reads and
 *          writes at an offset, the blocking pool for the rest;
 *   pool:  the blocking pool (offload.h) for everything.
 * A backend that cannot take an operation (no ring, ring full, aio-max-nr
 * reached) hands it to the pool: the pool is always there. Chosen when the
 * runtime starts (the first park or pthread_create): uring where it works,
 * else aio where io_setup works, else pool.
 * The hooks (hook/file.c, hook/fileops.c) try the no-wait fast paths
 * first and come here only when the call would block. */
#ifndef EVS_FILEIO_H
#define EVS_FILEIO_H
#include "../evs.h"
#include "../io/fop.h"
#include "../io/uring.h"

enum { EVS_IO_AUTO = 0, EVS_IO_URING, EVS_IO_AIO, EVS_IO_POOL };

/* Choose the backend (EVSHIM_IO, the probes), once: at the runtime's
 * start (rt/worker.c), or earlier for the start-up line. Until then the
 * name says none was chosen. */
void evs_fileio_choose(void);
void evs_fileio_atfork_child(void);
const char *evs_fileio_name(void);
/* Why that backend: for the start-up log line. */
const char *evs_fileio_why(void);
/* Park until op is done; returns its result (>= 0 or -errno). `direct`:
 * the fd was opened with O_DIRECT (only then can AIO take it). The
 * caller keeps every buffer op points at valid and outside swapped TLS. */
long evs_fileio_run(const struct evs_fop *op, int direct);
/* The same operation as a plain system call, blocking the caller. */
long evs_fileio_now(const struct evs_fop *op);
/* A task waiting for one io_uring or AIO completion (a file operation, or
 * a socket operation: rt/netring.h); lives on the task's stack, and is
 * the operation's user_data until its completion has been reaped. */
struct evs_task;
struct evs_fd;
struct evs_opwait {
	struct evs_uring_user uu;    /* first: what the ring's reaper reads */
	struct evs_task *t;
	uint64_t token;              /* the wait the completion ends */
	long res;
	bool done;                   /* the completion has been reaped */
	bool woke;                   /* and its wake-up is what ended the wait */
	bool stale;                  /* socket operations: its fd was closed
				      * before it was submitted (a no-op went) */
	struct evs_fd *f;            /* socket operations: the fd's record and */
	uint32_t gen;                /* generation when it was queued */
};
/* Completion callback for the scheduler's reapers (io_uring and AIO):
 * records the result and wakes the task. */
void evs_fileio_done(void *user, int res);
/* An operation in ring u whose wait ended another way (a deadline, a
 * close, a signal, a wake through the lot): cancel it and wait,
 * uncancellable, until the kernel has answered for it (its result then
 * in ow->res), so that nothing writes to the caller's memory, or to ow,
 * after the call returns. Owner worker only: only its reaper ends the
 * wait. kind and obj: what the task dump shows meanwhile. */
void evs_opwait_take_back(struct evs_uring *u, struct evs_opwait *ow, int kind, intptr_t obj);
#endif
