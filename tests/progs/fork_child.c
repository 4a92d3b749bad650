/* fork() from a program with threads: the child has only the forking
 * thread, and can sleep, make threads and use pipes; the parent's threads
 * go on. popen() and system() run a command. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int p[2];
static void *sleeper(void *x) { usleep(50000); return x; }
static void *writer(void *x)
{
	(void)x;
	usleep(20000);
	write(p[1], "from a thread of the child", 26);
	return NULL;
}

static void *forker(void *x)
{
	(void)x;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		char buf[64] = { 0 };
		pipe(p);
		pthread_create(&t, NULL, writer, NULL);
		read(p[0], buf, sizeof(buf) - 1);  /* blocks until the thread writes */
		pthread_join(t, NULL);
		usleep(10000);
		printf("child: got \"%s\"\n", buf);
		exit(5);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("parent: child exited with %d\n", WEXITSTATUS(st));
	return NULL;
}

int main(void)
{
	pthread_t s[3], f;
	for (int i = 0; i < 3; i++)
		pthread_create(&s[i], NULL, sleeper, NULL);
	pthread_create(&f, NULL, forker, NULL);  /* fork from a non-main thread */
	pthread_join(f, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(s[i], NULL);
	printf("parent: threads joined\n");
	fflush(stdout);
	FILE *cmd = popen("echo popen works", "r");
	char line[64] = { 0 };
	if (cmd && fgets(line, sizeof(line), cmd))
		printf("%s", line);
	if (cmd)
		printf("pclose: %d\n", pclose(cmd));
	fflush(stdout);
	printf("system: %d\n", system("exit 3") >> 8);
	return 0;
}
