/* __thread data of a library loaded with dlopen (dynamic TLS). Two
 * threads each set their value, the second only once the first has set
 * its own (a semaphore, not a sleep: the order holds on a busy machine),
 * then read theirs back. Prints whether each kept its value. */
#include <dlfcn.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static void (*set)(long);
static long (*get)(void);
static int kept[2];

static sem_t first_set, second_set;

static void *work(void *x)
{
	long id = (long)x;
	if (id == 1)
		sem_wait(&first_set);
	set(100 + id);
	sem_post(id == 0 ? &first_set : &second_set);
	if (id == 0)
		sem_wait(&second_set);
	kept[id] = get() == 100 + id;
	return NULL;
}

int main(int argc, char **argv)
{
	(void)argc;
	char path[4096];
	snprintf(path, sizeof(path), "%s", argv[0]);
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (size_t)(slash ? slash + 1 - path : 0), "libtlsmod.so");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 1;
	}
	set = (void (*)(long))dlsym(h, "tlsmod_set");
	get = (long (*)(void))dlsym(h, "tlsmod_get");
	pthread_t t[2];
	sem_init(&first_set, 0, 0);
	sem_init(&second_set, 0, 0);
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("dlopen'd __thread kept per thread: %s %s\n", kept[0] ? "yes" : "no", kept[1] ? "yes" : "no");
	return 0;
}
