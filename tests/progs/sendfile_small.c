/* sendfile_small: small sendfile pieces from a cached file to a blocking
 * stream socket (TCP on 127.0.0.1, then an AF_UNIX pair), as a static
 * file server sends its bodies. Under the shim a piece of up to 32 KiB at
 * an explicit offset is copied (preadv2 RWF_NOWAIT, then send): what the
 * program and the peer see must be exactly sendfile's:
 *   - every byte, in order, from the right offsets (the reader thread
 *     checks each byte against the file's pattern);
 *   - the offset moved by what was sent, the file position untouched;
 *     with no offset pointer, the position moved instead;
 *   - a count past end of file returns what was left, then 0;
 *   - a negative offset is EINVAL;
 *   - a reader that starts late: the socket fills, pieces go out in parts.
 * Prints results only, the same natively and under the shim. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_SIZE 100000
#define ROUNDS 3000

static unsigned char pattern(long at)
{
	return (unsigned char)(at * 7 + at / 251);
}

/* What the reader expects, in order: the (offset, length) of each send. */
struct piece {
	long off, len;
};
static struct piece plan[ROUNDS + 16];
static int nplan;

struct reader {
	int fd;
	int late_ms;
	long bytes, bad;
};

static void *read_all(void *arg)
{
	struct reader *rd = arg;
	if (rd->late_ms)
		usleep(rd->late_ms * 1000);
	unsigned char buf[8192];
	int p = 0;
	long in_piece = 0;
	for (;;) {
		ssize_t n = read(rd->fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			while (p < nplan && in_piece == plan[p].len) {
				p++;
				in_piece = 0;
			}
			if (p >= nplan || buf[i] != pattern(plan[p].off + in_piece))
				rd->bad++;
			in_piece++;
		}
		rd->bytes += n;
	}
	return NULL;
}

static void tcp_pair(int sv[2])
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		exit(1);
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(sv[0], (struct sockaddr *)&a, sizeof(a)))
		exit(1);
	sv[1] = accept(l, NULL, NULL);
	close(l);
}

/* One run over a connected pair: sv[0] sends, a thread reads sv[1]. */
static void run(const char *name, int sv[2], int file, int late_ms)
{
	nplan = 0;
	long sent = 0, calls_short = 0;
	/* the plan first: the reader reads it as bytes arrive */
	unsigned seed = 12345;
	for (int i = 0; i < ROUNDS; i++) {
		seed = seed * 1103515245 + 12345;
		long len = 1 + (long)((seed >> 8) % 40000);  /* both sides of 32 KiB */
		seed = seed * 1103515245 + 12345;
		long off = (long)((seed >> 8) % (FILE_SIZE - len));
		plan[nplan++] = (struct piece){ off, len };
	}
	plan[nplan++] = (struct piece){ FILE_SIZE - 500, 500 };  /* past end: 500 of 1000 */
	struct reader rd = { sv[1], late_ms, 0, 0 };
	pthread_t th;
	if (pthread_create(&th, NULL, read_all, &rd))
		exit(1);
	for (int i = 0; i < nplan; i++) {
		off_t off = plan[i].off;
		size_t want = i == nplan - 1 ? 1000 : (size_t)plan[i].len;
		ssize_t r = sendfile(sv[0], file, &off, want);
		if (r != plan[i].len || off != plan[i].off + r)
			calls_short++;
		sent += r > 0 ? r : 0;
	}
	off_t at_end = FILE_SIZE;
	ssize_t eof = sendfile(sv[0], file, &at_end, 100);
	off_t neg = -1;
	errno = 0;
	ssize_t bad = sendfile(sv[0], file, &neg, 100);
	int bad_errno = errno;
	shutdown(sv[0], SHUT_WR);
	pthread_join(th, NULL);
	printf("%s%s: %d sendfiles, %ld bytes sent, %ld received, %ld wrong, %ld not as asked; at end of file %zd; "
	       "offset -1: %zd %s; file position %ld\n",
	       name, late_ms ? " (late reader)" : "", nplan, sent, rd.bytes, rd.bad, calls_short, eof, bad,
	       bad_errno == EINVAL ? "EINVAL" : "other", (long)lseek(file, 0, SEEK_CUR));
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/sendfile_small.bin", argc > 1 ? argv[1] : "/tmp");
	int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file < 0)
		return 1;
	static unsigned char data[FILE_SIZE];
	for (long i = 0; i < FILE_SIZE; i++)
		data[i] = pattern(i);
	if (write(file, data, FILE_SIZE) != FILE_SIZE)
		return 1;
	lseek(file, 0, SEEK_SET);
	int sv[2];
	tcp_pair(sv);
	run("tcp", sv, file, 0);
	tcp_pair(sv);  /* 60 MB: the socket's buffers fill while the reader sleeps */
	run("tcp", sv, file, 200);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	run("unix", sv, file, 0);
	/* no offset pointer: the file position moves by what was sent */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	lseek(file, 1000, SEEK_SET);
	ssize_t r1 = sendfile(sv[0], file, NULL, 5000);
	long pos = (long)lseek(file, 0, SEEK_CUR);
	unsigned char got[5000];
	ssize_t n = recv(sv[1], got, sizeof(got), MSG_WAITALL);
	printf("no offset pointer: sent %zd, position %ld, received %zd, %s\n", r1, pos, n,
	       n == 5000 && !memcmp(got, data + 1000, 5000) ? "the right bytes" : "wrong bytes");
	close(sv[0]);
	close(sv[1]);
	unlink(path);
	return 0;
}
