/* Signal behaviours a server relies on, one per argument:
 *   kill_parked  pthread_kill of a thread blocked in read: its handler runs
 *                on it and the read fails with EINTR (no SA_RESTART)
 *   sigwait      the classic layout: every thread blocks SIGUSR1, SIGUSR2
 *                and SIGTERM; one thread takes them with sigwait while the
 *                others keep working; kill() sends them to the process
 *   raise        raise() from a thread: the handler has run, on that
 *                thread, when raise returns
 *   queue        sigqueue to the process: SA_SIGINFO sees the value
 *   stop_server  a handler without SA_RESTART sets a flag; the main
 *                thread's accept fails with EINTR and the server stops
 *   exec_mask    a thread blocks SIGUSR1 (main does not): a child it
 *                starts with posix_spawn, and one with fork+exec, start
 *                with SIGUSR1 blocked (the thread's mask), as natively
 *   reset_write  a 64 MiB blocking write to a peer that resets after
 *                reading 1 MiB: a partial count, then ECONNRESET, then
 *                EPIPE (SIGPIPE ignored)
 *   reset_nosig  the same without ignoring SIGPIPE, in a child: it lives
 *                through the partial write and ECONNRESET, and dies of
 *                SIGPIPE at the write that gets EPIPE
 *   waitpid      a thread waits for a child that exits 300 ms later while
 *                another thread keeps echoing on a socket pair: the echo
 *                answers during the wait
 *   pause_timer  after a thread has come and gone, setitimer(300 ms) and
 *                pause(), then the same with pause made as a bare system
 *                call: each returns when the timer's handler has run, not
 *                sooner (the runtime's own signal must not cut it short)
 *   sigpipe      a write to a pipe with no reader, SIGPIPE not ignored,
 *                from a thread: the process dies of SIGPIPE */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

extern char **environ;
static pthread_t target;
static volatile sig_atomic_t hits, on_target, stop;
static volatile int got_value;

static void on_sig(int sig)
{
	(void)sig;
	hits++;
	on_target = pthread_equal(pthread_self(), target);
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	hits++;
	got_value = si->si_value.sival_int;
}

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int p[2];
static void *reader(void *x)
{
	(void)x;
	char c;
	ssize_t r = read(p[0], &c, 1);
	printf("blocked read returned %zd %s; handler ran %d time(s) %s\n", r,
	       r < 0 && errno == EINTR ? "EINTR" : "", (int)hits,
	       on_target ? "on that thread" : "ELSEWHERE");
	return NULL;
}

static void kill_parked(void)
{
	handle(SIGUSR1, on_sig, 0);
	pipe(p);
	pthread_create(&target, NULL, reader, NULL);
	sleep_ms(50);
	pthread_kill(target, SIGUSR1);
	pthread_join(target, NULL);
}

static sigset_t waited;
static void *waiter(void *x)
{
	(void)x;
	for (int i = 0; i < 3; i++) {
		int sig = 0;
		sigwait(&waited, &sig);
		printf("sigwait took %s\n", sig == SIGUSR1 ? "SIGUSR1" : sig == SIGUSR2 ? "SIGUSR2" :
					     sig == SIGTERM ? "SIGTERM" : "something else");
		if (sig == SIGTERM)
			break;
	}
	return NULL;
}

static int work_done;
static void *worker(void *x)
{
	(void)x;
	for (int i = 0; i < 30; i++) {
		sleep_ms(2);
		work_done++;
	}
	return NULL;
}

static void sigwait_case(void)
{
	sigemptyset(&waited);
	sigaddset(&waited, SIGUSR1);
	sigaddset(&waited, SIGUSR2);
	sigaddset(&waited, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &waited, NULL);  /* inherited by every thread */
	pthread_t w, k;
	pthread_create(&w, NULL, waiter, NULL);
	pthread_create(&k, NULL, worker, NULL);
	sleep_ms(20);
	kill(getpid(), SIGUSR1);
	sleep_ms(20);
	kill(getpid(), SIGUSR2);
	sleep_ms(20);
	kill(getpid(), SIGTERM);
	pthread_join(w, NULL);
	pthread_join(k, NULL);
	printf("the worker went on meanwhile: %d rounds\n", work_done);
}

static void *raiser(void *x)
{
	(void)x;
	target = pthread_self();
	raise(SIGUSR2);
	printf("after raise: handler ran %d time(s) %s\n", (int)hits,
	       on_target ? "on the raising thread" : "ELSEWHERE");
	return NULL;
}

static void raise_case(void)
{
	handle(SIGUSR2, on_sig, 0);
	pthread_t t;
	pthread_create(&t, NULL, raiser, NULL);
	pthread_join(t, NULL);
}

static void *queue_waiter(void *x)
{
	(void)x;
	while (!hits)
		sleep_ms(1);
	return NULL;
}

static void queue_case(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, queue_waiter, NULL);
	union sigval v = { .sival_int = 4242 };
	sigqueue(getpid(), SIGRTMIN + 1, v);
	pthread_join(t, NULL);
	printf("SA_SIGINFO handler saw value %d\n", got_value);
}

static void *client(void *x)
{
	int port = (int)(long)x;
	for (int i = 0; i < 3; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
			char c;
			(void)!write(s, "?", 1);
			(void)!read(s, &c, 1);
		}
		close(s);
	}
	sleep_ms(30);
	kill(getpid(), SIGTERM);  /* "shut down" */
	return NULL;
}

static void stop_server(void)
{
	handle(SIGTERM, on_stop, 0);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 8);
	socklen_t al = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &al);
	pthread_t c;
	pthread_create(&c, NULL, client, (void *)(long)ntohs(a.sin_port));
	int served = 0;
	while (!stop) {
		int s = accept(l, NULL, NULL);
		if (s < 0) {
			printf("accept: %s, stop flag %d\n", errno == EINTR ? "EINTR" : strerror(errno),
			       (int)stop);
			continue;
		}
		char ch;
		if (read(s, &ch, 1) == 1)
			(void)!write(s, "!", 1);
		close(s);
		served++;
	}
	pthread_join(c, NULL);
	printf("served %d, stopped cleanly\n", served);
}

static void show_child_mask(const char *how)
{
	/* the child prints its own blocked set; SIGUSR1 is bit 0x200 */
	char *argv[] = { "grep", "SigBlk", "/proc/self/status", NULL };
	int pp[2];
	pipe(pp);
	pid_t pid;
	if (!strcmp(how, "posix_spawn")) {
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
		posix_spawn(&pid, "/bin/grep", &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	} else {
		pid = fork();
		if (pid == 0) {
			dup2(pp[1], 1);
			execv("/bin/grep", argv);
			_exit(127);
		}
	}
	close(pp[1]);
	char buf[128] = "";
	ssize_t n = read(pp[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(pp[0]);
	waitpid(pid, NULL, 0);
	unsigned long long blk = strtoull(strchr(buf, ':') ? strchr(buf, ':') + 1 : "0", NULL, 16);
	printf("%s child: SIGUSR1 %s, SIGUSR2 %s\n", how, blk & (1ULL << (SIGUSR1 - 1)) ? "blocked" : "not blocked",
	       blk & (1ULL << (SIGUSR2 - 1)) ? "blocked" : "not blocked");
}

static void *masked_spawner(void *x)
{
	(void)x;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	show_child_mask("posix_spawn");
	show_child_mask("fork+exec");
	return NULL;
}

static void exec_mask(void)
{
	pthread_t t;
	pthread_create(&t, NULL, masked_spawner, NULL);
	pthread_join(t, NULL);
}

static void *resetter(void *x)
{
	int s = (int)(long)x;
	static char buf[65536];
	size_t got = 0;
	while (got < (1 << 20)) {
		ssize_t r = read(s, buf, sizeof(buf));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	struct linger lg = { 1, 0 };  /* close with a reset */
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s);
	return NULL;
}

static const char *err(ssize_t r)
{
	static char b[64];
	if (r >= 0)
		snprintf(b, sizeof(b), "a count (%s)", r == (64 << 20) ? "all of it" : "partial");
	else
		snprintf(b, sizeof(b), "-1 %s", errno == ECONNRESET ? "ECONNRESET" : errno == EPIPE ? "EPIPE" : strerror(errno));
	return b;
}

static void reset_write(int ignore)
{
	if (ignore)
		signal(SIGPIPE, SIG_IGN);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 1);
	socklen_t al = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &al);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	int s = accept(l, NULL, NULL);
	pthread_t t;
	pthread_create(&t, NULL, resetter, (void *)(long)s);
	char *big = calloc(1, 64 << 20);
	ssize_t r = write(c, big, 64 << 20);
	printf("write 1: %s\n", err(r));
	pthread_join(t, NULL);
	sleep_ms(20);
	r = write(c, big, 1000);
	printf("write 2: %s\n", err(r));
	r = write(c, big, 1000);
	printf("write 3: %s\n", err(r));
	free(big);
}

static volatile int waiting_child, echoes_during;
static void *echoer(void *x)
{
	int s = (int)(long)x;
	char c;
	while (read(s, &c, 1) == 1) {
		if (waiting_child)
			echoes_during++;
		(void)!write(s, &c, 1);
	}
	return NULL;
}

static void *child_waiter(void *x)
{
	(void)x;
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(300);
		_exit(5);
	}
	waiting_child = 1;
	int st;
	pid_t r = waitpid(pid, &st, 0);
	waiting_child = 0;
	printf("waitpid reaped %s, exit %d\n", r == pid ? "the child" : "NOTHING",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return NULL;
}

static void waitpid_case(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_t e, w;
	pthread_create(&e, NULL, echoer, (void *)(long)sv[1]);
	pthread_create(&w, NULL, child_waiter, NULL);
	sleep_ms(50);
	for (int i = 0; i < 20; i++) {  /* pings while the child lives */
		char c = 'x';
		(void)!write(sv[0], &c, 1);
		(void)!read(sv[0], &c, 1);
		sleep_ms(5);
	}
	pthread_join(w, NULL);
	shutdown(sv[0], SHUT_WR);
	pthread_join(e, NULL);
	printf("the echo answered during the wait: %s\n", echoes_during > 0 ? "yes" : "no");
}

static void *nothing(void *x)
{
	return x;
}

static long inline_pause(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(34L /* SYS_pause */) : "rcx", "r11", "memory");
	return ret;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_timer(void)
{
	handle(SIGALRM, on_sig, 0);
	pthread_t t;
	pthread_create(&t, NULL, nothing, NULL);
	pthread_join(t, NULL);
	for (int raw = 0; raw < 2; raw++) {
		hits = 0;
		struct itimerval it = { .it_value = { 0, 300000 } };
		double t0 = now_s();
		setitimer(ITIMER_REAL, &it, NULL);
		long r = raw ? inline_pause() : pause();
		int e = raw ? (int)-r : errno;
		double dt = now_s() - t0;
		printf("%s: returned %s, handler ran %d time(s), after 0.3 s or more: %s\n",
		       raw ? "pause as a bare system call" : "pause()",
		       (r == -1 || r == -EINTR) && e == EINTR ? "EINTR" : "something else",
		       (int)hits, dt >= 0.29 ? "yes" : "NO");
	}
}

static void *pipe_writer(void *x)
{
	(void)x;
	int pp[2];
	pipe(pp);
	close(pp[0]);
	(void)!write(pp[1], "x", 1);
	printf("survived the write\n");
	return NULL;
}

static void sigpipe_case(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, pipe_writer, NULL);
		pthread_join(t, NULL);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE ? "died of SIGPIPE" :
			     WIFEXITED(st) ? "exited" : "ended otherwise");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "kill_parked"))
		kill_parked();
	else if (!strcmp(c, "sigwait"))
		sigwait_case();
	else if (!strcmp(c, "raise"))
		raise_case();
	else if (!strcmp(c, "queue"))
		queue_case();
	else if (!strcmp(c, "stop_server"))
		stop_server();
	else if (!strcmp(c, "exec_mask"))
		exec_mask();
	else if (!strcmp(c, "reset_write"))
		reset_write(1);
	else if (!strcmp(c, "reset_nosig")) {
		pid_t pid = fork();
		if (pid == 0) {
			reset_write(0);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		printf("child %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE ? "died of SIGPIPE" :
				     WIFEXITED(st) ? "exited" : "ended otherwise");
	}
	else if (!strcmp(c, "pause_timer"))
		pause_timer();
	else if (!strcmp(c, "waitpid"))
		waitpid_case();
	else if (!strcmp(c, "sigpipe"))
		sigpipe_case();
	else
		return 2;
	return 0;
}
