/* Regular-file reads from many threads: random pread ranges and
 * sequential reads, with the file's pages evicted from the page cache now
 * and then (posix_fadvise DONTNEED) so reads also miss. Prints checksums,
 * file offsets after read/pread/lseek, error answers, and a name lookup.
 *   file_rw DIR */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "common.h"

#define SIZE (4 << 20)
#define THREADS 8
#define READS 300

static char path[4096];
static uint64_t sums[THREADS];

static void *reader(void *x)
{
	long id = (long)x;
	unsigned seed = (unsigned)id * 7919u + 1;
	int fd = open(path, O_RDONLY);
	static __thread unsigned char buf[65536];
	uint64_t h = FNV_START;
	for (int i = 0; i < READS; i++) {
		size_t len = 1 + rand_r(&seed) % sizeof(buf);
		off_t off = rand_r(&seed) % (SIZE + 1000);  /* some past the end */
		if (i % 50 == 0)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		ssize_t r = pread(fd, buf, len, off);
		h = fnv(buf, r > 0 ? (size_t)r : 0, h) ^ (uint64_t)r;
	}
	/* sequential read() in odd chunks, then check the file offset */
	lseek(fd, 0, SEEK_SET);
	size_t total = 0;
	ssize_t r;
	while ((r = read(fd, buf, 10000 + id)) > 0) {
		h = fnv(buf, (size_t)r, h);
		total += (size_t)r;
	}
	if (total != SIZE || lseek(fd, 0, SEEK_CUR) != SIZE)
		h = 0;
	close(fd);
	sums[id] = h;
	return NULL;
}

int main(int argc, char **argv)
{
	snprintf(path, sizeof(path), "%s/file_rw.dat", argc > 1 ? argv[1] : "/tmp");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	unsigned char *data = malloc(SIZE);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 9));
	if (write(fd, data, SIZE) != SIZE) {
		printf("write failed\n");
		return 1;
	}
	fsync(fd);
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, reader, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		printf("thread %d checksum %016llx\n", i, (unsigned long long)sums[i]);

	char small[100];
	ssize_t r;
	lseek(fd, 1000, SEEK_SET);
	r = read(fd, small, 100);
	printf("read 100 at 1000: %zd, offset now %ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
	r = pread(fd, small, 100, 50);
	printf("pread 100 at 50: %zd, offset still %ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
	struct iovec iv[2] = { { small, 30 }, { small + 30, 40 } };
	r = readv(fd, iv, 2);
	printf("readv 70: %zd, offset now %ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
	printf("preadv 70 at end-10: %zd\n", preadv(fd, iv, 2, SIZE - 10));
	r = pread(fd, small, 10, -5);
	printf("pread at a negative offset: %zd %s\n", r, strerrorname_np(errno));
	int dfd = open(argc > 1 ? argv[1] : "/tmp", O_RDONLY | O_DIRECTORY);
	r = read(dfd, small, 10);
	printf("read on a directory: %zd %s\n", r, strerrorname_np(errno));
	close(dfd);
	close(fd);
	r = read(fd, small, 10);
	printf("read on a closed fd: %zd %s\n", r, strerrorname_np(errno));
	unlink(path);

	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int g = getaddrinfo("localhost", "80", &hints, &res);
	char host[64] = "";
	if (g == 0)
		getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), NULL, 0, NI_NUMERICHOST);
	printf("getaddrinfo localhost: %d %s\n", g, host);
	if (res)
		freeaddrinfo(res);
	printf("getaddrinfo of a bad name: %s\n",
	       getaddrinfo("no such host.invalid", NULL, &hints, &res) ? "fails" : "resolves");
	struct hostent *he = gethostbyname("localhost");
	printf("gethostbyname localhost: %s\n", he ? he->h_name : "NULL");
	h_errno = 0;
	he = gethostbyname("no-such-host.invalid");
	printf("gethostbyname of a bad name: %s, h_errno %d\n", he ? "resolves" : "NULL", h_errno);
	return 0;
}
