/* Children started with vfork and posix_spawn from threads, while other
 * threads keep working. The vfork child does what CPython's subprocess
 * child does before exec (open /proc/self/fd to close fds, dup2, an
 * open that misses the dentry cache...); then it execs, or _exits on
 * failure. Printed: every child's output and status, in order, and that
 * the parent's threads, pipes and sleeps still work afterwards. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void run_child(int id, int use_vfork)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	char arg[32];
	snprintf(arg, sizeof(arg), "child %d says hello", id);
	pid_t pid;
	if (use_vfork) {
		pid = vfork();
		if (pid == 0) {
			/* CPython's close-fds fallback and friends: the
			 * /proc/self/fd lookup misses the dentry cache, so
			 * under the shim this open would go to a backend */
			int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
			if (dfd >= 0)
				close(dfd);
			DIR *d = opendir("/proc/self/fd");
			if (d)
				closedir(d);
			int fd = open("/etc/hostname", O_RDONLY);
			if (fd >= 0)
				close(fd);
			dup2(p[1], 1);
			close(p[0]);
			char *argv[] = { "/bin/echo", arg, NULL };
			execve("/bin/echo", argv, environ);
			_exit(127);
		}
	} else {
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_addclose(&fa, p[0]);
		char *argv[] = { "echo", arg, NULL };
		if (posix_spawnp(&pid, "echo", &fa, NULL, argv, environ) != 0)
			pid = -1;
		posix_spawn_file_actions_destroy(&fa);
	}
	close(p[1]);
	char buf[128] = "";
	ssize_t n = 0, r;
	while ((r = read(p[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	buf[n > 0 ? n : 0] = 0;
	close(p[0]);
	int st = 0;
	pid_t w = pid > 0 ? waitpid(pid, &st, 0) : -1;
	pthread_mutex_lock(&out_mu);
	printf("%s %d: %s", use_vfork ? "vfork" : "posix_spawn", id, buf);
	printf("  reaped %s, exit %d\n", w == pid ? "the child" : "NOTHING",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pthread_mutex_unlock(&out_mu);
}

static void *spawner(void *x)
{
	long id = (long)x;
	for (int i = 0; i < 5; i++)
		run_child((int)id * 10 + i, (id + i) % 2);
	return NULL;
}

static int ticks;
static void *ticker(void *x)
{
	(void)x;
	for (int i = 0; i < 20; i++) {
		usleep(2000);
		ticks++;
	}
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t s[3], t;
	run_child(100, 1);  /* before any thread: the runtime has not started */
	pthread_create(&t, NULL, ticker, NULL);
	/* one after the other, so the output's order is fixed */
	for (long i = 0; i < 3; i++) {
		pthread_create(&s[i], NULL, spawner, (void *)i);
		pthread_join(s[i], NULL);
	}
	pthread_join(t, NULL);
	int p[2];
	pipe(p);
	write(p[1], "ok", 2);
	char b[3] = "";
	read(p[0], b, 2);
	printf("afterwards: ticker ticked %d times, pipe says %s\n", ticks, b);
	return 0;
}
