/* POSIX message queues between threads of one process: receivers that
 * wait on an empty queue while main sends 50 ms later, a sender that
 * waits on a full one, a signal for a waiting thread (EINTR without
 * SA_RESTART, the call goes on with it), pthread_cancel of a waiter, a
 * timed receive that times out, the answers given at once (EMSGSIZE,
 * EAGAIN, EINVAL), and a queue's fd number reused by a new queue after
 * mq_close. Before, under the shim, the calls waited in the kernel on the
 * worker: main, which had run there, never got to send (a hang on 1 and 2
 * workers), and neither the signal's handler nor the cancellation ended
 * the wait. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static mqd_t q;
static volatile int handled;

#define show(what, r) show_result(what, r, 44)

static void on_usr1(int s)
{
	(void)s;
	handled++;
}

static void *receive(void *p)
{
	char buf[64];
	unsigned prio = 0;
	long n = mq_receive(q, buf, sizeof(buf), &prio);
	return (void *)(n < 0 ? -(long)errno : (long)prio);
}

static void *send_one(void *p)
{
	return (void *)(long)mq_send(q, "full", 4, 7);
}

static mqd_t make_queue(long max, int flags)
{
	char name[64];
	snprintf(name, sizeof(name), "/evshim_mq_wait_%d", (int)getpid());
	struct mq_attr at = { .mq_maxmsg = max, .mq_msgsize = 64 };
	mqd_t m = mq_open(name, O_RDWR | O_CREAT | O_EXCL | flags, 0600, &at);
	mq_unlink(name);
	return m;
}

static void usr1(int flags)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

int main(void)
{
	char buf[64];
	unsigned prio;
	void *res;
	pthread_t t[3];
	q = make_queue(4, 0);
	if (q < 0) {
		perror("mq_open");
		return 1;
	}
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, receive, NULL);
	usleep(50000);
	for (int i = 0; i < 3; i++)
		mq_send(q, "m", 1, 1u << i);
	long sum = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], &res);
		sum += (long)res;
	}
	show("3 receivers, main sends 50ms later: prios", sum);

	for (int i = 0; i < 4; i++)
		mq_send(q, "x", 1, 0);
	pthread_create(&t[0], NULL, send_one, NULL);
	usleep(50000);
	show("full queue, main receives", mq_receive(q, buf, sizeof(buf), &prio));
	pthread_join(t[0], &res);
	show("  the thread's mq_send", (long)res);
	while (mq_timedreceive(q, buf, sizeof(buf), &prio, &(struct timespec){ 0, 0 }) > 0)
		;

	usr1(0);
	pthread_create(&t[0], NULL, receive, NULL);
	usleep(50000);
	pthread_kill(t[0], SIGUSR1);
	pthread_join(t[0], &res);
	printf("%-44s %s\n", "receive, SIGUSR1 (no SA_RESTART)", strerrorname_np(-(int)(long)res));
	usr1(SA_RESTART);
	pthread_create(&t[0], NULL, receive, NULL);
	usleep(50000);
	pthread_kill(t[0], SIGUSR1);
	usleep(20000);
	mq_send(q, "r", 1, 9);
	pthread_join(t[0], &res);
	show("receive, SIGUSR1 (SA_RESTART), then a send", (long)res);
	show("  handlers run", handled);

	pthread_create(&t[0], NULL, receive, NULL);
	usleep(50000);
	pthread_cancel(t[0]);
	pthread_join(t[0], &res);
	show("receive cancelled", res == PTHREAD_CANCELED);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 30000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_create(&t[0], NULL, receive, NULL);  /* a second task meanwhile */
	show("mq_timedreceive, 30ms, empty", mq_timedreceive(q, buf, sizeof(buf), &prio, &ts));
	mq_send(q, "e", 1, 0);
	pthread_join(t[0], NULL);
	pthread_create(&t[0], NULL, receive, NULL);
	show("mq_receive, buffer too small, empty", mq_receive(q, buf, 8, &prio));
	show("mq_timedreceive, tv_nsec 2e9",
	     mq_timedreceive(q, buf, sizeof(buf), &prio, &(struct timespec){ 0, 2000000000 }));
	mq_send(q, "e", 1, 0);
	pthread_join(t[0], NULL);
	int fd = q;
	mq_close(q);
	q = make_queue(1, O_NONBLOCK);
	show("non-blocking queue, empty", mq_receive(q, buf, sizeof(buf), &prio));
	mq_send(q, "n", 1, 0);
	show("non-blocking queue, full", mq_send(q, "n", 1, 0));
	mq_close(q);

	/* the old queue's number, now a new queue's: waited on */
	q = make_queue(1, 0);
	show("a new queue has the old one's number", q == fd);
	pthread_create(&t[0], NULL, receive, NULL);
	usleep(50000);
	mq_send(q, "s", 1, 5);
	pthread_join(t[0], &res);
	show("receive on it, main sends 50ms later", (long)res);
	return 0;
}
