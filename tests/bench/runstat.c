/* runstat [-o FILE] [-p PIDFILE] -- command...: run a command, and when it
 * ends write what the kernel says it cost: context switches (voluntary,
 * involuntary), CPU time (user + system) and max RSS from wait4's rusage,
 * the peak number of kernel threads (sampled from /proc every 2 ms), wall
 * time and exit status. -p writes the command's pid as soon as it runs
 * (serve-load.sh attaches its system-call counter to it). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../progs/common.h"

int main(int argc, char **argv)
{
	const char *out = NULL, *pidfile = NULL;
	int i = 1;
	while (i + 1 < argc && (!strcmp(argv[i], "-o") || !strcmp(argv[i], "-p"))) {
		if (argv[i][1] == 'o')
			out = argv[i + 1];
		else
			pidfile = argv[i + 1];
		i += 2;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: runstat [-o file] [-p pidfile] -- command...\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[i], argv + i);
		perror(argv[i]);
		_exit(127);
	}
	if (pidfile) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
		FILE *pf = fopen(tmp, "w");
		if (pf) {
			fprintf(pf, "%d\n", (int)pid);
			fclose(pf);
			rename(tmp, pidfile);  /* whole or absent for a reader */
		}
	}
	int status = 0, peak = 0;
	struct rusage ru;
	for (;;) {
		pid_t r = wait4(pid, &status, WNOHANG, &ru);
		if (r == pid)
			break;
		int n = threads_of(pid);
		if (n > peak)
			peak = n;
		usleep(2000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	FILE *f = out ? fopen(out, "w") : stdout;
	if (!f)
		return 2;
	fprintf(f, "vol_ctxsw %ld\ninvol_ctxsw %ld\npeak_threads %d\nmaxrss_kib %ld\n",
		ru.ru_nvcsw, ru.ru_nivcsw, peak, ru.ru_maxrss);
	fprintf(f, "cpu_s %.6f\n",
		(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	fprintf(f, "wall_s %.3f\nexit %d\n",
		(double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (out)
		fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
