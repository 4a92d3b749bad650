/* glibc's stdio on pipes while another thread must keep running: fgets,
 * getchar, scanf, getline, fread, getc_unlocked, fscanf and fgetc wait
 * for input a child process sends in parts; fwrite, fprintf, fputs,
 * fputc, printf, puts and putchar fill pipes whose reader (a child) is
 * slow. A ticker thread sleeps 2 ms at a time and counts its ticks while
 * the main thread is inside a call; it is also what lets the data come:
 * every 10 ticks it releases one part (the feeding child waits for its
 * go on a control pipe), so a call that blocked the whole process would
 * wait until the child gives up waiting (2 s) and report "ticked
 * meanwhile: no". Also: a signal handler without SA_RESTART interrupts
 * fgets (NULL, ferror, EINTR), one with SA_RESTART does not.
 * Printed: what each call returned, and whether the ticker ticked. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define RELEASE_EVERY 10  /* ticks between two parts */
#define SIGNAL_EVERY 5    /* ticks between two signals, in the signal cases */
#define GIVE_UP_MS 2000   /* a child that got no go sends its part anyway */

static volatile int blocked, stop, ticks, releases, signals, handled;
static int go_fd = -1;    /* write end of the current control pipe */
static pthread_t main_thread;

static void *ticker(void *x)
{
	(void)x;
	while (!stop) {
		sleep_ms(2);
		if (!blocked)
			continue;
		ticks++;
		if (releases && ticks % RELEASE_EVERY == 0) {
			releases--;
			(void)!write(go_fd, "!", 1);
		}
		if (signals && ticks % SIGNAL_EVERY == 0) {
			signals--;
			pthread_kill(main_thread, SIGUSR1);
		}
	}
	return NULL;
}

static void begin(int parts)
{
	ticks = 0;
	releases = parts;
	blocked = 1;
}

static const char *end(void)
{
	blocked = 0;
	releases = 0;
	signals = 0;
	return ticks ? "yes" : "no";
}

static void wait_go(int ctl)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	char c;
	if (poll(&p, 1, GIVE_UP_MS) == 1)
		(void)!read(ctl, &c, 1);
}

/* A child writes each part into fd when the ticker says go; the parent
 * keeps the read side. Returns the child's pid; go_fd is its go pipe. */
static pid_t feeder(int fd, int keep, const char *const *parts, int n)
{
	int ctl[2];
	if (pipe(ctl))
		exit(1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(ctl[1]);
		close(keep);
		for (int i = 0; i < n; i++) {
			wait_go(ctl[0]);
			(void)!write(fd, parts[i], strlen(parts[i]));
		}
		_exit(0);
	}
	close(ctl[0]);
	close(fd);
	go_fd = ctl[1];
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	waitpid(pid, &st, 0);
	close(go_fd);
	go_fd = -1;
}

/* A child that, once told go, reads fd to its end and says how much came
 * and its sum. */
static pid_t slow_reader(int fd, int keep)
{
	int ctl[2];
	if (pipe(ctl))
		exit(1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(ctl[1]);
		close(keep);
		wait_go(ctl[0]);
		char buf[8192], line[100];
		unsigned long n = 0, sum = 0;
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < r; i++, n++)
				sum = sum * 31 + (unsigned char)buf[i];
		int len = snprintf(line, sizeof(line), "  reader got %lu bytes, sum %lu\n", n, sum);
		(void)!write(1, line, (size_t)len);
		_exit(0);
	}
	close(ctl[0]);
	close(fd);
	go_fd = ctl[1];
	return pid;
}

/* A size the compiler cannot see (so that _FORTIFY_SOURCE picks the
 * __fgets_chk and __fread_chk forms in stdio_pipes_fortify). */
static size_t opaque(size_t n)
{
	volatile size_t v = n;
	return v;
}

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void input_stdin(void)
{
	static const char *const parts[] = { "lo\n", "xy\n", "42\n" };
	int p[2];
	if (pipe(p))
		exit(1);
	(void)!write(p[1], "hel", 3);  /* there already: fgets must wait for the rest */
	dup2(p[0], 0);
	close(p[0]);
	pid_t pid = feeder(p[1], -1, parts, 3);
	char line[64];
	begin(1);
	char *r = fgets(line, (int)opaque(sizeof(line)), stdin);
	const char *t = end();
	printf("fgets stdin: %s", r ? line : "NULL\n");
	printf("  ticked meanwhile: %s\n", t);
	begin(1);
	int a = getchar();
	t = end();
	int b = getchar(), c = getchar();
	printf("getchar stdin: %c %c %d\n", a, b, c);
	printf("  ticked meanwhile: %s\n", t);
	int v = 0;
	begin(1);
	int n = scanf("%d", &v);
	t = end();
	printf("scanf stdin: %d %d\n", n, v);
	printf("  ticked meanwhile: %s\n", t);
	reap(pid);
}

static FILE *fed(const char *prefix, const char *const *parts, int n, pid_t *pid)
{
	int p[2];
	if (pipe(p))
		exit(1);
	if (prefix)
		(void)!write(p[1], prefix, strlen(prefix));
	*pid = feeder(p[1], p[0], parts, n);
	return fdopen(p[0], "r");
}

static void input_files(void)
{
	pid_t pid;
	/* getline: a line in three parts, then the end of file */
	static const char *const gl[] = { "line ", "works\n", "" };
	FILE *f = fed("get", gl, 3, &pid);
	char *line = NULL;
	size_t cap = 0;
	begin(2);
	ssize_t n = getline(&line, &cap, f);
	const char *t = end();
	printf("getline: %zd %s", n, line);
	printf("  ticked meanwhile: %s\n", t);
	begin(1);
	n = getline(&line, &cap, f);
	t = end();
	printf("getline at the end: %zd feof %d\n", n, feof(f));
	printf("  ticked meanwhile: %s\n", t);
	free(line);
	fclose(f);
	reap(pid);

	/* fread: 100000 bytes, 1000 there, the rest in three parts */
	static char big[3][33001];
	for (int i = 0; i < 3; i++) {
		memset(big[i], 'a' + i, 33000);
		big[i][33000] = '\0';
	}
	const char *const fr[] = { big[0], big[1], big[2] };
	char prefix[1001];
	memset(prefix, 'z', 1000);
	prefix[1000] = '\0';
	f = fed(prefix, fr, 3, &pid);
	static char buf[100000];
	begin(3);
	size_t got = fread(buf, 1, opaque(sizeof(buf)), f);
	t = end();
	unsigned long sum = 0;
	for (size_t i = 0; i < got; i++)
		sum = sum * 31 + (unsigned char)buf[i];
	printf("fread: %zu bytes, sum %lu, feof %d\n", got, sum, feof(f));
	printf("  ticked meanwhile: %s\n", t);
	fclose(f);
	reap(pid);

	/* getc_unlocked (inlined into __uflow), fscanf, fgetc */
	static const char *const gc[] = { "bc\n", "12 34\n", "q" };
	f = fed("a", gc, 3, &pid);
	char s[8];
	int k = 0, c;
	begin(1);
	while ((c = getc_unlocked(f)) != '\n' && c != EOF && k < 7)
		s[k++] = (char)c;
	t = end();
	s[k] = '\0';
	printf("getc_unlocked: %s\n", s);
	printf("  ticked meanwhile: %s\n", t);
	int x = 0, y = 0;
	begin(1);
	int m = fscanf(f, "%d %d", &x, &y);
	t = end();
	printf("fscanf: %d %d %d\n", m, x, y);
	printf("  ticked meanwhile: %s\n", t);
	(void)fgetc(f);  /* the newline */
	begin(1);
	c = fgetc(f);
	t = end();
	printf("fgetc: %c, then %d\n", c, fgetc(f));
	printf("  ticked meanwhile: %s\n", t);
	fclose(f);
	reap(pid);

	/* the _unlocked forms on a FILE the program locks itself (a FILE
	 * locked with flockfile is left to glibc: the lock's owner is the
	 * kernel thread, shared by the tasks of a worker) */
	static const char *const un[] = { "cked, ", "fread_unlocked\n" };
	f = fed("unlo", un, 2, &pid);
	__fsetlocking(f, FSETLOCKING_BYCALLER);
	begin(2);
	char *r = fgets_unlocked(s, 5, f);
	size_t got2 = r ? fread_unlocked(buf, 1, 21, f) : 0;
	t = end();
	printf("fgets_unlocked, fread_unlocked: %s %.*s", r ? s : "NULL", (int)got2, buf);
	printf("  ticked meanwhile: %s\n", t);
	fclose(f);
	reap(pid);
}

static void input_signals(void)
{
	static const char *const late[] = { "late\n" };
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	pid_t pid;
	FILE *f = fed(NULL, late, 1, &pid);
	char line[64];
	handled = 0;
	begin(0);
	signals = 1000;  /* until one lands inside the call */
	errno = 0;
	char *r = fgets(line, sizeof(line), f);
	int e = errno;
	end();
	printf("fgets, handler without SA_RESTART: %s, ferror %d, %s\n", r ? "a line" : "NULL",
	       ferror(f), e == EINTR ? "EINTR" : "another errno");
	signal(SIGUSR1, SIG_IGN);  /* a signal the ticker was about to send */
	clearerr(f);
	begin(1);
	r = fgets(line, sizeof(line), f);
	const char *t = end();
	printf("  then: %s", r ? line : "NULL\n");
	printf("  ticked meanwhile: %s\n", t);
	fclose(f);
	reap(pid);

	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	f = fed(NULL, late, 1, &pid);
	handled = 0;
	begin(1);
	signals = RELEASE_EVERY / SIGNAL_EVERY - 1;  /* all before the release */
	r = fgets(line, sizeof(line), f);
	t = end();
	printf("fgets, handler with SA_RESTART: %s", r ? line : "NULL\n");
	printf("  ferror %d, handler ran: %s\n", ferror(f), handled ? "yes" : "no");
	printf("  ticked meanwhile: %s\n", t);
	fclose(f);
	reap(pid);
	signal(SIGUSR1, SIG_IGN);
}

#define OUT_BYTES 300000  /* several times a pipe's 64 KiB */

static unsigned long sum_of(const char *s, size_t n, unsigned long sum)
{
	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + (unsigned char)s[i];
	return sum;
}

static FILE *slow(int mode, pid_t *pid)
{
	int p[2];
	if (pipe(p))
		exit(1);
	*pid = slow_reader(p[0], p[1]);
	FILE *f = fdopen(p[1], "w");
	setvbuf(f, NULL, mode, 0);
	return f;
}

static void output_files(void)
{
	pid_t pid;
	static char big[OUT_BYTES];
	for (int i = 0; i < OUT_BYTES; i++)
		big[i] = (char)('a' + i % 26);

	/* fully buffered: one fwrite, fclose */
	FILE *f = slow(_IOFBF, &pid);
	begin(1);
	size_t n = fwrite(big, 1, OUT_BYTES, f);
	int r = fclose(f);
	const char *t = end();
	reap(pid);
	printf("fwrite: %zu, fclose %d, sum %lu\n", n, r, sum_of(big, n, 0));
	printf("  ticked meanwhile: %s\n", t);

	/* line-buffered: fprintf, fputs, fputc, fwrite_unlocked */
	f = slow(_IOLBF, &pid);
	unsigned long sum = 0, total = 0;
	char line[100];
	begin(1);
	for (int i = 0; i < 2000; i++) {
		int len = snprintf(line, sizeof(line), "fprintf line %05d of a line-buffered stream\n", i);
		fprintf(f, "fprintf line %05d of a line-buffered stream\n", i);
		fputs(line, f);
		for (int j = 0; j < len; j++)
			fputc(line[j], f);
		fwrite_unlocked(line, 1, (size_t)len, f);
		for (int k = 0; k < 4; k++)
			sum = sum_of(line, (size_t)len, sum);
		total += 4 * (unsigned long)len;
	}
	r = fclose(f);
	t = end();
	reap(pid);
	printf("fprintf, fputs, fputc, fwrite_unlocked: %lu, fclose %d, sum %lu\n", total, r, sum);
	printf("  ticked meanwhile: %s\n", t);

	/* unbuffered: big fprintf and fwrite */
	f = slow(_IONBF, &pid);
	begin(1);
	int a = fprintf(f, "%.*s", 100000, big);
	n = fwrite(big + 100000, 1, 200000, f);
	r = fclose(f);
	t = end();
	reap(pid);
	printf("unbuffered fprintf, fwrite: %d %zu, fclose %d, sum %lu\n", a, n, r,
	       sum_of(big, OUT_BYTES, 0));
	printf("  ticked meanwhile: %s\n", t);
}

/* printf, puts, putchar to stdout while it is a slow pipe. */
static void output_stdout(void)
{
	int p[2];
	if (pipe(p))
		exit(1);
	pid_t pid = slow_reader(p[0], p[1]);
	int saved = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	unsigned long sum = 0, total = 0;
	char line[100];
	int ok = 1;
	begin(1);
	for (int i = 0; i < 3000; i++) {
		int len = snprintf(line, sizeof(line), "stdout line %05d, printf\n", i);
		ok &= printf("stdout line %05d, printf\n", i) == len;
		sum = sum_of(line, (size_t)len, sum);
		total += (unsigned long)len;
		len = snprintf(line, sizeof(line), "stdout line %05d, puts", i);
		ok &= puts(line) >= 0;
		line[len++] = '\n';
		sum = sum_of(line, (size_t)len, sum);
		ok &= putchar('.') == '.' && putchar('\n') == '\n';
		sum = sum_of(".\n", 2, sum);
		total += (unsigned long)len + 2;
	}
	ok &= fflush(stdout) == 0;
	const char *t = end();
	dup2(saved, 1);
	close(saved);
	reap(pid);
	printf("printf, puts, putchar to stdout: %lu, all returned what they should: %s, sum %lu\n",
	       total, ok ? "yes" : "no", sum);
	printf("  ticked meanwhile: %s\n", t);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	main_thread = pthread_self();
	pthread_t tk;
	pthread_create(&tk, NULL, ticker, NULL);
	input_stdin();
	input_files();
	input_signals();
	output_files();
	output_stdout();
	stop = 1;
	pthread_join(tk, NULL);
	return 0;
}
