/* A signalfd read while every thread blocks its signals, the signals sent
 * from inside the process: pthread_kill to the reading thread (main, then
 * another thread), raise before the signalfd exists, kill and sigqueue of
 * the process while a handler is installed, a poll on the signalfd, a
 * non-blocking read. Before, under the shim, such a signal sat in a queue
 * of the runtime's that the kernel's signalfd never sees: each read (and
 * poll) waited for ever. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static pthread_t target;
static int sfd;

static void on_sig(int s)
{
	(void)s;
}

static void show(const char *what, long r, const struct signalfd_siginfo *fi)
{
	if (r < 0)
		printf("%-44s -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%-44s %ld: %s, from this process %d, value %d\n", what, r,
		       strsignal((int)fi->ssi_signo), fi->ssi_pid == (unsigned)getpid(),
		       fi->ssi_int);
	fflush(stdout);
}

static void *later(void *p)
{
	usleep(30000);
	long how = (long)p;
	if (how == 0)
		pthread_kill(target, SIGUSR1);
	else if (how == 1)
		kill(getpid(), SIGUSR1);
	else
		sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 42 });
	return NULL;
}

static void *reader(void *p)
{
	struct signalfd_siginfo fi;
	show("a thread reads, main pthread_kills it", read(sfd, &fi, sizeof(fi)), &fi);
	return p;
}

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	raise(SIGUSR2);
	sfd = signalfd(-1, &s, 0);
	struct signalfd_siginfo fi;
	show("raised before the signalfd was made", read(sfd, &fi, sizeof(fi)), &fi);

	pthread_t t;
	target = pthread_self();
	pthread_create(&t, NULL, later, (void *)0);
	show("pthread_kill to main from a thread", read(sfd, &fi, sizeof(fi)), &fi);
	pthread_join(t, NULL);

	struct sigaction sa = { .sa_handler = on_sig };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_create(&t, NULL, later, (void *)1);
	struct pollfd pf = { sfd, POLLIN, 0 };
	int r = poll(&pf, 1, 5000);
	printf("%-44s %d %#x\n", "poll, a thread kills the process (handler)", r, pf.revents);
	show("  then read", read(sfd, &fi, sizeof(fi)), &fi);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, later, (void *)2);
	show("a thread sigqueues the process (handler)", read(sfd, &fi, sizeof(fi)), &fi);
	pthread_join(t, NULL);

	pthread_create(&t, NULL, reader, NULL);
	usleep(30000);
	pthread_kill(t, SIGUSR2);
	pthread_join(t, NULL);

	int nb = signalfd(-1, &s, SFD_NONBLOCK);
	show("non-blocking read, nothing sent", read(nb, &fi, sizeof(fi)), &fi);
	raise(SIGUSR1);
	show("non-blocking read after raise", read(nb, &fi, sizeof(fi)), &fi);
	sigset_t p;
	sigpending(&p);
	printf("%-44s %d %d\n", "pending after", sigismember(&p, SIGUSR1), sigismember(&p, SIGUSR2));
	return 0;
}
