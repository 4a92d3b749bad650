/* A process run as root starts a thread, then gives up root without
 * forking (argv[1]: setuid, seteuid, setreuid, setresuid) or confines
 * itself (chroot to argv[2]), and exits. Its EVSHIM_STATS file, in a
 * directory only root may enter, must still get its report: chronyd -Q
 * drops root to _chrony without forking and wrote none (the runtime opened
 * the file at exit, as the unprivileged user). "vfork": a vfork child
 * gives up root instead (the file must not be opened there). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
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
	else if (!strcmp(how, "vfork")) {
		/* a vfork child changes its user (to the same one) and leaves;
		 * the parent then opens 1,200 fds and closes them: the stats
		 * file opened in the child once stayed recorded in the shared
		 * memory as one of the runtime's fds, and the parent's close of
		 * that number answered EBADF */
		pid_t p = vfork();
		if (p == 0) {
			setuid(getuid());
			_exit(0);
		}
		waitpid(p, NULL, 0);
		int fds[1200], bad = 0;
		for (int i = 0; i < 1200; i++)
			fds[i] = open("/dev/null", O_RDONLY);
		for (int i = 0; i < 1200; i++)
			bad += fds[i] >= 0 && close(fds[i]) != 0;
		printf("vfork: closes that failed: %d\n", bad);
		return 0;
	}
	printf("%s: %d, uid %d euid %d\n", how, r, (int)getuid(), (int)geteuid());
	return r != 0;
}
