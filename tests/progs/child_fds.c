/* A child that makes no blocking call lists its own fds (CPython's
 * test_pass_fds_redirected: the child prints os.listdir("/proc/self/fd")
 * and the parent expects exactly 0, 1, 2 and the fds it passed). The
 * parent passes fd 5 (a pipe end moved there), forks, the child execs
 * this program with "list", and the parent waits for it (under the shim,
 * the parent's wait parks, so its runtime runs). Printed: the child's fds,
 * the one of the listing itself left out. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void list(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		perror("opendir");
		exit(1);
	}
	int self = dirfd(d);
	printf("child's fds:");
	struct dirent *e;
	int fds[64], n = 0;
	while ((e = readdir(d)) && n < 64) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd != self)
			fds[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)  /* readdir's order is the kernel's: sort */
		for (int j = i + 1; j < n; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "list")) {
		list();
		return 0;
	}
	for (int fd = 3; fd < 1024; fd++)  /* what the test harness left open */
		close(fd);
	int p[2];
	if (pipe(p) || dup2(p[1], 5) < 0)
		return 1;
	close(p[0]);
	close(p[1]);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "list", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
