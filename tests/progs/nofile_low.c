/* A process that lowers its open-files limit to 0 and then waits on fds it
 * already has (vsftpd's unprivileged session process: chroot, RLIMIT_NOFILE
 * 0, setuid, then reads and writes its socket). Natively the waits need no
 * new fd. Twice: the program itself before it ever waits, and a child
 * forked from a thread while the parent's runtime runs. Each reads a
 * pipe another process writes 30 ms later, sleeps, writes back. Then the
 * same with RLIMIT_NPROC 0 (vsftpd's logged-in session process), whose
 * fd 2 is its stdout as vsftpd's is its client's socket; run as root, it
 * becomes nobody first (root is not held to RLIMIT_NPROC). Printed: what
 * each got, the child's exit status. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int confined_echo(int in, int out, const char *who, int res)
{
	struct rlimit rl = { 0, 0 };
	if (setrlimit(res, &rl) < 0)
		return perror("setrlimit"), 1;
	if (res == RLIMIT_NPROC && getuid() == 0 && setuid(65534) < 0)
		return perror("setuid"), 1;
	char buf[32] = { 0 };
	ssize_t n = read(in, buf, sizeof(buf) - 1);  /* blocks: written 30 ms later */
	usleep(10000);
	int p[2];
	int e = pipe(p) < 0 ? errno : 0;
	printf("%s: read %zd \"%s\", a new pipe: %s\n", who, n, buf, strerror(e));
	fflush(stdout);
	return write(out, "back", 4) == 4 ? 0 : 1;
}

static void *forker(void *x)
{
	int res = x ? RLIMIT_NPROC : RLIMIT_NOFILE;
	int a[2], b[2];
	pipe(a);
	pipe(b);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (res == RLIMIT_NPROC)
			dup2(1, 2);
		_exit(confined_echo(a[0], b[1], res == RLIMIT_NPROC ? "nproc child" : "child", res));
	}
	usleep(30000);
	write(a[1], "to the child", 12);
	char buf[8] = { 0 };
	read(b[0], buf, sizeof(buf) - 1);
	int st;
	waitpid(pid, &st, 0);
	printf("parent: got \"%s\", child exited with %d\n", buf, WEXITSTATUS(st));
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, forker, NULL);  /* the runtime runs in the parent */
	pthread_join(t, NULL);
	pthread_create(&t, NULL, forker, (void *)1);
	pthread_join(t, NULL);
	int a[2], b[2];
	pipe(a);
	pipe(b);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {  /* the parent's part, in a helper process */
		usleep(30000);
		write(a[1], "to main", 7);
		char buf[8] = { 0 };
		read(b[0], buf, sizeof(buf) - 1);
		printf("helper: got \"%s\"\n", buf);
		fflush(stdout);
		_exit(0);
	}
	int r = confined_echo(a[0], b[1], "main", RLIMIT_NOFILE);
	int st;
	waitpid(pid, &st, 0);
	return r;
}
