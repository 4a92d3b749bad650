/* Stress: 32 threads x 200 iterations with random short sleeps inside and
 * outside critical sections. Checks exact counts and invariants:
 * a mutex-protected counter, an rwlock-protected pair that readers must
 * always see equal, a section a semaphore limits to 3 at a time, a
 * spinlock held across a sleep (a task spinning on it must let the holder
 * run), and barrier phases nobody may run ahead of. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define T 32
#define ITER 200

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t sp;
static sem_t gate;
static pthread_barrier_t bar;
static long counter, spin_counter, pair_a, pair_b, torn, inside, max_inside, phase_errors;
static int phase;

static void *worker(void *x)
{
	unsigned seed = (unsigned)(long)x * 2654435761u;
	for (int i = 0; i < ITER; i++) {
		int r = rand_r(&seed) % 100;
		pthread_mutex_lock(&m);
		counter++;
		if (r < 5)
			usleep(50 + rand_r(&seed) % 200);  /* held across a sleep */
		pthread_mutex_unlock(&m);

		if (r < 20) {
			pthread_rwlock_wrlock(&rw);
			pair_a++;
			if (r < 3)
				usleep(100);
			pair_b++;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			if (pair_a != pair_b)
				__atomic_fetch_add(&torn, 1, __ATOMIC_RELAXED);
			pthread_rwlock_unlock(&rw);
		}

		sem_wait(&gate);
		long now = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		long mx = __atomic_load_n(&max_inside, __ATOMIC_RELAXED);
		while (now > mx && !__atomic_compare_exchange_n(&max_inside, &mx, now, 0,
							       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		if (r % 4 == 0)
			usleep(rand_r(&seed) % 100);
		__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		sem_post(&gate);

		pthread_spin_lock(&sp);
		spin_counter++;
		if (r < 2)
			usleep(100);  /* a spinlock held across a sleep */
		pthread_spin_unlock(&sp);

		if (i % 50 == 49) {  /* phases: nobody may run ahead */
			if (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) != i / 50)
				__atomic_fetch_add(&phase_errors, 1, __ATOMIC_RELAXED);
			if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
				__atomic_add_fetch(&phase, 1, __ATOMIC_SEQ_CST);
			pthread_barrier_wait(&bar);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t t[T];
	pthread_spin_init(&sp, 0);
	sem_init(&gate, 0, 3);
	pthread_barrier_init(&bar, NULL, T);
	for (long i = 0; i < T; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < T; i++)
		pthread_join(t[i], NULL);
	printf("mutex counter %ld (expected %d)\n", counter, T * ITER);
	printf("spinlock counter %ld (expected %d)\n", spin_counter, T * ITER);
	printf("rwlock pair equal %s, torn reads %ld\n", pair_a == pair_b ? "yes" : "no", torn);
	printf("semaphore section never above 3: %s\n", max_inside <= 3 ? "yes" : "no");
	printf("barrier phases %d, threads ahead of their phase %ld\n", phase, phase_errors);
	return 0;
}
