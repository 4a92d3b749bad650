/* SIGXFSZ, like a pipe's SIGPIPE, is the writing thread's, and natively
 * its handler has run when the write returns: a file write past
 * RLIMIT_FSIZE (write, pwrite, a stdio flush), from main and from a
 * thread. With the argument "default", last, a write under the default
 * action, which ends the process by SIGXFSZ. argv[1]: a file to write. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static const char *path;

static void on_xfsz(int sig)
{
	got = sig;
}

static void said(const char *who, const char *what, long r)
{
	printf("%s: %-28s %ld (%s), handler saw %d\n", who, what, r, r < 0 ? strerror(errno) : "-",
	       (int)got);
	got = 0;
}

static void *run(void *who)
{
	static char buf[3000];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	said(who, "a write to the limit", (long)write(fd, buf, sizeof(buf)));
	said(who, "a write past it", (long)write(fd, buf, sizeof(buf)));
	said(who, "a pwrite past it", (long)pwrite(fd, buf, 10, 5000));
	FILE *f = fdopen(fd, "w");
	fseek(f, 0, SEEK_END);
	fputs("more", f);
	said(who, "a fflush past it", (long)fflush(f));
	fclose(f);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct rlimit rl = { 1000, 1000 };
	setrlimit(RLIMIT_FSIZE, &rl);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_xfsz;
	sigaction(SIGXFSZ, &sa, NULL);
	run("main");
	pthread_t t;
	pthread_create(&t, NULL, run, "thread");
	pthread_join(t, NULL);
	if (argc > 2) {
		signal(SIGXFSZ, SIG_DFL);
		run("default");
	}
	return 0;
}
