/* A process run as root starts a thread, then gives up root without
 * forking (argv[1]: setuid, seteuid, setreuid, setresuid) or confines
 * itself (chroot to argv[2]), and exits. Its EVSHIM_STATS file, in a
 * directory only root may enter, must still get its report: chronyd -Q
 * drops root to _chrony without forking and wrote none (the runtime opened
 * the file at exit, as the unprivileged user). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *nap(void *p)
{
	struct timespec ms = { 0, 1000000 };
	nanosleep(&ms, NULL);
	return p;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "setuid";
	pthread_t t;
	pthread_create(&t, NULL, nap, NULL);
	pthread_join(t, NULL);
	uid_t nobody = 65534;
	int r = -1;
	if (!strcmp(how, "setuid"))
		r = setuid(nobody);
	else if (!strcmp(how, "seteuid"))
		r = seteuid(nobody);
	else if (!strcmp(how, "setreuid"))
		r = setreuid(nobody, nobody);
	else if (!strcmp(how, "setresuid"))
		r = setresuid(nobody, nobody, nobody);
	else if (!strcmp(how, "chroot") && argc > 2)
		r = chroot(argv[2]) || chdir("/");
	printf("%s: %d, uid %d euid %d\n", how, r, (int)getuid(), (int)geteuid());
	return r != 0;
}
