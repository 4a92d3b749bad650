// Waits a program makes with futex through libc's syscall(): a plain
// futex pair, a timed wait that times out, and C++20's std::atomic::wait,
// std::counting_semaphore and std::latch (libstdc++ waits with
// syscall(SYS_futex)). A ticker thread sleeps 2 ms at a time throughout;
// printed: each result, and whether the ticker ticked while the waits
// blocked (on one worker without the monitor, a futex wait that blocked
// the worker would stop it).
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <latch>
#include <linux/futex.h>
#include <semaphore>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

static std::atomic<int> blocked{0}, stop{0}, ticks_during{0};

static void ticker()
{
	while (!stop) {
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
		if (blocked)
			ticks_during++;
	}
}

static long futex(unsigned *w, int op, unsigned v, const timespec *ts)
{
	return syscall(SYS_futex, w, op, v, ts, nullptr, 0);
}

int main()
{
	setvbuf(stdout, nullptr, _IOLBF, 0);
	std::thread tk(ticker);

	// a futex pair: the waiter sleeps on 0 until the waker stores 1
	static unsigned word = 0;
	blocked = 1;
	std::thread waker([] {
		std::this_thread::sleep_for(std::chrono::milliseconds(60));
		__atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
		futex(&word, FUTEX_WAKE_PRIVATE, 1, nullptr);
	});
	long r;
	while ((r = futex(&word, FUTEX_WAIT_PRIVATE, 0, nullptr)) == 0 && !__atomic_load_n(&word, __ATOMIC_SEQ_CST))
		;
	waker.join();
	blocked = 0;
	std::printf("futex wait: returned %ld (word %u); ticker ticked meanwhile: %s\n", r, word,
		    ticks_during > 3 ? "yes" : "no");

	// a timed wait nobody wakes: ETIMEDOUT after 40 ms
	ticks_during = 0;
	blocked = 1;
	timespec ts = {0, 40000000};
	unsigned zero = 0;
	r = futex(&zero, FUTEX_WAIT_PRIVATE, 0, &ts);
	int e = errno;
	blocked = 0;
	std::printf("timed futex wait: returned %ld %s; ticker ticked meanwhile: %s\n", r,
		    e == ETIMEDOUT ? "ETIMEDOUT" : "other", ticks_during > 3 ? "yes" : "no");
	// a value that differs: EAGAIN at once
	r = futex(&zero, FUTEX_WAIT_PRIVATE, 5, nullptr);
	std::printf("futex wait on a changed word: returned %ld %s\n", r, errno == EAGAIN ? "EAGAIN" : "other");

	// std::atomic::wait / notify_one
	std::atomic<int> a{0};
	ticks_during = 0;
	blocked = 1;
	std::thread n1([&] {
		std::this_thread::sleep_for(std::chrono::milliseconds(60));
		a.store(1);
		a.notify_one();
	});
	a.wait(0);
	n1.join();
	blocked = 0;
	std::printf("atomic::wait: saw %d; ticker ticked meanwhile: %s\n", a.load(),
		    ticks_during > 3 ? "yes" : "no");

	// std::counting_semaphore and std::latch between 8 threads
	std::counting_semaphore<16> sem(0);
	std::latch done(8);
	std::atomic<int> got{0};
	std::vector<std::thread> ts8;
	for (int i = 0; i < 8; i++)
		ts8.emplace_back([&] {
			sem.acquire();
			got++;
			done.count_down();
		});
	ticks_during = 0;
	blocked = 1;
	std::this_thread::sleep_for(std::chrono::milliseconds(30));
	sem.release(8);
	done.wait();
	blocked = 0;
	for (auto &t : ts8)
		t.join();
	std::printf("semaphore and latch: %d threads passed; ticker ticked meanwhile: %s\n", got.load(),
		    ticks_during > 3 ? "yes" : "no");
	stop = 1;
	tk.join();
	return 0;
}
