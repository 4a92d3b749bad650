/* A wait for io_uring completions made with the syscall instruction
 * itself, as fio 3.33's io_uring engine makes it (io_uring_enter with
 * IORING_ENTER_GETEVENTS and min_complete 1, a raw call that sets no
 * errno): 10 rounds of a 30 ms timeout operation, each waited for that
 * way, while a ticker thread sleeps 2 ms at a time. Natively nothing
 * interrupts the wait; the kernel never restarts io_uring_enter, so a
 * signal would end it with -EINTR, which fio took for "0 events" and
 * stopped its job's I/O early (its verify pass covered a few blocks, no
 * error reported). The ring is made as fio makes it (SINGLE_ISSUER and
 * DEFER_TASKRUN, plain where the kernel refuses them). Printed: the
 * rounds, how many waits ended with -EINTR, each completion's result,
 * and whether the ticker ticked while main waited. */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include "common.h"

static struct ticker tick;

static long raw6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct io_uring ring;
	if (io_uring_queue_init(8, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) < 0 &&
	    io_uring_queue_init(8, &ring, 0) < 0) {
		printf("no io_uring here\n");
		return 0;
	}
	pthread_t tk;
	pthread_create(&tk, NULL, ticker_main, &tick);
	sleep_ms(5);
	int intr = 0, bad = 0, other = 0;
	tick.watch = 1;
	for (int i = 0; i < 10; i++) {
		struct __kernel_timespec ts = { 0, 30 * 1000000L };
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		io_uring_prep_timeout(sqe, &ts, 0, 0);
		if (io_uring_submit(&ring) != 1) {
			printf("submit failed\n");
			return 1;
		}
		for (;;) {
			long r = raw6(SYS_io_uring_enter, ring.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, 0, 0);
			if (r == -EINTR) {
				intr++;
				continue;
			}
			if (r < 0)
				other++;
			break;
		}
		struct io_uring_cqe *cqe;
		if (io_uring_peek_cqe(&ring, &cqe) == 0) {
			if (cqe->res != -ETIME)
				bad++;
			io_uring_cqe_seen(&ring, cqe);
		} else {
			bad++;
		}
	}
	tick.watch = 0;
	tick.stop = 1;
	pthread_join(tk, NULL);
	printf("rounds 10; waits ended by EINTR: %d; other errors: %d; completions not ETIME: %d\n",
	       intr, other, bad);
	printf("the ticker ticked while main waited: %s\n", tick.ticks >= 20 ? "yes" : "no");
	io_uring_queue_exit(&ring);
	return 0;
}
