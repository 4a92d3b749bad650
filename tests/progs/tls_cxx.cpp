// C++ thread_local objects with constructors and destructors: each of 50
// threads touches its own object across a sleep; constructions and
// destructions are counted exactly, and each thread sees only its own.
#include <atomic>
#include <cstdio>
#include <pthread.h>
#include <unistd.h>

static std::atomic<int> constructed{0}, destroyed{0}, mixed{0};

struct Counter {
	long owner = -1;
	Counter() { constructed++; }
	~Counter() { destroyed++; }
};

static thread_local Counter mine;

static void *work(void *x)
{
	long id = (long)x;
	mine.owner = id;
	usleep(1000 * (id % 4));
	if (mine.owner != id)
		mixed++;
	return nullptr;
}

int main()
{
	pthread_t t[50];
	for (long i = 0; i < 50; i++)
		pthread_create(&t[i], nullptr, work, (void *)i);
	for (int i = 0; i < 50; i++)
		pthread_join(t[i], nullptr);
	std::printf("thread_local: constructed %d, destroyed %d, seen another's %d\n",
		    constructed.load(), destroyed.load(), mixed.load());
	return 0;
}
