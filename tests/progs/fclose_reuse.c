/* fclose and pclose close their fd inside glibc (not through close()),
 * and popen makes its pipe inside glibc too. A pipe FILE that a task
 * waited on, closed that way, gives its number to the next popen's pipe;
 * a wait on the new pipe must still end when data comes. PostgreSQL's
 * initdb: popen of the bootstrap backend, fputs into it, pclose, then a
 * second popen whose pipe got the same number; its fflush into the new
 * pipe waited for good under a runtime that took the number for the one
 * it had watched (the empty pipe never "became" writable).
 *
 *   fdopen: fgets on a pipe a thread writes to 20 ms later, fclose; then
 *           a popen (same number) and fgets of its child's line
 *   popen:  fgets of a child's line written after 50 ms, pclose (its
 *           status); the same with the next popen
 * An alarm of 10 s ends a hung run. */
#include "common.h"
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int wfd;
static void *late_writer(void *arg)
{
	(void)arg;
	sleep_ms(20);
	if (write(wfd, "line\n", 5) != 5)
		return NULL;
	return NULL;
}

/* popen of a child that prints its line 50 ms late, fgets, pclose;
 * returns the pipe's number. */
static int read_popen(const char *name, const char *cmd)
{
	FILE *fp = popen(cmd, "r");
	if (!fp)
		return -1;
	int fd = fileno(fp);
	char line[64];
	char *s = fgets(line, sizeof(line), fp);
	printf("%s: fgets %s", name, s ? s : "NULL\n");
	int st = pclose(fp);
	printf("%s: pclose exited %d status %d\n", name, WIFEXITED(st), WEXITSTATUS(st));
	return fd;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(10);

	int p[2];
	if (pipe(p))
		return 1;
	FILE *fp = fdopen(p[0], "r");
	wfd = p[1];
	pthread_t t;
	pthread_create(&t, NULL, late_writer, NULL);
	char line[64];
	char *s = fgets(line, sizeof(line), fp);
	pthread_join(t, NULL);
	printf("fdopen: fgets %s", s ? s : "NULL\n");
	int old = p[0];
	printf("fdopen: fclose %d\n", fclose(fp));
	close(p[1]);
	int again = read_popen("then popen", "sleep 0.05; echo one");
	printf("fdopen: popen's pipe has the same number: %s\n", again == old ? "yes" : "no");

	old = read_popen("popen", "sleep 0.05; echo two; exit 3");
	again = read_popen("next popen", "sleep 0.05; echo three");
	printf("popen: the next popen's pipe has the same number: %s\n", again == old ? "yes" : "no");
	return 0;
}
