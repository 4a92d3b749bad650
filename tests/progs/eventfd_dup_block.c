/* O_NONBLOCK belongs to the open file description: an eventfd made with
 * EFD_NONBLOCK, dup'd, and made blocking through the copy is blocking
 * through the original too. A read of it on the original waits until
 * another thread writes; the waiting thread must leave the others
 * running (a runtime that reads such an fd without a poll, trusting a
 * non-blocking flag it recorded for the original, holds its worker in
 * the kernel and the writer never runs on one worker).
 *
 *   block: the reader waits 50 ms for the writer's 7: "read 8, value 7"
 *   again: the copy made non-blocking again: the original's read of an
 *          empty counter says EAGAIN
 * A hung run ends by alarm (20 s). */
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int copy;

static void *writer(void *arg)
{
	(void)arg;
	usleep(50000);
	uint64_t v = 7;
	if (write(copy, &v, sizeof v) != sizeof v)
		perror("write");
	return NULL;
}

int main(void)
{
	alarm(20);
	int efd = eventfd(0, EFD_NONBLOCK);
	copy = dup(efd);
	fcntl(copy, F_SETFL, fcntl(copy, F_GETFL) & ~O_NONBLOCK);
	pthread_t t;
	pthread_create(&t, NULL, writer, NULL);
	uint64_t v = 0;
	long r = read(efd, &v, sizeof v);
	printf("block: read %ld%s%s, value %lu\n", r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "",
	       (unsigned long)v);
	pthread_join(t, NULL);
	fcntl(copy, F_SETFL, fcntl(copy, F_GETFL) | O_NONBLOCK);
	r = read(efd, &v, sizeof v);
	printf("again: read %ld %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "");
	return 0;
}
