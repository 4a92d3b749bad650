/* System V message queues and semaphores with threads: each blocking call
 * waits for another thread (or a child process) to act 30 ms later. Then
 * a semtimedop that times out, msgrcv and semop ended by a SIGALRM whose
 * handler has SA_RESTART (never restarted: EINTR), IPC_NOWAIT answers.
 * Before, under the shim, the waits were glibc's, in the kernel, on the
 * worker: the runtime's own signal ended them with an EINTR the program
 * never sees natively (msgrcv returned -1 on 1 worker, semop on 2). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

struct msg {
	long type;
	char text[32];
};

static int q, sid;

#define show(what, r) show_result(what, r, 48)

static void *send_later(void *p)
{
	usleep(30000);
	struct msg m = { 2, "later" };
	msgsnd(q, &m, 6, 0);
	return p;
}

static void *post_later(void *p)
{
	usleep(30000);
	struct sembuf op = { 0, 1, 0 };
	semop(sid, &op, 1);
	return p;
}

static void *drain_later(void *p)
{
	usleep(30000);
	struct msg m;
	msgrcv(q, &m, sizeof(m.text), 0, 0);
	return p;
}

static void *rcv_forever(void *p)
{
	struct msg m;
	msgrcv(q, &m, sizeof(m.text), 99, 0);  /* a cancellation point */
	return p;
}

static void on_alarm(int s)
{
	(void)s;
}

static void alarm_in(int ms)
{
	struct itimerval it = { { 0, 0 }, { 0, ms * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
	q = msgget(IPC_PRIVATE, 0600);
	sid = semget(IPC_PRIVATE, 1, 0600);
	struct msg m;
	pthread_t t;

	pthread_create(&t, NULL, send_later, NULL);
	long n = msgrcv(q, &m, sizeof(m.text), 0, 0);
	show("msgrcv, a thread sends 30ms later", n);
	printf("  type %ld \"%s\"\n", m.type, m.text);
	pthread_join(t, NULL);

	pthread_create(&t, NULL, post_later, NULL);
	struct sembuf down = { 0, -1, 0 };
	show("semop -1, a thread posts 30ms later", semop(sid, &down, 1));
	pthread_join(t, NULL);

	/* a full queue: msgsnd waits for a reader */
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 64;
	msgctl(q, IPC_SET, &ds);
	struct msg big = { 1, "0123456789012345678901234567890" };
	msgsnd(q, &big, 32, 0);
	msgsnd(q, &big, 32, 0);
	show("msgsnd, the queue full", msgsnd(q, &big, 32, IPC_NOWAIT));
	pthread_create(&t, NULL, drain_later, NULL);
	show("msgsnd, a thread takes one 30ms later", msgsnd(q, &big, 32, 0));
	pthread_join(t, NULL);
	while (msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0)
		;
	show("msgrcv IPC_NOWAIT, empty", msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT));

	pid_t c = fork();
	if (c == 0) {
		usleep(30000);
		struct msg cm = { 5, "child" };
		msgsnd(q, &cm, 6, 0);
		_exit(0);
	}
	n = msgrcv(q, &m, sizeof(m.text), 5, 0);
	show("msgrcv type 5, a child sends 30ms later", n);
	printf("  \"%s\"\n", m.text);
	waitpid(c, NULL, 0);

	struct timespec tmo = { 0, 30000000 };
	show("semtimedop -1, 30ms, nobody posts", semtimedop(sid, &down, 1, &tmo));
	struct sembuf nw = { 0, -1, IPC_NOWAIT };
	show("semop -1 IPC_NOWAIT at 0", semop(sid, &nw, 1));

	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	alarm_in(30);
	show("msgrcv, SIGALRM (SA_RESTART) at 30ms", msgrcv(q, &m, sizeof(m.text), 0, 0));
	alarm_in(30);
	show("semop -1, SIGALRM (SA_RESTART) at 30ms", semop(sid, &down, 1));

	pthread_create(&t, NULL, rcv_forever, NULL);
	usleep(30000);
	pthread_cancel(t);
	void *ret;
	pthread_join(t, &ret);
	show("msgrcv cancelled by pthread_cancel", ret == PTHREAD_CANCELED);

	msgctl(q, IPC_RMID, NULL);
	semctl(sid, 0, IPC_RMID);
	return 0;
}
