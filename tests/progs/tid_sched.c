/* Scheduling calls that name the calling thread by its thread id. GLib
 * (2.74, every GThread it makes for a pool) reads the creating thread's
 * scheduler attributes with syscall(SYS_sched_getattr, gettid()) and sets
 * them in the new thread with syscall(SYS_sched_setattr, gettid()); a
 * runtime whose gettid() is a number the kernel does not know made the
 * new thread's call fail with ESRCH, and GLib printed "GLib-CRITICAL:
 * Failed to set scheduler settings: No such process" (gdbus emit).
 *
 * Each call is made by a thread about itself, through syscall() and
 * through glibc's wrappers, setting what it read back unchanged (allowed
 * without privileges); every one succeeds natively. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct attr {  /* the kernel's struct sched_attr, version 1 */
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

static void show(const char *what, long r)
{
	printf("  %-44s %s\n", what, r < 0 ? strerror(errno) : "ok");
}

static void about_myself(const char *who)
{
	printf("%s:\n", who);
	pid_t me = (pid_t)syscall(SYS_gettid);
	struct attr a;
	memset(&a, 0, sizeof(a));
	long r = syscall(SYS_sched_getattr, me, &a, sizeof(a), 0);
	show("syscall sched_getattr(gettid)", r);
	if (r == 0)
		show("syscall sched_setattr(gettid), unchanged", syscall(SYS_sched_setattr, me, &a, 0));
	cpu_set_t set;
	CPU_ZERO(&set);
	r = sched_getaffinity(gettid(), sizeof(set), &set);
	show("sched_getaffinity(gettid)", r);
	show("syscall sched_getaffinity(gettid)",
	     syscall(SYS_sched_getaffinity, me, sizeof(set), &set) < 0 ? -1 : 0);
	show("sched_getscheduler(gettid)", sched_getscheduler(gettid()));
	struct sched_param sp;
	r = sched_getparam(gettid(), &sp);
	show("sched_getparam(gettid)", r);
	if (r == 0)
		show("sched_setparam(gettid), unchanged", sched_setparam(gettid(), &sp));
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	show("getpriority(PRIO_PROCESS, gettid)", errno ? -1 : 0);
	if (!errno)
		show("setpriority(PRIO_PROCESS, gettid), unchanged",
		     setpriority(PRIO_PROCESS, (id_t)gettid(), nice));
}

static void *thread(void *arg)
{
	about_myself(arg);
	return NULL;
}

int main(void)
{
	about_myself("main");
	for (int i = 0; i < 2; i++) {
		pthread_t t;
		char name[16];
		snprintf(name, sizeof(name), "thread %d", i + 1);
		pthread_create(&t, NULL, thread, name);
		pthread_join(t, NULL);
	}
	return 0;
}
