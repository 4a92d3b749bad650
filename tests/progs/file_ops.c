/* Regular-file writes, opens, syncs and lookups from many threads, for a
 * byte-for-byte comparison with and without the shim.
 *   file_ops DIR          many threads write and read random ranges of
 *                         one file (each its own region), then offsets,
 *                         stat answers and error answers
 *   file_ops DIR direct   O_DIRECT reads and writes at aligned offsets
 *   file_ops DIR enospc   write until a small filesystem is full
 * Prints checksums and answers; nothing that differs between two runs
 * (inode numbers, times) is printed, only comparisons of them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "common.h"

#define THREADS 12
#define REGION (256 << 10)
#define OPS 200

static const char *dir;
static char path[4096];
static uint64_t sums[THREADS];
static long calls;  /* opens, reads, writes and syncs of the threads (atomic) */

/* Each thread owns [id * REGION, (id + 1) * REGION) of the file and
 * writes random ranges of it with every write form, reading ranges back
 * in between: the file's final bytes and each thread's checksum of what
 * it read do not depend on how the threads interleave. */
static void *worker(void *x)
{
	long id = (long)x;
	unsigned seed = (unsigned)id * 104729u + 7;
	int fd = open(path, O_RDWR);
	long n = 1;
	/* the data to write lives in TLS: a backend write must not read it
	 * while another thread's copy is resident (the shim bounces it) */
	static __thread unsigned char buf[65536];
	unsigned char *rb = malloc(65536);
	uint64_t h = FNV_START;
	off_t base = (off_t)id * REGION;
	for (int i = 0; i < OPS; i++) {
		size_t len = 1 + rand_r(&seed) % 65536;
		off_t off = base + rand_r(&seed) % (REGION - (off_t)len + 1);
		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)(rand_r(&seed) >> 3);
		ssize_t r;
		n += (i % 5 == 2 || i % 5 == 4) ? 2 : 1;  /* the write, and its open */
		switch (i % 5) {
		case 0:
			r = pwrite(fd, buf, len, off);
			break;
		case 1: {
			struct iovec v[3] = { { buf, len / 3 }, { buf + len / 3, len / 3 },
					      { buf + 2 * (len / 3), len - 2 * (len / 3) } };
			r = pwritev(fd, v, 3, off);
			break;
		}
		case 2: {  /* a private fd: write() at its own file position */
			int f2 = open(path, O_WRONLY);
			lseek(f2, off, SEEK_SET);
			r = write(f2, buf, len);
			if (lseek(f2, 0, SEEK_CUR) != off + r)
				h ^= 0xbad;
			close(f2);
			break;
		}
		case 3: {
			struct iovec v[2] = { { buf, len / 2 }, { buf + len / 2, len - len / 2 } };
			r = pwritev2(fd, v, 2, off, 0);
			break;
		}
		default: {
			int f2 = open(path, O_RDWR);
			lseek(f2, off, SEEK_SET);
			struct iovec v[2] = { { buf, len / 2 }, { buf + len / 2, len - len / 2 } };
			r = writev(f2, v, 2);
			if (i % 20 == 4) {
				fdatasync(f2);
				n++;
			}
			close(f2);
		}
		}
		h = fnv((unsigned char *)&r, sizeof(r), h);
		if (i % 40 == 0) {
			fsync(fd);
			n++;
			posix_fadvise(fd, base, REGION, POSIX_FADV_DONTNEED);
		}
		off_t roff = rand_r(&seed) % REGION;  /* within this thread's region */
		size_t rlen = 1 + rand_r(&seed) % 65536;
		if ((off_t)rlen > REGION - roff)
			rlen = (size_t)(REGION - roff);
		r = pread(fd, rb, rlen, base + roff);
		n++;
		h = fnv(rb, r > 0 ? (size_t)r : 0, h) ^ (uint64_t)r;
	}
	close(fd);
	free(rb);
	sums[id] = h;
	__atomic_add_fetch(&calls, n, __ATOMIC_RELAXED);
	return NULL;
}

static void say(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static void offsets_and_answers(void)
{
	char p2[4200], small[200];
	snprintf(p2, sizeof(p2), "%s/offsets.dat", dir);
	int fd = creat(p2, 0640);
	say("creat", fd >= 0 ? 0 : -1);
	memset(small, 'x', sizeof(small));
	say("write 100", write(fd, small, 100));
	say("offset after write", lseek(fd, 0, SEEK_CUR));
	say("pwrite 50 at 500", pwrite(fd, small, 50, 500));
	say("offset after pwrite", lseek(fd, 0, SEEK_CUR));
	say("read on O_WRONLY", read(fd, small, 10));
	close(fd);
	fd = open(p2, O_RDWR | O_APPEND);
	say("append write 7", write(fd, "appended", 7));
	say("offset after append", lseek(fd, 0, SEEK_CUR));
	say("lseek 10", lseek(fd, 10, SEEK_SET));
	say("read 20", read(fd, small, 20));
	say("offset after read", lseek(fd, 0, SEEK_CUR));
	say("pread 20 at 540", pread(fd, small, 20, 540));
	say("offset after pread", lseek(fd, 0, SEEK_CUR));
	say("read at end", (lseek(fd, 0, SEEK_END), read(fd, small, 20)));
	say("lseek past end", lseek(fd, 10000, SEEK_SET));
	say("write past end", write(fd, "hole", 4));
	say("pwritev2 at -1", pwritev2(fd, &(struct iovec){ "xyz", 3 }, 1, -1, 0));
	say("offset after pwritev2", lseek(fd, 0, SEEK_CUR));
	say("pwrite at a negative offset", pwrite(fd, small, 1, -5));
	say("fsync", fsync(fd));
	say("fdatasync", fdatasync(fd));
	struct stat a, b;
	say("stat", stat(p2, &a));
	say("fstat", fstat(fd, &b));
	printf("stat size %lld mode %o nlink %ld blocks>0 %d same inode as fstat %d\n",
	       (long long)a.st_size, a.st_mode, (long)a.st_nlink, a.st_blocks > 0,
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
		       a.st_blksize == b.st_blksize && a.st_blocks == b.st_blocks &&
		       a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_uid == b.st_uid);
	close(fd);
	say("write on a closed fd", write(fd, small, 1));
	say("fsync on a closed fd", fsync(fd));

	char l[4200];
	snprintf(l, sizeof(l), "%s/link", dir);
	say("symlink", symlink(p2, l));
	say("lstat symlink", lstat(l, &a));
	printf("lstat is a link %d, stat follows %d\n", S_ISLNK(a.st_mode),
	       stat(l, &b) == 0 && S_ISREG(b.st_mode));
	struct statx sx;
	say("statx", statx(AT_FDCWD, p2, 0, STATX_SIZE | STATX_MODE, &sx));
	printf("statx size %llu has size %d\n", (unsigned long long)sx.stx_size,
	       !!(sx.stx_mask & STATX_SIZE));
	say("statx nofollow on link", statx(AT_FDCWD, l, AT_SYMLINK_NOFOLLOW, STATX_MODE, &sx));
	printf("statx says link %d\n", S_ISLNK(sx.stx_mode));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	say("fstatat relative", fstatat(dfd, "offsets.dat", &a, 0));
	say("openat relative", (fd = openat(dfd, "offsets.dat", O_RDONLY)) >= 0 ? 0 : -1);
	close(fd);
	say("fstatat bad flags", fstatat(dfd, "offsets.dat", &a, 0x40000000));
	say("fstatat empty path", fstatat(dfd, "", &a, AT_EMPTY_PATH));
	say("fstatat empty path, no flag", fstatat(dfd, "", &a, 0));
	say("read on a directory", read(dfd, small, 10));
	say("write on a directory", write(dfd, small, 10));
	say("fsync a directory", fsync(dfd));
	close(dfd);
	say("open a directory for writing", open(dir, O_WRONLY));
	say("open missing", open("/nonexistent/evshim/x", O_RDONLY));
	say("stat missing", stat("/nonexistent/evshim/x", &a));
	say("open O_EXCL on existing", open(p2, O_CREAT | O_EXCL | O_WRONLY, 0600));
	say("open through a file", open("/etc/passwd/x", O_RDONLY));
	say("stat through a file", stat("/etc/passwd/x", &a));
	say("open with O_TRUNC", (fd = open(p2, O_WRONLY | O_TRUNC)) >= 0 ? 0 : -1);
	say("size after O_TRUNC", lseek(fd, 0, SEEK_END));
	close(fd);
	int pfd[2];
	pipe(pfd);
	say("fsync on a pipe", fsync(pfd[0]));
	close(pfd[0]);
	close(pfd[1]);
	say("unlink", unlink(p2));
	unlink(l);
}

/* Many O_DIRECT reads in flight at once (more than one reaping batch). */
#define DTHREADS 48
static int dfd_shared;
static uint64_t dsums[DTHREADS];

static void *direct_reader(void *x)
{
	long id = (long)x;
	unsigned char *b;
	if (posix_memalign((void **)&b, 4096, 16384))
		return NULL;
	uint64_t h = FNV_START;
	for (int i = 0; i < 16; i++) {
		off_t off = (off_t)((id * 7 + i * 13) % 68) * 16384;  /* some past the end */
		ssize_t r = pread(dfd_shared, b, 16384, off);
		h = fnv(b, r > 0 ? (size_t)r : 0, h) ^ (uint64_t)r;
	}
	free(b);
	dsums[id] = h;
	return NULL;
}

/* O_DIRECT: aligned buffers, aligned offsets; a misaligned one is the
 * kernel's EINVAL. */
static int direct(void)
{
	snprintf(path, sizeof(path), "%s/direct.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0) {
		printf("O_DIRECT not supported here: %s\n", strerrorname_np(errno));
		return 0;
	}
	unsigned char *buf;
	if (posix_memalign((void **)&buf, 4096, 1 << 20))
		return 1;
	for (int i = 0; i < (1 << 20); i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 12));
	say("direct pwrite 1 MiB", pwrite(fd, buf, 1 << 20, 0));
	say("direct pwrite 64 KiB at 1 MiB", pwrite(fd, buf, 65536, 1 << 20));
	uint64_t h = FNV_START;
	for (int i = 0; i < 64; i++) {
		memset(buf, 0, 65536);
		ssize_t r = pread(fd, buf, 65536, (off_t)((i * 37) % 17) * 65536);
		h = fnv(buf, r > 0 ? (size_t)r : 0, h) ^ (uint64_t)r;
	}
	printf("direct preads checksum %016llx\n", (unsigned long long)h);
	struct iovec v[2] = { { buf, 4096 }, { buf + 4096, 8192 } };
	say("direct preadv", preadv(fd, v, 2, 4096));
	say("direct pread past end", pread(fd, buf, 65536, (1 << 20) + 65536));
	say("direct pread misaligned buffer", pread(fd, buf + 1, 4096, 0));
	say("direct pread misaligned offset", pread(fd, buf, 4096, 100));
	say("direct read at position", read(fd, buf, 8192));
	say("offset", lseek(fd, 0, SEEK_CUR));
	dfd_shared = fd;
	pthread_t t[DTHREADS];
	for (long i = 0; i < DTHREADS; i++)
		pthread_create(&t[i], NULL, direct_reader, (void *)i);
	h = FNV_START;
	for (int i = 0; i < DTHREADS; i++) {
		pthread_join(t[i], NULL);
		h = fnv((unsigned char *)&dsums[i], sizeof(dsums[i]), h);
	}
	printf("%d threads of direct preads: checksum %016llx\n", DTHREADS, (unsigned long long)h);
	close(fd);
	unlink(path);
	return 0;
}

/* A small filesystem fills up: the answers (short counts, then ENOSPC)
 * must be the kernel's, unchanged. */
static int enospc(void)
{
	snprintf(path, sizeof(path), "%s/fill.dat", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		say("open", -1);
		return 1;
	}
	char *buf = malloc(40000);
	memset(buf, 'z', 40000);
	for (int i = 0; i < 12; i++)
		say(i % 2 ? "pwrite 40000" : "write 40000",
		    i % 2 ? pwrite(fd, buf, 40000, lseek(fd, 0, SEEK_CUR)) : write(fd, buf, 40000));
	say("offset", lseek(fd, 0, SEEK_CUR));
	say("fsync", fsync(fd));
	say("close", close(fd));
	return 0;
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "/tmp";
	if (argc > 2 && !strcmp(argv[2], "direct"))
		return direct();
	if (argc > 2 && !strcmp(argv[2], "enospc"))
		return enospc();
	snprintf(path, sizeof(path), "%s/file_ops.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)THREADS * REGION) < 0) {
		printf("setup failed\n");
		return 1;
	}
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		printf("thread %d checksum %016llx\n", i, (unsigned long long)sums[i]);
	printf("file calls of the threads (opens, reads, writes, syncs): %ld\n", calls);
	unsigned char *all = malloc((size_t)THREADS * REGION);
	ssize_t r = pread(fd, all, (size_t)THREADS * REGION, 0);
	printf("file: %zd bytes, checksum %016llx\n", r,
	       (unsigned long long)fnv(all, r > 0 ? (size_t)r : 0, FNV_START));
	close(fd);
	unlink(path);
	offsets_and_answers();
	return 0;
}
