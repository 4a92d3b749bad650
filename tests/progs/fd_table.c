/* Starts the runtime (a thread that sleeps, joined), then prints the size
 * of the kernel's fd table (FDSize in /proc/self/status) and forks a child
 * that prints it too. Each fork copies that table up to the highest open
 * fd: the runtime's own fds once lived just below the raised open-files
 * limit (a table of 32,768 slots at a limit of 20,000; a vfork + wait then
 * cost 5x natively). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *nap(void *p)
{
	usleep(1000);
	return p;
}

static long fdsize(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long n = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "FDSize:", 7))
			sscanf(line + 7, "%ld", &n);
	if (f)
		fclose(f);
	return n;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, nap, NULL);
	pthread_join(t, NULL);
	printf("parent fdsize %ld\n", fdsize());
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		printf("child fdsize %ld\n", fdsize());
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return WEXITSTATUS(st);
}
