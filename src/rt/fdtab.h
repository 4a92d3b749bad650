/* The fd table: what the runtime knows of each file descriptor, indexed by
 * fd number, and the waiters parked on it.
 *
 * Edge-triggered invariants (the poller never re-reports a state, only a
 * change, so none of these may be broken):
 *   1. Each fd is added to a worker's epoll set once (the first time a task
 *      of that worker waits on it) and left there; `reg` has a bit per
 *      worker whose set holds it.
 *   2. rseq/wseq count the events seen per direction. A task snapshots the
 *      counter BEFORE it tries the call; after EAGAIN it takes the lock and
 *      parks only if the counter has not moved. An event that lands between
 *      the try and the park therefore makes it retry instead of sleeping
 *      through the only edge it would get.
 *   3. An event wakes the first waiter of its direction only (no herd).
 *      A woken waiter that returns to the program with waiters still queued
 *      behind it wakes the next one (evs_fd_pass), so a burst that arrived
 *      as one edge (many connections, many bytes) reaches every waiter. A
 *      poll, select or epoll_wait, which consumes nothing, passes on every
 *      event it saw, whatever woke it.
 *   4. close() (and dup2 onto the fd) bumps `gen`, clears `reg` and wakes
 *      every waiter with EBADF before the real close lets the number be
 *      reused. Epoll tags carry the generation, so an event for the old file
 *      never wakes the new one's waiters.
 *   5. Skipping the attempt bound to fail (docs/design.md, decision 19).
 *      kseq counts the events the kernel reported (the poller's), not the
 *      peer pokes, and is bumped before seq. drained[dir] = k | EVS_DRAINED
 *      says: an attempt made after kseq read k found the fd empty (EAGAIN,
 *      or a short read that proves it: fdwait.c, note_try). While kseq is
 *      still k, anything that made the fd readable since has an edge on its
 *      way (the kernel wakes the wait queue when an empty fd gets data, end
 *      of file or an error; every registration hears it and its epoll_wait
 *      reports it if it still holds; an fd not registered is registered,
 *      readiness checked, by the park), so a blocking call may park first.
 *      Only a call's first attempt is skipped: after any wait it tries.
 *      Writes keep the older rule (seq, pokes included; a write that moved
 *      all it asked clears it).
 * All fields below `lock` are protected by it. */
#ifndef EVS_FDTAB_H
#define EVS_FDTAB_H
#include "../evs.h"
#include "../list.h"
#include "../lock.h"
#include <stdint.h>

struct stat;

enum evs_fd_kind {
	EVS_FD_UNKNOWN = 0,  /* not looked at yet */
	EVS_FD_SOCKET,       /* per-call MSG_DONTWAIT */
	EVS_FD_PIPE,         /* per-call RWF_NOWAIT (pipes and FIFOs) */
	EVS_FD_FILE,         /* regular files: page-cache fast path, else the backend */
	EVS_FD_OTHER,        /* ttys, eventfds, timerfds, directories...: poll, then the call */
};

enum { EVS_IN = 0, EVS_OUT = 1 };

/* The anonymous fds whose calls the kernel answers at once for some
 * sizes, whatever the fd's state (rt/xfer.c). */
enum evs_anon_kind {
	EVS_ANON_UNKNOWN = 0,
	EVS_ANON_EVENTFD,
	EVS_ANON_TIMERFD,
	EVS_ANON_SIGNALFD,
	EVS_ANON_OTHER,
};

/* "socket", "pipe", "file", "other", "unknown": for logs and the dump. */
static inline const char *evs_fd_kind_name(int kind)
{
	static const char *const names[] = { "unknown", "socket", "pipe", "file", "other" };
	return kind >= 0 && kind <= EVS_FD_OTHER ? names[kind] : "?";
}

struct evs_task;

/* A task waiting on an fd in one direction; lives on the task's stack. */
struct evs_waiter {
	struct evs_task *t;
	uint64_t token;
	struct evs_link link;    /* in f->waiters[dir], under f->lock */
};

struct evs_fd {
	int lock;
	uint32_t gen;
	uint8_t kind;
	uint8_t nonblock;        /* the program's view of O_NONBLOCK */
	uint8_t shim_nonblock;   /* the shim set O_NONBLOCK (listening sockets) */
	uint8_t stream;          /* SOCK_STREAM: sends may be partial */
	uint8_t tcp;             /* a TCP socket: a short read leaves nothing unread */
	uint8_t unix_stream;     /* AF_UNIX SOCK_STREAM: so does a short read that
				  * brought no control message (fdwait.c) */
	uint8_t hup;             /* an event said hang-up, error or urgent data:
				  * sticky conditions a short read does not clear */
	uint8_t direct;          /* regular file opened with O_DIRECT */
	uint8_t no_nowait_write; /* its filesystem refused an RWF_NOWAIT write */
	uint8_t pseudo_fs;       /* 0 not asked, 1 /proc, /sys...: plain calls, 2 no */
	uint8_t always_ready;    /* /dev/null, /dev/zero, /dev/urandom...: never worth a wait */
	uint8_t anon;            /* no file type: an eventfd, signalfd, timerfd, inotify... */
	uint8_t anon_kind;       /* which (enum evs_anon_kind), from its /proc link */
	uint8_t dup_shared;      /* its description has another fd here (dup): O_NONBLOCK
				  * may have changed through that one (rt/xfer.c) */
	uint8_t opened;          /* opened by evs_open: nonblock and direct are known */
	int pending_err;         /* atomic: an error kept for the next call (rt/xfer.c) */
	uint64_t reg;            /* workers whose epoll set holds it */
	uint32_t seq[2];         /* events seen, per direction (atomic) */
	uint32_t kseq[2];        /* of those, the kernel's (invariant 5, atomic) */
	uint64_t drained[2];     /* invariant 5 (atomic; 0: not known) */
	int64_t avail;           /* bytes this process's end of the pair wrote here
				  * less the bytes read here since the fd was last
				  * seen empty: a guess (never a proof) of whether a
				  * read would find data (atomic) */
	struct evs_queue waiters[2];
	struct evs_queue rwaiters[2];  /* tasks with an operation in a ring
					* (rt/netring.h): only close wakes them */
	int64_t timeo[2];        /* SO_RCVTIMEO, SO_SNDTIMEO in ns; 0 none */
	int64_t write_slow_until; /* no_nowait_write files: backend writes until then (rt/filerw.c) */
	uint64_t peer;           /* a pipe or socketpair made here: the other end's tag
				  * (gen << 32 | fd), 0 none (atomic) */
	struct evs_handin *handin; /* a pipe's read end: its parked reader's offer
				    * (rt/pipe.h; atomic: the reader's to take back,
				    * or a writer's that claims it) */
};

void evs_fdtab_init(void);
/* Before exec (restore false), and after an exec that failed (true): the
 * O_NONBLOCK the shim set on listening sockets comes off the fds that
 * survive exec, so the new program sees the flags the program set.
 * Returns how many fds it touched. */
int evs_fdtab_exec_flags(bool restore);
/* In the parent before a fork (once per program image): records for the
 * inherited listening sockets not seen yet, with the program's flags. */
void evs_fdtab_prefork(void);
void evs_fdtab_atfork_child(void);
/* Worker `id` closed its epoll set: no fd is registered there any more. */
void evs_fdtab_forget_worker(int id);
/* The record for fd (created on first use, kind looked up with fstat), or
 * NULL when fd is negative or past the table. */
struct evs_fd *evs_fd_get(int fd);
/* Forget what was known (close, dup2 target, new fd from a hook). */
void evs_fd_reset(int fd, int kind, int nonblock, int stream);
/* fd was just opened by the runtime with these open(2) flags: its kind is
 * not known yet, its O_NONBLOCK and O_DIRECT are. */
void evs_fd_opened(int fd, int flags);
/* The program's fstat of fd said st: a file the runtime opened is now
 * classified without system calls of its own. */
void evs_fd_stat_seen(int fd, const struct stat *st);
/* The poller saw `events` for tag (gen << 32 | fd). */
bool evs_fd_event(uint64_t tag, uint32_t events);  /* false: a stale tag */
/* close() is about to close fd: wake its waiters with EBADF. */
void evs_fd_closing(int fd);
/* The same for every fd in [first, last] the table has a record for. */
void evs_fd_closing_range(unsigned first, unsigned last);
/* True for the runtime's own fds (the pollers'): the program may not close
 * them. */
bool evs_fd_internal(int fd);

#define EVS_DRAINED (1ULL << 32)

/* What a try says besides its result, and what the loop tells it. */
struct evs_try {
	bool drained;            /* try: the attempt left nothing to read (a short
				  * read of a TCP or AF_UNIX stream, not a peek) */
	long got;                /* try: bytes a read returned */
	bool peek;               /* try: ... and left in place (MSG_PEEK) */
	bool partial;            /* try: its -EAGAIN is "wait for the rest" of a
				  * read that moved bytes (MSG_WAITALL), not the
				  * kernel's */
	bool more;               /* try: it moved all that was asked (a full
				  * read or write): the next call tries first */
	bool ringed;             /* loop: the call was made by the worker's ring
				  * (rt/netring.h) and `res` is its result: use
				  * it instead of making the call */
	long res;
};
struct evs_nop;

/* The one try / would-block / park / retry loop (rt/fdwait.c).
 * try(fd, arg, st) makes the non-blocking attempt and returns >= 0 or -errno;
 * -EAGAIN means "wait for dir and call me again". A blocking call on an fd
 * last seen empty with no event since parks before its first try
 * (invariant 5). Returns try's result,
 * -EAGAIN at once when `nonblock` (the program's view), -ETIME when the
 * deadline passed, -EBADF when the fd was closed while waiting, -EINTR
 * when a signal's handler (which has run) interrupts the call. Every
 * caller (reads, writes, accept, connect, sendfile, the mmsg calls) goes
 * through here. When epoll cannot hold the fd, the wait is a real poll()
 * on the worker (counted as a fallback). */
typedef long (*evs_try_fn)(int fd, void *arg, struct evs_try *st);
/* prep(fd, arg, op) describes the call try would make now as a socket
 * operation for the worker's ring (EVSHIM_NET=uring); false when the ring
 * must not take it (a buffer in swapped TLS, flags it does not carry).
 * With a prep, a blocking call that would block parks on the operation in
 * the ring instead of on readiness, and try gets the result (ringed). */
typedef bool (*evs_prep_fn)(int fd, void *arg, struct evs_nop *op);
long evs_fd_io(struct evs_fd *f, int fd, int dir, evs_try_fn try, evs_prep_fn prep, void *arg,
	       int nonblock, int64_t deadline);
/* The same for a pipe read that offers its buffers to the pipe's writers
 * while it waits (h, rt/pipe.h; NULL: none). */
struct evs_handin;
long evs_fd_io_offering(struct evs_fd *f, int fd, int dir, evs_try_fn try, evs_prep_fn prep,
			void *arg, int nonblock, int64_t deadline, struct evs_handin *h);
/* The deadline SO_RCVTIMEO / SO_SNDTIMEO give a call starting now. */
int64_t evs_fd_deadline(struct evs_fd *f, int dir);
/* Take w off q, one of f's waiter queues, unless a waker already did. */
static inline void evs_fd_unqueue(struct evs_fd *f, struct evs_queue *q, struct evs_waiter *w)
{
	evs_spin_lock(&f->lock);
	if (w->link.linked)
		evs_queue_del(q, &w->link);
	evs_spin_unlock(&f->lock);
}
/* The record tag (gen << 32 | fd) names, if it still does; else NULL. */
struct evs_fd *evs_fd_by_tag(uint64_t tag);
/* a and b are the two ends of a pipe (a reads, b writes) or a socketpair
 * just made in this process: each record learns the other's tag. */
void evs_fd_pair(int a, int b);
/* After a transfer of n bytes on f that made its peer ready in dir (bytes
 * written: the peer has data, EVS_IN; bytes read: the peer has room,
 * EVS_OUT): a task parked on the peer wakes now, as the poller's event
 * would have woken it later (that event still comes, and finds nobody or
 * retries a try). Data written also counts in the peer's `avail`. A poke
 * is not a kernel event (kseq does not move). A tag gone stale (the peer
 * closed, its number reused) is ignored. */
void evs_fd_poke_peer_(struct evs_fd *f, int dir, long n);
static inline void evs_fd_poke_peer(struct evs_fd *f, int dir, long n)
{
	if (__atomic_load_n(&f->peer, __ATOMIC_RELAXED))
		evs_fd_poke_peer_(f, dir, n);
}
/* poll or select told the program that f is ready in dir: its next call
 * tries first, whatever it last saw. */
static inline void evs_fd_seen_ready(struct evs_fd *f, int dir)
{
	if (__atomic_load_n(&f->drained[dir], __ATOMIC_RELAXED))
		__atomic_store_n(&f->drained[dir], 0, __ATOMIC_RELAXED);
}
/* Wake the next waiter of dir, if any (invariant 3). */
void evs_fd_pass(struct evs_fd *f, int dir);

/* Wait on several fds at once (poll, select, epoll_wait). */
struct evs_pollreq {
	int fd;
	int dirs;                /* 1 << EVS_IN | 1 << EVS_OUT */
	uint32_t seq[2];
	struct evs_waiter w[2];
	struct evs_fd *f;
};
/* Snapshot the counters of every request (before the readiness check). */
void evs_fd_snapshot(struct evs_pollreq *r, int n);
/* Park until any request sees an event, or the deadline. Returns 0 (try
 * again), -ETIME, -ECANCELED, -EINTR (a signal came: its handler has not
 * run yet), or EVS_USE_REAL when epoll cannot hold one of the fds (the
 * caller makes the real, blocking call). stops: NULL, or when the call
 * began (evs_stop_mark, rt/signal.h), for a call a stop of the process
 * ends (epoll_wait): a stop heard of since ends the wait with -EINTR. */
long evs_fd_wait_many(struct evs_pollreq *r, int n, int64_t deadline, const int64_t *stops);
#endif
