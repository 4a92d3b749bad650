/* The SIGPIPE a write to a pipe with no reader raises is the writing
 * thread's, and natively its handler has run when the write returns
 * (the kernel runs it on the way out of the system call). GNU sort's
 * handler resets SIGPIPE to the default and raises it: natively `seq |
 * sort | head -1` ends sort silently by SIGPIPE; under the shim the
 * signal came while the write was inside the runtime (or inside glibc's
 * stdio, called from the shim's hook), was only noted, and sort printed
 * "write failed: Broken pipe" and exited 2 first.
 *
 * Each case writes to a pipe whose read end is closed and prints what the
 * write returned and whether the handler had run by then; a thread that
 * blocks SIGPIPE keeps it pending for itself (no other thread takes it).
 * Last, the handler does what sort's does: the process ends by SIGPIPE. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static volatile sig_atomic_t ran;
static volatile int fatal;

static void on_pipe(int sig)
{
	ran++;
	if (fatal) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

static int broken(void)
{
	int p[2];
	if (pipe(p))
		return -1;
	close(p[0]);
	return p[1];
}

static void report(const char *what, long r, int err)
{
	printf("%-36s returned %ld (%s); handler ran %d time(s) by then\n", what, r,
	       r < 0 ? strerror(err) : "-", (int)ran);
	ran = 0;
}

static void *blocked_writer(void *x)
{
	(void)x;
	sigset_t s, pend;
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	int fd = broken();
	long r = write(fd, "x", 1);
	int err = errno;
	sigpending(&pend);
	printf("a thread blocking SIGPIPE: write returned %ld (%s); pending for it: %s\n", r,
	       strerror(err), sigismember(&pend, SIGPIPE) ? "yes" : "no");
	/* taken here, by sigwait: no other thread had it */
	int sig = 0;
	sigwait(&s, &sig);
	printf("  sigwait in that thread took signal %d\n", sig);
	close(fd);
	return NULL;
}

static void *writer(void *x)
{
	(void)x;
	int fd = broken();
	long r = write(fd, "y", 1);
	report("a thread's write", r, errno);
	close(fd);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_pipe;
	sigaction(SIGPIPE, &sa, NULL);

	int fd = broken();
	long r = write(fd, "x", 1);
	report("write", r, errno);
	struct iovec v[2] = { { (void *)"a", 1 }, { (void *)"b", 1 } };
	r = writev(fd, v, 2);
	report("writev", r, errno);
	close(fd);

	FILE *f = fdopen(broken(), "w");
	fputs("hello\n", f);
	r = fflush(f);
	report("fputs, then fflush", r, errno);
	static char big[100000];
	/* how many items it says went in differs (docs/differences.md) */
	(void)fwrite(big, 1, sizeof(big), f);
	printf("%-36s error flag %s; handler ran %d time(s) by then\n", "fwrite of 100000 bytes",
	       ferror(f) ? "set" : "clear", (int)ran);
	ran = 0;
	r = fprintf(f, "%s\n", "line");
	r = fflush(f);
	report("fprintf, then fflush", r, errno);
	r = fputc('z', f) == EOF ? -1 : 0;
	r = fflush(f);
	report("fputc, then fflush", r, errno);
	fclose(f);
	ran = 0;

	pthread_t t;
	pthread_create(&t, NULL, writer, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, blocked_writer, NULL);
	pthread_join(t, NULL);
	printf("the main thread's handler ran %d time(s) meanwhile\n", (int)ran);

	/* sort's handler: back to the default, raised again */
	fatal = 1;
	f = fdopen(broken(), "w");
	fputs("the end\n", f);
	fflush(f);
	printf("still running after the fatal SIGPIPE\n");
	return 0;
}
