/* Reading a regular file without stalling the worker when the data is not
 * in the page cache: the chosen backend (EVSHIM_IO) does the read while
 * the task parks. `uring`: the worker's io_uring (io/uring.h); `pool`: the
 * blocking pool (offload.h), also the fallback when a ring cannot be made
 * or is full. Chosen at start-up: uring where it works, else pool. */
#ifndef EVS_FILEIO_H
#define EVS_FILEIO_H
#include <sys/types.h>
#include <sys/uio.h>

enum { EVS_IO_AUTO = 0, EVS_IO_URING, EVS_IO_POOL };

struct evs_fread {
	int fd;
	const struct iovec *iov;
	int cnt;
	off_t off;                   /* -1: at the file position */
};

void evs_fileio_init(void);
const char *evs_fileio_name(void);
/* Park until the read is done; returns a count or -errno. */
long evs_fileio_read(struct evs_fread *r);
/* The same read on this worker, blocking it (nothing else possible). */
long evs_fileio_read_now(struct evs_fread *r);
/* io_uring completion callback for the scheduler's reaper. */
void evs_fileio_done(void *user, int res);
#endif
