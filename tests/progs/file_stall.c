/* Does a slow file read stall other threads? One thread reads a large
 * file that is not in the page cache in ONE pread call; another keeps
 * pinging an echo process over a socket. Natively the two are separate
 * kernel threads, so pings are answered during the read. Under the shim
 * on one worker they are tasks of the same kernel thread: pings are
 * answered during the read only if the read parks the task instead of
 * blocking the worker.
 *   file_stall DIR [MiB] [raw|copy]
 * `raw` makes the read a bare system call the shim cannot see: the control
 * that shows the check can tell a stalled worker from a free one. `copy`
 * makes it one copy_file_range of the file into a second one (read back
 * to check it): made on the worker, it held the pings for its length.
 * Prints "pings answered during the read: yes" (or "no"); prints
 * "cannot evict" when the filesystem keeps the file cached (tmpfs). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int sock;
static volatile int reading, finished, pings;
static long during;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *pinger(void *x)
{
	(void)x;
	char c = 'p';
	while (!__atomic_load_n(&finished, __ATOMIC_ACQUIRE)) {
		if (write(sock, &c, 1) != 1 || read(sock, &c, 1) != 1)
			break;
		if (__atomic_load_n(&reading, __ATOMIC_ACQUIRE))
			during++;
		pthread_mutex_lock(&mu);
		pings++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* Pages of the file still in the page cache after eviction. */
static long resident_pages(int fd, size_t size)
{
	void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	size_t n = (size + 4095) / 4096;
	unsigned char *v = malloc(n);
	long in = 0;
	if (v && mincore(m, size, v) == 0)
		for (size_t i = 0; i < n; i++)
			in += v[i] & 1;
	free(v);
	munmap(m, size);
	return in;
}

/* The control's read: the system call instruction itself, which the
 * shim cannot see (libc's syscall() is interposed: through it, the read
 * would park like pread). */
static long inline_pread(int fd, void *buf, size_t n, off_t off)
{
	long ret;
	register long r10 __asm__("r10") = off;
	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(SYS_pread64), "D"(fd), "S"(buf), "d"(n), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

int main(int argc, char **argv)
{
	size_t size = (size_t)(argc > 2 ? atoi(argv[2]) : 128) << 20;
	char path[4096];
	snprintf(path, sizeof(path), "%s/file_stall.dat", argc > 1 ? argv[1] : "/tmp");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf = malloc(size);
	if (fd < 0 || !buf)
		return 1;
	for (size_t i = 0; i < size; i++)
		buf[i] = (char)(i * 13 + (i >> 16));
	if (write(fd, buf, size) != (ssize_t)size)
		return 1;
	fsync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	long left = resident_pages(fd, size);
	if (left > (long)(size / 4096 / 10)) {
		printf("cannot evict: %ld pages stay cached\n", left);
		unlink(path);
		return 0;
	}

	int copy = argc > 3 && !strcmp(argv[3], "copy"), cfd = -1;
	char cpath[4200];
	snprintf(cpath, sizeof(cpath), "%s.copy", path);
	if (copy && (cfd = open(cpath, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0)
		return 1;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {  /* the echo process */
		close(sv[0]);
		char c;
		while (read(sv[1], &c, 1) == 1 && write(sv[1], &c, 1) == 1)
			;
		_exit(0);
	}
	close(sv[1]);
	sock = sv[0];
	pthread_t t;
	pthread_create(&t, NULL, pinger, NULL);
	pthread_mutex_lock(&mu);
	while (pings < 20)  /* the echo works before the read starts */
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);

	/* A ping needs the echo process to get a CPU during the read: on a
	 * busy machine it may not within one read, so up to 3 reads (the
	 * pages evicted again before each). A worker blocked in the read
	 * answers none in any of them. */
	ssize_t r = 0;
	int ok = 1;
	for (int attempt = 0; attempt < 3 && !during; attempt++) {
		if (attempt)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (copy && ftruncate(cfd, 0))
			return 1;
		memset(buf, 0, size);
		__atomic_store_n(&reading, 1, __ATOMIC_RELEASE);
		if (copy) {
			loff_t from = 0, to = 0;
			r = copy_file_range(fd, &from, cfd, &to, size, 0);
		} else {
			r = argc > 3 && !strcmp(argv[3], "raw") ? inline_pread(fd, buf, size, 0)
								: pread(fd, buf, size, 0);
		}
		__atomic_store_n(&reading, 0, __ATOMIC_RELEASE);
		if (copy && r > 0 && pread(cfd, buf, size, 0) != r)
			r = -1;
		ok &= r == (ssize_t)size;
		for (size_t i = 0; ok && i < size; i += 4093)
			ok = buf[i] == (char)(i * 13 + (i >> 16));
	}
	__atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	shutdown(sock, SHUT_WR);
	waitpid(child, NULL, 0);

	printf("read %zd bytes, content %s\n", r, ok ? "right" : "WRONG");
	printf("pings answered during the read: %s\n", during > 0 ? "yes" : "no");
	fprintf(stderr, "pings during the read: %ld\n", during);
	unlink(path);
	if (copy)
		unlink(cpath);
	return 0;
}
