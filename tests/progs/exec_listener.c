/* php-fpm's reload (SIGUSR2): the master opens a blocking listening
 * socket and never accepts on it; its forked children do. On SIGUSR2 the
 * master execs itself and the new image's children accept on the same
 * inherited socket with a plain blocking accept(), and take any error
 * other than EINTR for "stop serving" (they exit).
 *
 * Here: the parent listens (blocking), a child accepts one connection
 * and exits, then the parent execs this program with the socket's fd;
 * the new image does the same without touching the socket itself (a
 * reload after a reload), and the third image forks a child that
 * connects 300 ms later and accepts with a blocking accept(). Natively
 * the socket is still blocking after each exec (F_GETFL shows no
 * O_NONBLOCK) and every accept waits for its connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void dial(int ls, int delay_ms)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &l);
	usleep(delay_ms * 1000);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&sa, sizeof(sa));
	close(c);
}

static void accept_once(const char *who, int ls)
{
	int fl = fcntl(ls, F_GETFL);
	int c = accept(ls, NULL, NULL);
	int e = errno;
	printf("%s: listener %s, accept() %s\n", who, fl & O_NONBLOCK ? "O_NONBLOCK" : "blocking",
	       c >= 0 ? "got a connection" : strerrorname_np(e));
	if (c >= 0)
		close(c);
}

/* A child accepts one connection, then this program is exec'd again
 * with the socket's fd and the next generation. */
static int serve_then_exec(const char *self, int ls, int gen)
{
	char who[32], fd[16], g[16];
	pid_t a = fork();
	if (a == 0) {
		snprintf(who, sizeof(who), "generation %d child", gen);
		accept_once(who, ls);
		_exit(0);
	}
	dial(ls, 200);
	waitpid(a, NULL, 0);
	snprintf(fd, sizeof(fd), "%d", ls);
	snprintf(g, sizeof(g), "%d", gen + 1);
	execl("/proc/self/exe", self, fd, g, (char *)NULL);
	perror("execl");
	return 1;
}

/* The last image: a dialer child, then a blocking accept. */
static int after_exec(int ls)
{
	pid_t d = fork();
	if (d == 0) {
		dial(ls, 300);
		_exit(0);
	}
	accept_once("generation 2 itself", ls);
	waitpid(d, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && atoi(argv[2]) < 2)
		return serve_then_exec(argv[0], atoi(argv[1]), atoi(argv[2]));
	if (argc == 3)
		return after_exec(atoi(argv[1]));
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 16))
		return 1;
	return serve_then_exec(argv[0], ls, 0);
}
