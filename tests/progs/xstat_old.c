/* What a binary built against glibc older than 2.33 calls for stat():
 * __xstat and friends, bound here to their GLIBC_2.2.5 versions as such a
 * binary's references are. Prints the answers.   xstat_old DIR */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__asm__(".symver old_xstat, __xstat@GLIBC_2.2.5");
__asm__(".symver old_lxstat, __lxstat@GLIBC_2.2.5");
__asm__(".symver old_fxstatat, __fxstatat@GLIBC_2.4");
extern int old_xstat(int ver, const char *path, struct stat *st);
extern int old_lxstat(int ver, const char *path, struct stat *st);
extern int old_fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);

static void show(const char *what, int r, const struct stat *st)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: 0 size %lld mode %o\n", what, (long long)st->st_size, st->st_mode);
}

int main(int argc, char **argv)
{
	char f[4096], l[4200];
	snprintf(f, sizeof(f), "%s/xstat.dat", argc > 1 ? argv[1] : "/tmp");
	snprintf(l, sizeof(l), "%s.link", f);
	int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, "twelve bytes", 12) != 12)
		return 1;
	close(fd);
	symlink(f, l);
	struct stat st;
	show("__xstat file", old_xstat(1, f, &st), &st);
	show("__xstat link", old_xstat(1, l, &st), &st);
	printf("__lxstat link is a link: %d\n", old_lxstat(1, l, &st) == 0 && S_ISLNK(st.st_mode));
	show("__xstat missing", old_xstat(1, "/nonexistent/evshim", &st), &st);
	show("__xstat bad version", old_xstat(99, f, &st), &st);
	show("__fxstatat relative", old_fxstatat(1, AT_FDCWD, f, &st, 0), &st);
	unlink(l);
	unlink(f);
	return 0;
}
