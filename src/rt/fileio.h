/* File operations without stalling the worker: the chosen backend
 * (EVSHIM_IO) carries out an evs_fop (io/fop.h) while the task parks.
 *   uring: the worker's io_uring (io/uring.h) for every operation, except
 *          writes and O_DIRECT transfers at the file position (the pool:
 *          io_uring can leave the position unmoved, see fileio.c);
 *   aio:   the worker's Linux AIO context (io/aio.h) for O_DIRECT reads and
 *          writes at an offset, the blocking pool for the rest;
 *   pool:  the blocking pool (offload.h) for everything.
 * A backend that cannot take an operation (no ring, ring full, aio-max-nr
 * reached) hands it to the pool: the pool is always there. Chosen at
 * start-up: uring where it works, else aio where io_setup works, else pool.
 * The hooks (hook/file.c, hook/fileops.c) try the no-wait fast paths
 * first and come here only when the call would block. */
#ifndef EVS_FILEIO_H
#define EVS_FILEIO_H
#include "../io/fop.h"

enum { EVS_IO_AUTO = 0, EVS_IO_URING, EVS_IO_AIO, EVS_IO_POOL };

void evs_fileio_init(void);
const char *evs_fileio_name(void);
/* Why that backend: for the start-up log line. */
const char *evs_fileio_why(void);
/* Park until op is done; returns its result (>= 0 or -errno). `direct`:
 * the fd was opened with O_DIRECT (only then can AIO take it). The
 * caller keeps every buffer op points at valid and outside swapped TLS. */
long evs_fileio_run(const struct evs_fop *op, int direct);
/* The same operation as a plain system call, blocking the caller. */
long evs_fileio_now(const struct evs_fop *op);
/* Completion callback for the scheduler's reapers (io_uring and AIO). */
void evs_fileio_done(void *user, int res);
#endif
