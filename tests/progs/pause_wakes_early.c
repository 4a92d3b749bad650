/* pause() returns only after a signal handler has run (CPython's
 * test_itimer_real: setitimer, then signal.pause()). A thread has been
 * made first, as in any threaded program. A runtime whose own signal
 * interrupts the call (a stall monitor poking a worker it finds blocked)
 * makes pause() return before the program's signal came. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_alrm(int s) { (void)s; handled = 1; }
static void *nothing(void *x) { return x; }

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, nothing, NULL);
	pthread_join(t, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alrm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 500000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	int r = pause();
	printf("pause() returned %d; SIGALRM handler had run: %s\n", r, handled ? "yes" : "no");
	return 0;
}
