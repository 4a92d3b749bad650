/* Thread names, as prctl(PR_SET_NAME/PR_GET_NAME) and pthread_setname_np
 * see them: a new thread starts with its creator's name (the kernel copies
 * it at clone), each thread's name is its own however many threads share
 * a kernel thread under the shim, and prctl cuts a long name to 15
 * characters where pthread_setname_np refuses it with ERANGE. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static pthread_barrier_t bar;

struct seen {
	const char *name;
	char first[96], later[96];
};

static void get(char *out, size_t n)
{
	char a[16] = "", b[32] = "";
	prctl(PR_GET_NAME, a, 0, 0, 0);
	pthread_getname_np(pthread_self(), b, sizeof(b));
	snprintf(out, n, "prctl says \"%s\", pthread_getname_np says \"%s\"", a, b);
}

static void show(const char *who)
{
	char line[96];
	get(line, sizeof(line));
	printf("%s: %s\n", who, line);
}

static void *named(void *arg)
{
	struct seen *s = arg;
	get(s->first, sizeof(s->first));  /* its creator's name */
	pthread_barrier_wait(&bar);
	if (!strcmp(s->name, "by-prctl"))
		prctl(PR_SET_NAME, s->name, 0, 0, 0);
	else
		pthread_setname_np(pthread_self(), s->name);
	pthread_barrier_wait(&bar);  /* both renamed: each must see its own */
	usleep(20000);
	get(s->later, sizeof(s->later));
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);  /* main has read the names */
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_NAME, "names-main", 0, 0, 0);
	show("main");
	pthread_barrier_init(&bar, NULL, 3);
	struct seen sa = { .name = "by-prctl" }, sb = { .name = "by-setname" };
	pthread_t a, b;
	pthread_create(&a, NULL, named, &sa);
	pthread_create(&b, NULL, named, &sb);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	printf("new thread A: %s\nnew thread B: %s\n", sa.first, sb.first);
	printf("A after renaming itself with prctl: %s\n", sa.later);
	printf("B after renaming itself with pthread_setname_np: %s\n", sb.later);
	char na[32] = "?", nb[32] = "?";
	pthread_getname_np(a, na, sizeof(na));
	pthread_getname_np(b, nb, sizeof(nb));
	printf("main reads the others: \"%s\", \"%s\"\n", na, nb);
	show("main still");
	pthread_barrier_wait(&bar);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	/* limits */
	int r = pthread_setname_np(pthread_self(), "a-very-long-thread-name");
	printf("pthread_setname_np with 23 characters: %s\n", r == ERANGE ? "ERANGE" : strerror(r));
	prctl(PR_SET_NAME, "a-very-long-thread-name", 0, 0, 0);
	show("main after a long prctl name");
	return 0;
}
