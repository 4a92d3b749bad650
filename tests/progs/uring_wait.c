/* A program with its own io_uring, waiting for completions through
 * liburing as MariaDB's InnoDB does: a read of a pipe that another thread
 * fills 60 ms later, waited for with io_uring_wait_cqe; a wait with a
 * timeout nothing completes in time (io_uring_wait_cqe_timeout); two
 * reads waited for together (io_uring_submit_and_wait). A ticker thread
 * sleeps 2 ms at a time throughout; printed: each result, and whether the
 * ticker ticked while the waits blocked. */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static struct ticker tick;
static int p[2], q[2];


static void *filler(void *x)
{
	int *fds = x;
	sleep_ms(60);
	(void)!write(fds[1], fds == p ? "hello" : "world", 5);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct io_uring ring;
	if (io_uring_queue_init(8, &ring, 0) < 0) {
		printf("no io_uring here\n");
		return 0;
	}
	pipe(p);
	pipe(q);
	pthread_t tk, fl;
	pthread_create(&tk, NULL, ticker_main, &tick);

	char buf[16] = "", buf2[16] = "";
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf) - 1, 0);
	io_uring_submit(&ring);
	pthread_create(&fl, NULL, filler, p);
	tick.watch = 1;
	struct io_uring_cqe *cqe;
	int r = io_uring_wait_cqe(&ring, &cqe);
	tick.watch = 0;
	printf("io_uring_wait_cqe: %d, read %d bytes \"%s\"; ticker ticked meanwhile: %s\n", r,
	       r == 0 ? cqe->res : -1, buf, tick.ticks > 3 ? "yes" : "no");
	io_uring_cqe_seen(&ring, cqe);
	pthread_join(fl, NULL);

	/* nothing is in flight: a timed wait times out (100 ms: natively the
	 * ticker, 2 ms a tick, ticked fewer than 4 times in 30 ms on a machine
	 * at load 12, and the comparison failed) */
	struct __kernel_timespec ts = { 0, 100000000 };
	tick.ticks = 0;
	tick.watch = 1;
	r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	tick.watch = 0;
	printf("io_uring_wait_cqe_timeout with nothing in flight: %s; ticker ticked meanwhile: %s\n",
	       r == -ETIME ? "-ETIME" : "other", tick.ticks > 3 ? "yes" : "no");

	/* one read of q, and a no-op: submit both and wait for two */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, q[0], buf2, sizeof(buf2) - 1, 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	pthread_create(&fl, NULL, filler, q);
	tick.ticks = 0;
	tick.watch = 1;
	r = io_uring_submit_and_wait(&ring, 2);
	tick.watch = 0;
	printf("io_uring_submit_and_wait(2): submitted %d, %u completions ready, read \"%s\"; ticker ticked meanwhile: %s\n",
	       r, io_uring_cq_ready(&ring), buf2, tick.ticks > 3 ? "yes" : "no");
	pthread_join(fl, NULL);
	tick.stop = 1;
	pthread_join(tk, NULL);
	io_uring_queue_exit(&ring);
	return 0;
}
