/* A signal handler interrupting a blocked call, with and without
 * SA_RESTART, as signal(7) lists it. For each call: the main thread blocks
 * SIGALRM, a second thread unblocks it and makes the blocking call, and a
 * timer (setitimer, process-directed SIGALRM) fires 30 ms later, so only
 * that thread can take it. A third thread completes the call 120 ms after
 * the handler ran (writes a byte, connects, posts...) so a restarted call
 * returns too.
 * Printed: what the call returned, whether the handler ran on the calling
 * thread, and for sleeps the time left. Run with no argument for every
 * case; argument: one case name. */
#include <arpa/inet.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static pthread_t caller;
static volatile int handler_on_caller;

static void on_alarm(int sig)
{
	(void)sig;
	handled++;
	handler_on_caller = pthread_equal(pthread_self(), caller);
}

static int p[2], lfd, port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cv_flag;
static sem_t sem;
static unsigned fword;
static pthread_t joinee;
static pid_t child;

static const char *err_name(int e)
{
	switch (e) {
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case 0: return "0";
	default: return strerror(e);
	}
}

static void ms_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Waits until the handler has run (at most 3 s), then ms more: what
 * completes a call comes after the signal however slow the machine. */
static void after_handler(int ms)
{
	for (int i = 0; i < 3000 && !handled; i++)
		ms_sleep(1);
	ms_sleep(ms);
}

/* The completer: undoes the block 120 ms after the signal, whatever the
 * case. */
static const char *cur_case;
static void *completer(void *x)
{
	(void)x;
	after_handler(120);
	const char *c = cur_case;
	if (!strcmp(c, "read") || !strcmp(c, "poll") || !strcmp(c, "select") || !strcmp(c, "recv_timeo"))
		(void)!write(p[1], "x", 1);
	else if (!strcmp(c, "accept")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		connect(s, (struct sockaddr *)&a, sizeof(a));
		ms_sleep(200);
		close(s);
	} else if (!strcmp(c, "cond")) {
		pthread_mutex_lock(&mu);
		cv_flag = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	} else if (!strcmp(c, "sem") || !strcmp(c, "sem_timed")) {
		sem_post(&sem);
	} else if (!strcmp(c, "futex") || !strcmp(c, "futex_timed")) {
		__atomic_store_n(&fword, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	} else if (!strcmp(c, "mutex")) {
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *joinee_fn(void *x)
{
	(void)x;
	after_handler(120);
	return (void *)42;
}

static void report(long r, int e, const char *extra)
{
	printf("returned %ld%s%s, handler ran %d time(s)%s%s\n", r, r < 0 ? " " : "",
	       r < 0 ? err_name(e) : "", handled,
	       handled ? (handler_on_caller ? " on the caller" : " ON ANOTHER THREAD") : "",
	       extra);
}

static void *caller_fn(void *x)
{
	const char *c = x;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	struct itimerval it = { .it_value = { 0, 30000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	long r = 0;
	int e = 0;
	char buf[64] = "";
	char extra[64] = "";
	if (!strcmp(c, "read")) {
		r = read(p[0], buf, 1);
	} else if (!strcmp(c, "recv_timeo")) {
		struct timeval tv = { 2, 0 };
		int sv[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		r = recv(sv[0], buf, 1, 0);
		e = errno;
		close(sv[0]);
		close(sv[1]);
		errno = e;
	} else if (!strcmp(c, "accept")) {
		r = accept(lfd, NULL, NULL);
		if (r >= 0)
			close((int)r), r = 0;
	} else if (!strcmp(c, "poll")) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		r = poll(&pf, 1, 2000);
	} else if (!strcmp(c, "select")) {
		fd_set rs;
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		struct timeval tv = { 2, 0 };
		r = select(p[0] + 1, &rs, NULL, NULL, &tv);
	} else if (!strcmp(c, "nanosleep")) {
		struct timespec req = { 1, 0 }, rem = { 0, 0 };
		r = nanosleep(&req, &rem);
		snprintf(extra, sizeof(extra), ", rem %s", rem.tv_sec == 0 && rem.tv_nsec > 800000000 ? "about 0.97 s" : "other");
	} else if (!strcmp(c, "sleep")) {
		r = sleep(2);  /* returns the seconds left */
	} else if (!strcmp(c, "usleep")) {
		r = usleep(500000);
	} else if (!strcmp(c, "cond")) {
		pthread_mutex_lock(&mu);
		while (!cv_flag) {
			int rr = pthread_cond_wait(&cv, &mu);
			if (rr) {
				r = -1;
				errno = rr;
				break;
			}
		}
		pthread_mutex_unlock(&mu);
	} else if (!strcmp(c, "sem")) {
		r = sem_wait(&sem);
	} else if (!strcmp(c, "futex") || !strcmp(c, "futex_timed")) {
		/* a raw FUTEX_WAIT_BITSET: untimed it restarts with SA_RESTART,
		 * with an absolute timeout the kernel ends it with EINTR */
		struct timespec abs;
		clock_gettime(CLOCK_MONOTONIC, &abs);
		abs.tv_sec += 5;
		__atomic_store_n(&fword, 0, __ATOMIC_SEQ_CST);
		do
			r = syscall(SYS_futex, &fword, FUTEX_WAIT_BITSET_PRIVATE, 0,
				    strcmp(c, "futex") ? &abs : NULL, NULL, FUTEX_BITSET_MATCH_ANY);
		while (r == -1 && errno == EAGAIN && !__atomic_load_n(&fword, __ATOMIC_SEQ_CST));
		if (r == -1 && errno == EAGAIN)
			r = 0;  /* woken before it slept: the word had changed */
	} else if (!strcmp(c, "sem_timed")) {
		/* EINTR even with SA_RESTART: the kernel cannot restart a
		 * futex wait with an absolute timeout */
		struct timespec abs;
		clock_gettime(CLOCK_REALTIME, &abs);
		abs.tv_sec += 5;
		r = sem_timedwait(&sem, &abs);
	} else if (!strcmp(c, "mutex")) {
		r = pthread_mutex_lock(&mu);  /* held by main until the completer unlocks */
		if (r == 0)
			pthread_mutex_unlock(&mu);
	} else if (!strcmp(c, "join")) {
		void *v;
		r = pthread_join(joinee, &v);
		if (r == 0)
			r = (long)v;
	} else if (!strcmp(c, "waitpid")) {
		int st;
		r = waitpid(child, &st, 0);
		if (r == child)
			r = WEXITSTATUS(st);
	} else if (!strcmp(c, "pause")) {
		r = pause();
	} else if (!strcmp(c, "sigsuspend")) {
		sigset_t none;
		sigemptyset(&none);
		r = sigsuspend(&none);
	}
	e = errno;
	report(r, e, extra);
	return NULL;
}

static int listener(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(s, (struct sockaddr *)&a, sizeof(a));
	listen(s, 8);
	socklen_t al = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	return s;
}

static void run(const char *c, int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	handled = 0;
	handler_on_caller = 0;
	cur_case = c;
	cv_flag = 0;
	pipe(p);
	lfd = listener();
	sem_init(&sem, 0, 0);
	if (!strcmp(c, "mutex"))
		pthread_mutex_lock(&mu);
	if (!strcmp(c, "join"))
		pthread_create(&joinee, NULL, joinee_fn, NULL);
	if (!strcmp(c, "waitpid")) {
		child = fork();
		if (child == 0) {
			ms_sleep(150);
			_exit(7);
		}
	}
	printf("%s, %s: ", c, restart ? "SA_RESTART" : "no SA_RESTART");
	fflush(stdout);
	pthread_t comp;
	pthread_create(&caller, NULL, caller_fn, (void *)c);
	int completes = strcmp(c, "nanosleep") && strcmp(c, "sleep") && strcmp(c, "usleep") &&
			strcmp(c, "pause") && strcmp(c, "sigsuspend") && strcmp(c, "join") &&
			strcmp(c, "waitpid");
	if (completes)
		pthread_create(&comp, NULL, completer, NULL);
	pthread_join(caller, NULL);
	if (completes)
		pthread_join(comp, NULL);
	/* No timer or SIGALRM left over for the next case. */
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&s, NULL, &zero) > 0)
		;
	close(p[0]);
	close(p[1]);
	close(lfd);
	sem_destroy(&sem);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);  /* only the caller takes SIGALRM */
	static const char *cases[] = { "read", "recv_timeo", "accept", "poll", "select",
				       "nanosleep", "sleep", "usleep", "cond", "sem", "sem_timed", "futex",
				       "futex_timed", "mutex",
				       "join", "waitpid", "pause", "sigsuspend" };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc > 1 && strcmp(argv[1], cases[i]))
			continue;
		for (int restart = 0; restart < 2; restart++)
			run(cases[i], restart);
	}
	return 0;
}
