/* A forked child that gives up root before it exits, as apache's and
 * nginx's workers do (run as root): with EVSHIM_STATS=FILE, the child
 * cannot open the file its root parent created, and its report was lost
 * (it went to the child's stderr). Prints what each side did. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t p = fork();
	if (p == 0) {
		if (setgid(65534) || setuid(65534)) {
			perror("setuid");
			_exit(1);
		}
		printf("child: uid %d\n", (int)getuid());
		exit(0);
	}
	int st = 0;
	waitpid(p, &st, 0);
	printf("parent: child exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
