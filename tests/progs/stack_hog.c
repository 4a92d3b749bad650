/* A thread whose frames need more stack than argv[1] KiB of locals: it
 * recurses argv[2] times through a 32 KiB array. Prints the sum. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static int deep(int n)
{
	volatile char a[32 << 10];
	memset((char *)a, n, sizeof(a));
	return a[100] + (n ? deep(n - 1) : 0);
}

static void *run(void *p)
{
	return (void *)(long)deep((int)(long)p);
}

int main(int argc, char **argv)
{
	pthread_t t;
	void *r;
	long depth = argc > 1 ? atol(argv[1]) : 4;
	pthread_create(&t, NULL, run, (void *)depth);
	pthread_join(t, &r);
	printf("sum %ld\n", (long)r);
	return 0;
}
