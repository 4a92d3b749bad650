/* Two single-threaded processes (as PostgreSQL's backends, a prefork
 * server's children): a parent and its child pass a byte back and forth
 * over two pipes, ROUNDS times; then the parent reads a non-blocking
 * eventfd (PostgreSQL's latch signalfd, libuv's wake-ups) while it is
 * empty and once after a write. What the processes see is the same with
 * or without the shim; tests/net.bats counts what the shim adds in
 * system calls (each process's only task waits for the other process, as
 * natively: no idle spin, no wake-up of the monitor thread per wait, no
 * poll before a read that cannot wait).
 *   lone_pingpong [ROUNDS] (default 500) */
#include "common.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 500;
	int to_child[2], to_parent[2];
	alarm(60);
	if (pipe(to_child) || pipe(to_parent))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		int n = 0;
		close(to_child[1]);
		close(to_parent[0]);
		while (read(to_child[0], &c, 1) == 1) {
			c++;
			if (write(to_parent[1], &c, 1) != 1)
				_exit(2);
			n++;
		}
		_exit(n == rounds ? 0 : 3);
	}
	close(to_child[0]);
	close(to_parent[1]);
	int ok = 0;
	for (int i = 0; i < rounds; i++) {
		char c = (char)i, back;
		if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &back, 1) != 1)
			break;
		ok += back == (char)(c + 1);
	}
	close(to_child[1]);
	int st;
	waitpid(pid, &st, 0);
	printf("round trips %d of %d, child exit %d\n", ok, rounds, WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	int efd = eventfd(0, EFD_NONBLOCK);
	uint64_t v = 0;
	int again = 0;
	for (int i = 0; i < rounds; i++)
		again += read(efd, &v, sizeof(v)) < 0 && errno == EAGAIN;
	v = 5;
	if (write(efd, &v, sizeof(v)) != sizeof(v))
		return 1;
	v = 0;
	long r = read(efd, &v, sizeof(v));
	printf("empty eventfd reads: EAGAIN %d of %d; after a write of 5: %ld bytes, %llu\n", again,
	       rounds, r, (unsigned long long)v);
	return 0;
}
