/* A fault handler installed with SA_RESETHAND that reports and returns:
 * the faulting instruction runs again with the default action, and the
 * process ends by SIGSEGV (rustc's handler, "rustc interrupted by SIGSEGV,
 * printing backtrace", works so; under the shim it ran again at every
 * retry, printing without end). The fault happens in a thread. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int *volatile nowhere;

static void on_segv(int sig)
{
	static const char msg[] = "handler ran\n";
	(void)sig;
	write(1, msg, sizeof(msg) - 1);
}

static void *faulter(void *arg)
{
	(void)arg;
	*nowhere = 1;
	write(1, "not reached\n", 12);
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	printf("installed\n");
	fflush(stdout);
	pthread_t th;
	pthread_create(&th, NULL, faulter, NULL);
	pthread_join(th, NULL);
	return 0;
}
