/* The process's only task waits on a process-shared semaphore that a
 * child posts 1.5 s later. Nothing in the waiting process can post it,
 * but another process can: that is no deadlock, and a runtime's deadlock
 * report (its task dump on stderr) would be a false one.
 *
 *   sem_wait 0, child exit 0 */
#include "common.h"
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	alarm(20);
	sem_t *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sem_init(s, 1, 0);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		usleep(1500000);  /* longer than a deadlock detector waits */
		sem_post(s);
		_exit(0);
	}
	int r = sem_wait(s);
	int st = 0;
	waitpid(c, &st, 0);
	printf("sem_wait %d, child exit %d\n", r, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
