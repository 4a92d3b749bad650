/* A pre-forking server (Apache's worker MPM): the parent opens the
 * listening socket and forks children that each accept on it from a
 * thread with a plain blocking accept(). Child A serves one connection;
 * then child B blocks in accept() until the parent connects again.
 * Natively both accepts block and get a connection; the socket stays
 * blocking (F_GETFL in B shows no O_NONBLOCK). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int ls;
static struct sockaddr_in sa;

static void *acceptor(void *name)
{
	int fl = fcntl(ls, F_GETFL);
	int c = accept(ls, NULL, NULL);
	int e = errno;
	printf("child %s: listener %s, accept() %s\n", (char *)name,
	       fl & O_NONBLOCK ? "O_NONBLOCK" : "blocking",
	       c >= 0 ? "got a connection" : strerrorname_np(e));
	fflush(stdout);
	if (c >= 0)
		close(c);
	return NULL;
}

static pid_t child(char *name)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, acceptor, name);
		pthread_join(t, NULL);
		_exit(0);
	}
	return pid;
}

static void dial(void)
{
	usleep(300000);  /* the child is in accept() by now */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&sa, sizeof(sa));
	close(c);
}

int main(void)
{
	ls = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof(sa);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 16))
		return 1;
	getsockname(ls, (struct sockaddr *)&sa, &l);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t a = child("A");
	dial();
	waitpid(a, NULL, 0);
	pid_t b = child("B");
	dial();
	waitpid(b, NULL, 0);
	return 0;
}
