/* lockf(F_LOCK) waiting for a region another process holds, ended by a
 * SIGALRM whose handler has no SA_RESTART: EINTR, as natively. glibc's
 * lockf makes its fcntl(F_SETLKW) inside libc, so the shim's fcntl hook
 * never saw it: the wait was the kernel's, and the alarm, taken inside
 * the runtime, was only noted and never handled; the wait went on for
 * good (stress-ng --lockf hung until killed). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

int main(void)
{
	char path[] = "/tmp/lockf_signal.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 4096)) {
		perror("mkstemp");
		return 1;
	}
	unlink(path);
	int ready[2];
	if (pipe(ready))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {  /* holds the first 4 KiB until killed */
		if (lockf(fd, F_LOCK, 4096))
			_exit(2);
		(void)!write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	char c;
	if (read(ready[0], &c, 1) != 1)
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;  /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	int r = lockf(fd, F_LOCK, 4096);
	int e = errno;
	printf("lockf(F_LOCK) on a held region: returned %d (%s), alarm handler ran %d time(s)\n",
	       r, r ? strerror(e) : "ok", alarms);
	r = lockf(fd, F_TLOCK, 4096);
	e = errno;
	printf("lockf(F_TLOCK): returned %d (%s)\n", r,
	       r ? (e == EACCES || e == EAGAIN ? "held elsewhere" : strerror(e)) : "ok");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	r = lockf(fd, F_LOCK, 4096);
	printf("lockf(F_LOCK) once the holder died: returned %d\n", r);
	r = lockf(fd, F_TEST, 4096);
	printf("lockf(F_TEST) on our own lock: returned %d\n", r);
	return 0;
}
