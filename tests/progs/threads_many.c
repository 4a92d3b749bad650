/* Thousands of threads created and joined in waves; each returns a value
 * derived from its argument and the sum is printed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WAVES 10
#define PER_WAVE 500

static void *work(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	return (void *)(i * 3 + 1);
}

int main(void)
{
	pthread_t th[PER_WAVE];
	unsigned long long sum = 0;
	int created = 0;
	for (int w = 0; w < WAVES; w++) {
		for (int i = 0; i < PER_WAVE; i++) {
			if (pthread_create(&th[i], NULL, work, (void *)(uintptr_t)(w * PER_WAVE + i))) {
				printf("create failed\n");
				return 1;
			}
			created++;
		}
		for (int i = 0; i < PER_WAVE; i++) {
			void *r;
			if (pthread_join(th[i], &r)) {
				printf("join failed\n");
				return 1;
			}
			sum += (uintptr_t)r;
		}
	}
	printf("created %d threads, joined all, sum %llu\n", created, sum);
	return 0;
}
