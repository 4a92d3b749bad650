/* Pipes made in this process: a write whose reader is parked hands the
 * bytes straight to it (docs/design.md, decision 22).
 *
 * A blocking read of a pipe made here by pipe()/pipe2() that would wait
 * offers its buffers (an evs_handin on its stack) in the read end's
 * record, then parks. A write through the other end that finds an
 * offer asks the kernel whether its pipe holds anything (FIONREAD on the
 * writer's own fd); if it is empty, every write that finished before
 * this one has been read, so this one may go first: it claims the offer
 * (one CAS: no other writer, and not the reader, can have it then),
 * copies into the reader's buffers, marks the offer delivered and wakes
 * the reader. One system call for the hop instead of a write, a read
 * and the poller's event. The kernel is asked every time because bytes
 * can come in where the runtime does not look (a raw `syscall`, a
 * child process, a duplicate, a splice, io_uring); whatever came in
 * before the question is in the answer, and what comes in after it is
 * concurrent with this write, so either order is one the kernel could
 * have made.
 *
 * The reader takes its offer back after every wake; if a writer claimed
 * it first, the read has its bytes, whatever else woke it (a timeout, a
 * signal, a close). Writes that find no offer, a non-empty pipe, or
 * buffers too small (the whole write goes, or none of it: a write of up
 * to PIPE_BUF is atomic, and larger ones are never split here) go
 * through the kernel as before. */
#ifndef EVS_PIPE_H
#define EVS_PIPE_H
#include "../evs.h"
#include "fdtab.h"
#include <sys/uio.h>

/* Larger writes go through the kernel, whose pipe holds 64 KiB: a read
 * never gets more at once natively. */
#define EVS_PIPE_HAND_MAX 65536

struct evs_task;

/* A reader's offer. state: 0 waiting, 1 delivered (res), 2 declined. */
struct evs_handin {
	struct evs_fd *f;        /* the read end it waits on */
	const struct iovec *iov; /* the program's buffers (not in swapped TLS) */
	int cnt;
	size_t len;
	struct evs_task *t;      /* set by the wait, with token and gen */
	uint64_t token;
	uint32_t gen;
	bool offered;
	int state;               /* atomic */
	long res;
};

/* The read end f may take offers (a pipe made here, EVSHIM_PIPES=direct). */
bool evs_pipe_offers(struct evs_fd *f);
/* A write through wf (fd): n bytes handed to a parked reader, or -1
 * (make the call). */
long evs_pipe_give(struct evs_fd *wf, int fd, const struct iovec *iov, int cnt);
/* The wait side (rt/fdwait.c): offer h on f (its t, token, gen set),
 * after the wait is open; and after the park, take it back: true when a
 * writer delivered (h->res), false when the offer was not taken (or was
 * declined). */
void evs_pipe_offer(struct evs_fd *f, struct evs_handin *h);
bool evs_pipe_withdraw(struct evs_fd *f, struct evs_handin *h);
#endif
