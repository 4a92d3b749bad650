/* A forked child that confines itself with a seccomp filter, as sshd's
 * pre-authentication child does: only a few system calls allowed, any
 * other one ends the process (SECCOMP_RET_KILL_PROCESS). Then it reads
 * from a pipe that its parent fills a little later (a blocking read, which
 * under the shim would park) and writes what it read.
 *
 * Argument: "prctl" installs the filter with prctl(PR_SET_SECCOMP),
 * "syscall" with syscall(SYS_seccomp); the parent has a thread running
 * meanwhile, so the runtime has started in it before the fork. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int confine(const char *how)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(SYS_read),
		ALLOW(SYS_write),
		ALLOW(SYS_close),
		ALLOW(SYS_exit),
		ALLOW(SYS_exit_group),
		ALLOW(SYS_rt_sigreturn),
		ALLOW(SYS_brk),
		ALLOW(SYS_munmap),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	if (!strcmp(how, "syscall"))
		return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static void *ticker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		usleep(5000);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "prctl";
	setvbuf(stdout, NULL, _IONBF, 0);
	pthread_t th;
	pthread_create(&th, NULL, ticker, NULL);
	int p[2];
	if (pipe(p))
		return 1;
	printf("confining a child with %s\n", how);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (confine(how)) {
			printf("child: filter refused: %s\n", strerror(errno));
			_exit(2);
		}
		char buf[32];
		ssize_t n = read(p[0], buf, sizeof(buf));  /* blocks a while */
		char line[96];
		int len = snprintf(line, sizeof(line), "child: under the filter read %zd bytes: %.*s\n",
				   n, n > 0 ? (int)n : 0, buf);
		if (write(1, line, (size_t)len) != len)
			_exit(3);
		close(p[0]);
		_exit(0);
	}
	close(p[0]);
	usleep(50000);  /* the child waits in its read meanwhile */
	if (write(p[1], "hello", 5) != 5)
		return 1;
	close(p[1]);
	int st;
	waitpid(pid, &st, 0);
	pthread_join(th, NULL);
	if (WIFSIGNALED(st))
		printf("parent: the child was killed by signal %d\n", WTERMSIG(st));
	else
		printf("parent: the child exited with %d\n", WEXITSTATUS(st));
	return 0;
}
