/* Blocking calls on fds that are neither sockets, pipes nor files, and on
 * file locks: an eventfd, a timerfd, a signalfd, inotify, a pty, flock
 * and fcntl(F_SETLKW) against a lock another process holds. For each, one
 * thread blocks in the call while a ticker thread sleeps 2 ms at a time;
 * printed: what the call returned, and whether the ticker ticked while the
 * call blocked (it must: with one worker and no monitor, a call that
 * blocked the worker would stop the ticker). */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static struct ticker tick;

static int efd, tfd, sfd, ifd, ptm, pts;
static char dir[256];

static void *poker(void *x)
{
	const char *c = x;
	sleep_ms(60);
	if (!strcmp(c, "eventfd")) {
		uint64_t v = 7;
		(void)!write(efd, &v, 8);
	} else if (!strcmp(c, "signalfd")) {
		kill(getpid(), SIGUSR1);
	} else if (!strcmp(c, "inotify")) {
		char p[300];
		snprintf(p, sizeof(p), "%s/created", dir);
		close(open(p, O_CREAT | O_WRONLY, 0644));
	} else if (!strcmp(c, "pty")) {
		(void)!write(ptm, "line\n", 5);
	}
	return NULL;
}

/* A child holds a lock on the file for 60 ms. */
static pid_t holder(const char *path, int use_flock)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR);
		if (use_flock) {
			flock(fd, LOCK_EX);
		} else {
			struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
			fcntl(fd, F_SETLK, &l);
		}
		(void)!write(p[1], "!", 1);
		sleep_ms(60);
		_exit(0);
	}
	char c;
	(void)!read(p[0], &c, 1);  /* it holds it now */
	close(p[0]);
	close(p[1]);
	return pid;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(dir, sizeof(dir), "%s", argc > 1 ? argv[1] : "/tmp");
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);  /* for the signalfd */
	pthread_t tk;
	pthread_create(&tk, NULL, ticker_main, &tick);
	static const char *cases[] = { "eventfd", "timerfd", "signalfd", "inotify", "pty",
				       "flock", "setlkw" };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *c = cases[i];
		char lockfile[300];
		snprintf(lockfile, sizeof(lockfile), "%s/lockfile", dir);
		pid_t h = 0;
		close(open(lockfile, O_CREAT | O_RDWR, 0644));  /* before the watch */
		efd = eventfd(0, 0);
		tfd = timerfd_create(CLOCK_MONOTONIC, 0);
		sfd = signalfd(-1, &s, 0);
		ifd = inotify_init();
		inotify_add_watch(ifd, dir, IN_CREATE);
		ptm = posix_openpt(O_RDWR | O_NOCTTY);
		grantpt(ptm);
		unlockpt(ptm);
		pts = open(ptsname(ptm), O_RDWR | O_NOCTTY);
		if (!strcmp(c, "flock") || !strcmp(c, "setlkw"))
			h = holder(lockfile, !strcmp(c, "flock"));
		if (!strcmp(c, "timerfd")) {
			struct itimerspec it = { .it_value = { 0, 60000000 } };
			timerfd_settime(tfd, 0, &it, NULL);
		}
		pthread_t pk;
		pthread_create(&pk, NULL, poker, (void *)c);
		tick.ticks = 0;
		tick.watch = 1;
		char out[600] = "";
		if (!strcmp(c, "eventfd")) {
			uint64_t v = 0;
			ssize_t r = read(efd, &v, 8);
			snprintf(out, sizeof(out), "read %zd, value %llu", r, (unsigned long long)v);
		} else if (!strcmp(c, "timerfd")) {
			uint64_t v = 0;
			ssize_t r = read(tfd, &v, 8);
			snprintf(out, sizeof(out), "read %zd, expirations %llu", r, (unsigned long long)v);
		} else if (!strcmp(c, "signalfd")) {
			struct signalfd_siginfo si;
			ssize_t r = read(sfd, &si, sizeof(si));
			snprintf(out, sizeof(out), "read %zd, signal %s", r, si.ssi_signo == SIGUSR1 ? "SIGUSR1" : "other");
		} else if (!strcmp(c, "inotify")) {
			char buf[512];
			ssize_t r = read(ifd, buf, sizeof(buf));
			struct inotify_event *ev = (void *)buf;
			snprintf(out, sizeof(out), "an event for %s", r > 0 ? ev->name : "nothing");
		} else if (!strcmp(c, "pty")) {
			char buf[64] = "";
			ssize_t r = read(pts, buf, sizeof(buf) - 1);
			snprintf(out, sizeof(out), "read %zd", r);
		} else {
			int fd = open(lockfile, O_RDWR);
			int r;
			if (!strcmp(c, "flock")) {
				r = flock(fd, LOCK_EX);
			} else {
				struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
				r = fcntl(fd, F_SETLKW, &l);
			}
			snprintf(out, sizeof(out), "locked: %d", r);
			close(fd);
		}
		tick.watch = 0;
		printf("%-9s %s; the ticker ticked while it waited: %s\n", c, out, tick.ticks > 3 ? "yes" : "no");
		pthread_join(pk, NULL);
		if (h)
			waitpid(h, NULL, 0);
		close(efd);
		close(tfd);
		close(sfd);
		close(ifd);
		close(ptm);
		close(pts);
		char p[300];
		snprintf(p, sizeof(p), "%s/created", dir);
		unlink(p);
		unlink(lockfile);
	}
	tick.stop = 1;
	pthread_join(tk, NULL);
	return 0;
}
