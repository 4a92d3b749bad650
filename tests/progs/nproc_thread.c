/* pthread_create held to RLIMIT_NPROC (GLib's /thread/thread4: it lowers
 * the limit to 1 with prlimit and expects g_thread_try_new to fail with
 * EAGAIN; it skipped the case instead under the shim, where a new thread
 * made no kernel thread). Run as root, the program becomes nobody first:
 * root is not held to the limit. A thread is made and joined (the runtime
 * starts), the soft limit goes to 1 (this process alone reaches it), a
 * thread is refused; the limit back, a thread is made again. Then the
 * same with setrlimit and 3 threads kept alive. Printed: each result. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void *one(void *arg)
{
	return arg;
}

static int gate[2];

static void *held(void *arg)
{
	char c;
	while (read(gate[0], &c, 1) < 0 && errno == EINTR)
		;
	return arg;
}

static void make(const char *what)
{
	pthread_t th;
	int e = pthread_create(&th, NULL, one, NULL);
	printf("%s: %s\n", what, e ? strerror(e) : "made");
	if (!e)
		pthread_join(th, NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (getuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
		return perror("becoming nobody"), 1;
	make("before");
	struct rlimit old, low;
	if (prlimit(0, RLIMIT_NPROC, NULL, &old) < 0)
		return perror("prlimit"), 1;
	low = old;
	low.rlim_cur = 1;
	if (prlimit(0, RLIMIT_NPROC, &low, NULL) < 0)
		return perror("prlimit 1"), 1;
	make("limit 1");
	if (prlimit(0, RLIMIT_NPROC, &old, NULL) < 0)
		return perror("prlimit back"), 1;
	make("limit back");

	/* 3 threads alive, then the limit at 4: main and the 3 reach it. */
	if (pipe(gate) < 0)
		return perror("pipe"), 1;
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, held, NULL))
			return perror("pthread_create"), 1;
	low.rlim_cur = 4;
	if (setrlimit(RLIMIT_NPROC, &low) < 0)
		return perror("setrlimit 4"), 1;
	make("4 alive, limit 4");
	if (write(gate[1], "xxx", 3) != 3)
		return perror("write"), 1;
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	make("1 alive, limit 4");
	setrlimit(RLIMIT_NPROC, &old);
	return 0;
}
