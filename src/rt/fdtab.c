/* The fd table (invariants in fdtab.h). Records live in chunks of
 * EVS_FD_CHUNK, allocated on first use and never freed, so a record's
 * address is stable and a reader needs no lock to find it. */
#include "../evs.h"
#include "fdtab.h"
#include "fdio.h"
#include "sched.h"
#include "task.h"
#include "../libc/sys.h"
#include "../io/poller.h"
#include <dirent.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/epoll.h>
#include <netinet/in.h>

#define EVS_FD_CHUNK 1024
/* The table covers this many fds at most; fds beyond it are passed to the
 * real calls (counted). 1M fds is more than any Linux default allows. */
#define EVS_FD_MAX (1 << 20)

static struct evs_fd *chunks[EVS_FD_MAX / EVS_FD_CHUNK];
/* Per chunk, a bit per EVS_FD_GROUP records: set once a record of the
 * group has been handed out (atomic). A fork's child looks only at those
 * (evs_fdtab_atfork_child). */
#define EVS_FD_GROUP (EVS_FD_CHUNK / 64)
static uint64_t used[EVS_FD_MAX / EVS_FD_CHUNK];
static int nfd_limit;  /* 0 until init: with EVSHIM_DISABLE=1 nothing is kept */

void evs_fdtab_init(void)
{
	struct rlimit rl;
	nfd_limit = EVS_FD_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < EVS_FD_MAX)
		nfd_limit = (int)rl.rlim_cur;
}

static struct evs_fd *slot(int fd, int create)
{
	if (fd < 0 || fd >= nfd_limit)
		return NULL;
	struct evs_fd **cp = &chunks[fd / EVS_FD_CHUNK];
	struct evs_fd *c = __atomic_load_n(cp, __ATOMIC_ACQUIRE);
	if (!c) {
		if (!create)
			return NULL;
		struct evs_fd *n = calloc(EVS_FD_CHUNK, sizeof(*n));
		if (!n)
			return NULL;
		if (!__atomic_compare_exchange_n(cp, &c, n, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			free(n);  /* another thread won; c is theirs */
		else
			c = n;
	}
	uint64_t bit = 1ULL << (fd % EVS_FD_CHUNK / EVS_FD_GROUP);
	if (EVS_UNLIKELY(!(__atomic_load_n(&used[fd / EVS_FD_CHUNK], __ATOMIC_RELAXED) & bit)))
		__atomic_or_fetch(&used[fd / EVS_FD_CHUNK], bit, __ATOMIC_RELEASE);
	return &c[fd % EVS_FD_CHUNK];
}

/* The memory devices that never make a reader or a writer wait (major 1:
 * 3 null, 5 zero, 7 full, 8 random, 9 urandom; not 11, kmsg, whose reads
 * wait for the kernel's next message). */
static bool always_ready(const struct stat *st)
{
	unsigned mi = minor(st->st_rdev);
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 &&
	       (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

/* An anonymous fd's kind, from the name its /proc link gives
 * ("anon_inode:[eventfd]"); unknown without /proc. */
static int anon_kind(int fd)
{
	char path[40], name[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	long n = evs_sys6(SYS_readlinkat, AT_FDCWD, path, name, sizeof(name) - 1, 0, 0);
	if (n <= 0)
		return EVS_ANON_UNKNOWN;
	name[n] = 0;
	if (strcmp(name, "anon_inode:[eventfd]") == 0)
		return EVS_ANON_EVENTFD;
	if (strcmp(name, "anon_inode:[timerfd]") == 0)
		return EVS_ANON_TIMERFD;
	if (strcmp(name, "anon_inode:[signalfd]") == 0)
		return EVS_ANON_SIGNALFD;
	return EVS_ANON_OTHER;
}

static void classify(struct evs_fd *f, int fd)
{
	struct stat st;
	long r = evs_sys3(SYS_fstat, fd, &st, 0);
	int kind = EVS_FD_OTHER, stream = 0, tcp = 0, unix_stream = 0;
	if (r == 0 && S_ISSOCK(st.st_mode)) {
		int type = 0, proto = 0, domain = 0;
		socklen_t len = sizeof(type);
		kind = EVS_FD_SOCKET;
		if (evs_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len, 0) == 0)
			stream = (type == SOCK_STREAM);
		len = sizeof(proto);
		if (stream && evs_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len, 0) == 0)
			tcp = (proto == IPPROTO_TCP);
		len = sizeof(domain);
		if (stream && evs_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &domain, &len, 0) == 0)
			unix_stream = (domain == AF_UNIX);
	} else if (r == 0 && S_ISFIFO(st.st_mode)) {
		kind = EVS_FD_PIPE;
		stream = 1;
	} else if (r == 0 && S_ISREG(st.st_mode)) {
		kind = EVS_FD_FILE;
	} else {
		stream = 1;  /* a tty, an eventfd...: a blocking write writes it all */
	}
	if (r < 0)
		return;  /* not open: nothing to remember, the real call says so */
	long fl = evs_sys_fcntl(fd, F_GETFL, 0);
	int ak = r == 0 && (st.st_mode & S_IFMT) == 0 ? anon_kind(fd) : EVS_ANON_UNKNOWN;
	evs_spin_lock(&f->lock);
	if (f->kind == EVS_FD_UNKNOWN) {
		f->kind = (uint8_t)kind;
		f->stream = (uint8_t)stream;
		f->tcp = (uint8_t)tcp;
		f->unix_stream = (uint8_t)unix_stream;
		f->nonblock = fl >= 0 && (fl & O_NONBLOCK);
		f->direct = fl >= 0 && (fl & O_DIRECT);
		f->no_nowait_write = 0;
		f->pseudo_fs = 0;
		f->always_ready = always_ready(&st);
		f->anon = (st.st_mode & S_IFMT) == 0;
		f->anon_kind = (uint8_t)ak;
	}
	evs_spin_unlock(&f->lock);
}

struct evs_fd *evs_fd_get(int fd)
{
	if (EVS_UNLIKELY(evs_vfork_child))
		return NULL;  /* the parent's table: hooks make the real call */
	struct evs_fd *f = slot(fd, 1);
	if (f && EVS_UNLIKELY(__atomic_load_n(&f->kind, __ATOMIC_ACQUIRE) == EVS_FD_UNKNOWN))
		classify(f, fd);
	return f;
}

/* Wake every waiter of dir with `reason`, taking each off the queue.
 * Under f->lock: a record may vanish as soon as its owner can see it is
 * no longer queued and take the lock (fdwait.c). */
static void wake_all(struct evs_fd *f, int dir, int reason)
{
	struct evs_link *l;
	while ((l = evs_queue_pop(&f->waiters[dir]))) {
		struct evs_waiter *w = evs_queue_entry(l, struct evs_waiter, link);
		evs_task_wake(w->t, w->token, reason);
	}
}

/* The same for tasks whose operation is in a ring: each cancels its own
 * (rt/netring.c). */
static void wake_all_ring(struct evs_fd *f, int dir)
{
	struct evs_link *l;
	while ((l = evs_queue_pop(&f->rwaiters[dir]))) {
		struct evs_waiter *w = evs_queue_entry(l, struct evs_waiter, link);
		evs_task_wake(w->t, w->token, EVS_WAKE_CLOSED);
	}
}

void evs_fd_reset(int fd, int kind, int nonblock, int stream)
{
	if (EVS_UNLIKELY(evs_vfork_child))
		return;
	struct evs_fd *f = slot(fd, 1);
	if (!f)
		return;
	evs_spin_lock(&f->lock);
	f->gen++;
	f->reg = 0;
	f->kind = (uint8_t)kind;
	f->nonblock = (uint8_t)nonblock;
	f->shim_nonblock = 0;
	f->direct = 0;
	f->no_nowait_write = 0;
	f->pseudo_fs = 0;
	f->always_ready = 0;
	f->anon = 0;
	f->anon_kind = 0;
	f->dup_shared = 0;
	f->opened = 0;
	f->stream = (uint8_t)stream;
	f->tcp = 0;
	f->unix_stream = 0;
	f->hup = 0;
	f->timeo[0] = f->timeo[1] = 0;
	f->write_slow_until = 0;
	__atomic_store_n(&f->peer, 0, __ATOMIC_RELAXED);
	f->pending_err = 0;
	f->drained[0] = f->drained[1] = 0;
	f->avail = 0;
	wake_all(f, EVS_IN, EVS_WAKE_CLOSED);
	wake_all(f, EVS_OUT, EVS_WAKE_CLOSED);
	wake_all_ring(f, EVS_IN);
	wake_all_ring(f, EVS_OUT);
	evs_spin_unlock(&f->lock);
}

void evs_fd_opened(int fd, int flags)
{
	evs_fd_reset(fd, EVS_FD_UNKNOWN, !!(flags & O_NONBLOCK), 0);
	struct evs_fd *f = slot(fd, 0);
	if (!f)
		return;
	evs_spin_lock(&f->lock);
	if (f->kind == EVS_FD_UNKNOWN) {
		f->direct = !!(flags & O_DIRECT);
		f->opened = 1;
	}
	evs_spin_unlock(&f->lock);
}

void evs_fd_stat_seen(int fd, const struct stat *st)
{
	if (EVS_UNLIKELY(evs_vfork_child) || !S_ISREG(st->st_mode))
		return;
	struct evs_fd *f = slot(fd, 0);
	if (!f || __atomic_load_n(&f->kind, __ATOMIC_RELAXED) != EVS_FD_UNKNOWN || !f->opened)
		return;
	evs_spin_lock(&f->lock);
	if (f->kind == EVS_FD_UNKNOWN && f->opened) {  /* what classify() would find */
		f->stream = 0;
		f->tcp = 0;
		f->no_nowait_write = 0;
		f->pseudo_fs = 0;
		f->always_ready = 0;
		__atomic_store_n(&f->kind, EVS_FD_FILE, __ATOMIC_RELEASE);
	}
	evs_spin_unlock(&f->lock);
}

void evs_fd_closing(int fd)
{
	if (EVS_UNLIKELY(evs_vfork_child))
		return;
	if (slot(fd, 0))
		evs_fd_reset(fd, EVS_FD_UNKNOWN, 0, 0);
}

void evs_fd_closing_range(unsigned first, unsigned last)
{
	if (EVS_UNLIKELY(evs_vfork_child) || first >= (unsigned)nfd_limit)
		return;
	if (last >= (unsigned)nfd_limit)
		last = (unsigned)nfd_limit - 1;
	/* Only the chunks made so far: close_range(3, ~0U) must not walk a
	 * million empty numbers. */
	for (unsigned c = first / EVS_FD_CHUNK; c <= last / EVS_FD_CHUNK; c++) {
		if (!__atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE))
			continue;
		unsigned lo = c * EVS_FD_CHUNK, hi = lo + EVS_FD_CHUNK - 1;
		if (lo < first)
			lo = first;
		if (hi > last)
			hi = last;
		for (unsigned fd = lo; fd <= hi; fd++)
			if (!evs_poller_is_internal((int)fd))
				evs_fd_closing((int)fd);
	}
}

/* An event for tag: the poller's (kernel) or a peer's poke (not). */
static bool fd_event(uint64_t tag, uint32_t ev, bool kernel)
{
	int fd = (int)(uint32_t)tag;
	struct evs_fd *f = slot(fd, 0);
	if (!f)
		return false;
	evs_spin_lock(&f->lock);
	if (f->gen != (uint32_t)(tag >> 32)) {  /* an older file: stale */
		evs_spin_unlock(&f->lock);
		return false;
	}
	int in = !!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI));
	int out = !!(ev & (EPOLLOUT | EPOLLHUP | EPOLLERR));
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI))  /* before the count (fdwait.c) */
		__atomic_store_n(&f->hup, 1, __ATOMIC_RELAXED);
	/* kseq before seq (invariant 5): a reader that sees the new seq
	 * sees the new kseq. */
	if (in && kernel)
		__atomic_add_fetch(&f->kseq[EVS_IN], 1, __ATOMIC_RELEASE);
	if (out && kernel)
		__atomic_add_fetch(&f->kseq[EVS_OUT], 1, __ATOMIC_RELEASE);
	if (in)
		__atomic_add_fetch(&f->seq[EVS_IN], 1, __ATOMIC_RELEASE);
	if (out)
		__atomic_add_fetch(&f->seq[EVS_OUT], 1, __ATOMIC_RELEASE);
	evs_spin_unlock(&f->lock);
	if (in)
		evs_fd_pass(f, EVS_IN);
	if (out)
		evs_fd_pass(f, EVS_OUT);
	return true;
}

bool evs_fd_event(uint64_t tag, uint32_t ev)
{
	return fd_event(tag, ev, true);
}

struct evs_fd *evs_fd_by_tag(uint64_t tag)
{
	struct evs_fd *f = slot((int)(uint32_t)tag, 0);
	if (!f || __atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) != (uint32_t)(tag >> 32))
		return NULL;
	return f;
}

void evs_fd_pair(int a, int b)
{
	struct evs_fd *fa = slot(a, 1), *fb = slot(b, 1);
	if (!fa || !fb || EVS_UNLIKELY(evs_vfork_child))
		return;
	uint64_t ta = (uint64_t)__atomic_load_n(&fa->gen, __ATOMIC_ACQUIRE) << 32 | (uint32_t)a;
	uint64_t tb = (uint64_t)__atomic_load_n(&fb->gen, __ATOMIC_ACQUIRE) << 32 | (uint32_t)b;
	__atomic_store_n(&fa->peer, tb, __ATOMIC_RELAXED);
	__atomic_store_n(&fb->peer, ta, __ATOMIC_RELAXED);
}

void evs_fd_poke_peer_(struct evs_fd *f, int dir, long n)
{
	uint64_t p = __atomic_load_n(&f->peer, __ATOMIC_RELAXED);
	struct evs_fd *g = p ? slot((int)(uint32_t)p, 0) : NULL;
	if (!g)
		return;
	/* Before the wake, so the woken reader counts these bytes. Only a
	 * guess (fdtab.h): a stale tag's record just tries once more. */
	if (dir == EVS_IN && n > 0)
		__atomic_add_fetch(&g->avail, n, __ATOMIC_RELEASE);
	if (!__atomic_load_n(&g->waiters[dir].head, __ATOMIC_ACQUIRE))
		return;
	if (fd_event(p, dir == EVS_IN ? EPOLLIN : EPOLLOUT, false))
		evs_stat_add(EVS_ST_peer_wakes, 1);
}

/* Wake the first waiter of dir that is still waiting. A record whose task
 * already woke for another reason (a timeout, another fd of the same
 * poll()) holds a stale token and is skipped, so it cannot swallow the
 * event meant for the waiter behind it. */
void evs_fd_pass(struct evs_fd *f, int dir)
{
	/* Usually nobody waits behind: skip the lock. A waiter queueing after
	 * this look either took its counter snapshot after the event we pass
	 * on (and tries before it parks) or finds the counter moved and
	 * retries (invariant 2), so it cannot sleep through it. */
	if (!__atomic_load_n(&f->waiters[dir].head, __ATOMIC_ACQUIRE))
		return;
	for (;;) {
		evs_spin_lock(&f->lock);
		struct evs_link *l = evs_queue_pop(&f->waiters[dir]);
		struct evs_waiter *w = l ? evs_queue_entry(l, struct evs_waiter, link) : NULL;
		struct evs_task *t = w ? w->t : NULL;
		uint64_t tok = w ? w->token : 0;
		evs_spin_unlock(&f->lock);
		/* w may be gone (its task resumed) once the lock is dropped:
		 * only the copies are used below. */
		if (!t || evs_task_wake(t, tok, EVS_WAKE_EVENT))
			return;
	}
}

bool evs_fd_internal(int fd)
{
	return evs_poller_is_internal(fd);
}

/* fn on every record ever handed out (and the others of its group): the
 * rest are as calloc left them, and never touching them keeps their pages
 * unmapped (a fork's child, an exec: see reset_entry). */
static void each_entry(void (*fn)(struct evs_fd *f, int fd, void *arg), void *arg)
{
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct evs_fd *chunk = __atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE);
		if (!chunk)
			continue;
		for (uint64_t groups = __atomic_load_n(&used[c], __ATOMIC_ACQUIRE); groups;
		     groups &= groups - 1) {
			int g = __builtin_ctzll(groups);
			for (int i = g * EVS_FD_GROUP; i < (g + 1) * EVS_FD_GROUP; i++)
				fn(&chunk[i], (int)(c * EVS_FD_CHUNK + (size_t)i), arg);
		}
	}
}

static void forget_bit(struct evs_fd *f, int fd, void *arg)
{
	uint64_t bit = *(uint64_t *)arg;
	if (!(__atomic_load_n(&f->reg, __ATOMIC_RELAXED) & bit))
		return;
	evs_spin_lock(&f->lock);
	f->reg &= ~bit;
	evs_spin_unlock(&f->lock);
}

void evs_fdtab_forget_worker(int id)
{
	uint64_t bit = 1ULL << id;
	each_entry(forget_bit, &bit);
}

struct exec_flags { bool restore; int n; };

static void exec_flag(struct evs_fd *f, int fd, void *arg)
{
	struct exec_flags *x = arg;
	if (f->nonblock || (!f->shim_nonblock && (x->restore || f->kind != EVS_FD_SOCKET)))
		return;
	long fdfl = evs_sys_fcntl(fd, F_GETFD, 0), fl = evs_sys_fcntl(fd, F_GETFL, 0);
	if (fdfl < 0 || (fdfl & FD_CLOEXEC) || fl < 0)
		return;
	/* A listener this process never accepted on, made non-blocking by
	 * another process's shim (php-fpm's master: its forked children
	 * accept): the record shows the program's blocking view, so the
	 * flag is a shim's (rt/net.c) and goes too; noted as the shim's,
	 * it comes back if exec fails. */
	if (!f->shim_nonblock && (!(fl & O_NONBLOCK) || !evs_fd_shims_listener(f, fd)))
		return;
	evs_sys_fcntl(fd, F_SETFL, x->restore ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
	x->n++;
}

int evs_fdtab_exec_flags(bool restore)
{
	/* Listening sockets the shim made non-blocking: an exec'd program
	 * must find them as the program left them (and if exec fails, they
	 * go back to the shim's). Only those that survive exec matter. */
	struct exec_flags x = { restore, 0 };
	each_entry(exec_flag, &x);
	return x.n;
}

/* Once per program image, before its first fork: the listening sockets
 * it inherited and has not touched yet get their records now, with
 * O_NONBLOCK as the program has it. After the fork, a child's shim that
 * accepts sets O_NONBLOCK on the shared socket; a record made later
 * would take that flag for the program's, and an exec would pass it on
 * (php-fpm's second reload: the master got its listener through exec and
 * never touches it, its children accept). */
void evs_fdtab_prefork(void)
{
	static int done;
	if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
		return;
	long dfd = evs_sys6(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			    0, 0, 0);
	if (dfd < 0)
		return;
	char dents[1024];
	long len;
	while ((len = evs_sys3(SYS_getdents64, dfd, dents, sizeof(dents))) > 0) {
		for (long off = 0; off < len;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			int fd = atoi(d->d_name), on = 0;
			socklen_t l = sizeof(on);
			struct evs_fd *f = fd == dfd ? NULL : slot(fd, 1);
			if (!f || __atomic_load_n(&f->kind, __ATOMIC_ACQUIRE) != EVS_FD_UNKNOWN ||
			    evs_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &l, 0) < 0 || !on)
				continue;
			classify(f, fd);
		}
	}
	evs_sys_close((int)dfd);
}

/* Only a record with something to undo is written, and only the groups
 * of records ever handed out are read: the child shares the parent's
 * pages until it writes one, and a page the parent never touched is not
 * even mapped in the child; each first touch is a page fault (15-40 us
 * on this VM). Going through every record of the table's chunks (about
 * 45 pages each) made 90 of a fork's 180 faults under the shim (against
 * 38 natively), most of its cost. */
static void reset_entry(struct evs_fd *f, int fd, void *arg)
{
	if (!f->lock && !f->reg && !f->waiters[0].head && !f->waiters[0].tail &&
	    !f->waiters[1].head && !f->waiters[1].tail && !f->rwaiters[0].head &&
	    !f->rwaiters[0].tail && !f->rwaiters[1].head && !f->rwaiters[1].tail && !f->handin)
		return;
	f->lock = 0;
	f->reg = 0;
	f->waiters[0] = f->waiters[1] = (struct evs_queue){ 0 };
	f->rwaiters[0] = f->rwaiters[1] = (struct evs_queue){ 0 };
	f->handin = NULL;  /* its reader stayed in the parent (rt/pipe.h) */
}

void evs_fdtab_atfork_child(void)
{
	/* The child's pollers are new: nothing is registered in them. Waiters
	 * belonged to tasks that stayed in the parent. */
	each_entry(reset_entry, NULL);
}
