/* glibc's blocking stdio entry points: each asks rt/stdio.c to wait for
 * the FILE's fd first (or to make the call in pieces), then makes the
 * real call. Why, and the rules about the FILE's lock: rt/stdio.c.
 *
 * glibc 2.36 has real functions for all of these; with optimisation its
 * header inlines getchar, putchar, vprintf and getline into getc, putc,
 * vfprintf and __getdelim, and the _unlocked character calls into
 * __uflow and __overflow, which are hooked for that reason. The _chk
 * forms are what _FORTIFY_SOURCE compiles the plain ones into. */
#include "hook.h"
#include "../rt/stdio.h"
#include <limits.h>
#include <stdint.h>
#include <string.h>

/* With optimisation glibc's header makes these macros (small constant
 * sizes become getc_unlocked and putc_unlocked loops): the hooks are the
 * functions. */
#undef fread_unlocked
#undef fwrite_unlocked

/* --- input: one read at most ------------------------------------------ */

/* The wait before a read: false (errno set) when the call must fail. */
static bool in_ok(FILE *fp)
{
	long r = evs_stdio_in(fp);
	if (r < 0) {
		errno = (int)-r;
		return false;
	}
	return true;
}

EVS_HOOK int fgetc(FILE *fp)
{
	return in_ok(fp) ? EVS_AFTER(REAL(fgetc)(fp)) : EOF;
}

EVS_HOOK int getc(FILE *fp)
{
	return in_ok(fp) ? EVS_AFTER(REAL(getc)(fp)) : EOF;
}

EVS_HOOK int getchar(void)
{
	return in_ok(stdin) ? EVS_AFTER(REAL(getchar)()) : EOF;
}

EVS_HOOK int fgetc_unlocked(FILE *fp)
{
	return in_ok(fp) ? EVS_AFTER(REAL(fgetc_unlocked)(fp)) : EOF;
}

EVS_HOOK int getc_unlocked(FILE *fp)
{
	return in_ok(fp) ? EVS_AFTER(REAL(getc_unlocked)(fp)) : EOF;
}

EVS_HOOK int getchar_unlocked(void)
{
	return in_ok(stdin) ? EVS_AFTER(REAL(getchar_unlocked)()) : EOF;
}

EVS_HOOK int __uflow(FILE *fp)
{
	return in_ok(fp) ? EVS_AFTER(REAL(__uflow)(fp)) : EOF;
}

EVS_HOOK int __underflow(FILE *fp)
{
	return in_ok(fp) ? EVS_AFTER(REAL(__underflow)(fp)) : EOF;
}

/* Under _GNU_SOURCE and C99 the header renames fscanf, scanf, vfscanf
 * and vscanf to their __isoc99_ forms (which programs built today call);
 * the plain names (C89 builds: %a is GNU's, not a float) are defined
 * under their own symbols here. */
EVS_HOOK int plain_vfscanf(FILE *fp, const char *fmt, va_list ap) __asm__("vfscanf");
EVS_HOOK int plain_vscanf(const char *fmt, va_list ap) __asm__("vscanf");
EVS_HOOK int plain_fscanf(FILE *fp, const char *fmt, ...) __asm__("fscanf");
EVS_HOOK int plain_scanf(const char *fmt, ...) __asm__("scanf");

int plain_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
	return in_ok(fp) ? EVS_AFTER(REAL(vfscanf)(fp, fmt, ap)) : EOF;
}

int plain_vscanf(const char *fmt, va_list ap)
{
	return in_ok(stdin) ? EVS_AFTER(REAL(vfscanf)(stdin, fmt, ap)) : EOF;
}

int plain_fscanf(FILE *fp, const char *fmt, ...)
{
	if (!in_ok(fp))
		return EOF;
	va_list ap;
	va_start(ap, fmt);
	int r = EVS_AFTER(REAL(vfscanf)(fp, fmt, ap));
	va_end(ap);
	return r;
}

int plain_scanf(const char *fmt, ...)
{
	if (!in_ok(stdin))
		return EOF;
	va_list ap;
	va_start(ap, fmt);
	int r = EVS_AFTER(REAL(vfscanf)(stdin, fmt, ap));
	va_end(ap);
	return r;
}

EVS_HOOK int __isoc99_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
	return in_ok(fp) ? EVS_AFTER(REAL(__isoc99_vfscanf)(fp, fmt, ap)) : EOF;
}

EVS_HOOK int __isoc99_vscanf(const char *fmt, va_list ap)
{
	return in_ok(stdin) ? EVS_AFTER(REAL(__isoc99_vfscanf)(stdin, fmt, ap)) : EOF;
}

EVS_HOOK int __isoc99_fscanf(FILE *fp, const char *fmt, ...)
{
	if (!in_ok(fp))
		return EOF;
	va_list ap;
	va_start(ap, fmt);
	int r = EVS_AFTER(REAL(__isoc99_vfscanf)(fp, fmt, ap));
	va_end(ap);
	return r;
}

EVS_HOOK int __isoc99_scanf(const char *fmt, ...)
{
	if (!in_ok(stdin))
		return EOF;
	va_list ap;
	va_start(ap, fmt);
	int r = EVS_AFTER(REAL(__isoc99_vfscanf)(stdin, fmt, ap));
	va_end(ap);
	return r;
}

/* --- input in pieces -------------------------------------------------- */

static char *gets_ret(char *s, long r)
{
	evs_hook_after();
	if (r < 0) {
		errno = (int)-r;
		return NULL;
	}
	return r ? s : NULL;
}

EVS_HOOK char *fgets(char *s, int n, FILE *fp)
{
	long r = evs_stdio_gets(fp, s, n, false);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(fgets)(s, n, fp)) : gets_ret(s, r);
}

EVS_HOOK char *fgets_unlocked(char *s, int n, FILE *fp)
{
	long r = evs_stdio_gets(fp, s, n, true);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(fgets_unlocked)(s, n, fp)) : gets_ret(s, r);
}

EVS_HOOK char *__fgets_chk(char *s, size_t size, int n, FILE *fp)
{
	long r = (size_t)n > size ? EVS_USE_REAL : evs_stdio_gets(fp, s, n, false);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(__fgets_chk)(s, size, n, fp)) : gets_ret(s, r);
}

EVS_HOOK char *__fgets_unlocked_chk(char *s, size_t size, int n, FILE *fp)
{
	long r = (size_t)n > size ? EVS_USE_REAL : evs_stdio_gets(fp, s, n, true);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(__fgets_unlocked_chk)(s, size, n, fp)) : gets_ret(s, r);
}

/* fread's items from the runtime's bytes, or EVS_USE_REAL. */
static long read_items(FILE *fp, void *p, size_t size, size_t nmemb, size_t cap, bool unlocked)
{
	size_t n;
	if (__builtin_mul_overflow(size, nmemb, &n) || n > cap)
		return EVS_USE_REAL;  /* glibc's answer (or its _chk abort) */
	int err;
	long r = evs_stdio_read(fp, p, n, unlocked, &err);
	if (r == EVS_USE_REAL)
		return r;
	evs_hook_after();
	if (err)
		errno = err;
	return (size_t)r == n ? (long)nmemb : (long)((size_t)r / size);
}

EVS_HOOK size_t fread(void *p, size_t size, size_t nmemb, FILE *fp)
{
	long r = read_items(fp, p, size, nmemb, SIZE_MAX, false);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(fread)(p, size, nmemb, fp)) : (size_t)r;
}

EVS_HOOK size_t fread_unlocked(void *p, size_t size, size_t nmemb, FILE *fp)
{
	long r = read_items(fp, p, size, nmemb, SIZE_MAX, true);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(fread_unlocked)(p, size, nmemb, fp)) : (size_t)r;
}

EVS_HOOK size_t __fread_chk(void *p, size_t cap, size_t size, size_t nmemb, FILE *fp)
{
	long r = read_items(fp, p, size, nmemb, cap, false);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(__fread_chk)(p, cap, size, nmemb, fp)) : (size_t)r;
}

EVS_HOOK size_t __fread_unlocked_chk(void *p, size_t cap, size_t size, size_t nmemb, FILE *fp)
{
	long r = read_items(fp, p, size, nmemb, cap, true);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(__fread_unlocked_chk)(p, cap, size, nmemb, fp))
				 : (size_t)r;
}

static ssize_t delim_ret(ssize_t r, int err)
{
	evs_hook_after();
	if (err)
		errno = err;
	return r;
}

EVS_HOOK ssize_t getdelim(char **line, size_t *cap, int delim, FILE *fp)
{
	int err;
	ssize_t r = evs_stdio_getdelim(line, cap, delim, fp, &err);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(getdelim)(line, cap, delim, fp)) : delim_ret(r, err);
}

EVS_HOOK ssize_t __getdelim(char **line, size_t *cap, int delim, FILE *fp)
{
	int err;
	ssize_t r = evs_stdio_getdelim(line, cap, delim, fp, &err);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(__getdelim)(line, cap, delim, fp)) : delim_ret(r, err);
}

EVS_HOOK ssize_t getline(char **line, size_t *cap, FILE *fp)
{
	int err;
	ssize_t r = evs_stdio_getdelim(line, cap, '\n', fp, &err);
	return r == EVS_USE_REAL ? EVS_AFTER(REAL(getline)(line, cap, fp)) : delim_ret(r, err);
}

/* --- output: one character, or a flush -------------------------------- */

/* The wait before a write of c (EOF: a flush): false (errno set) when the
 * call must fail. */
static bool out_ok(FILE *fp, int c)
{
	long r = evs_stdio_out(fp, c);
	if (r < 0) {
		errno = (int)-r;
		return false;
	}
	return true;
}

EVS_HOOK int fputc(int c, FILE *fp)
{
	return out_ok(fp, (unsigned char)c) ? EVS_AFTER(REAL(fputc)(c, fp)) : EOF;
}

EVS_HOOK int putc(int c, FILE *fp)
{
	return out_ok(fp, (unsigned char)c) ? EVS_AFTER(REAL(putc)(c, fp)) : EOF;
}

EVS_HOOK int putchar(int c)
{
	return out_ok(stdout, (unsigned char)c) ? EVS_AFTER(REAL(putchar)(c)) : EOF;
}

EVS_HOOK int fputc_unlocked(int c, FILE *fp)
{
	return out_ok(fp, (unsigned char)c) ? EVS_AFTER(REAL(fputc_unlocked)(c, fp)) : EOF;
}

EVS_HOOK int putc_unlocked(int c, FILE *fp)
{
	return out_ok(fp, (unsigned char)c) ? EVS_AFTER(REAL(putc_unlocked)(c, fp)) : EOF;
}

EVS_HOOK int putchar_unlocked(int c)
{
	return out_ok(stdout, (unsigned char)c) ? EVS_AFTER(REAL(putchar_unlocked)(c)) : EOF;
}

EVS_HOOK int __overflow(FILE *fp, int c)
{
	return out_ok(fp, c == EOF ? EOF : (unsigned char)c) ? EVS_AFTER(REAL(__overflow)(fp, c)) : EOF;
}

/* fflush(NULL) flushes every stream: passed through as it is. */
EVS_HOOK int fflush(FILE *fp)
{
	return out_ok(fp, EOF) ? EVS_AFTER(REAL(fflush)(fp)) : EOF;
}

EVS_HOOK int fflush_unlocked(FILE *fp)
{
	return out_ok(fp, EOF) ? EVS_AFTER(REAL(fflush_unlocked)(fp)) : EOF;
}

/* The stream is closed in any case: a wait that a signal interrupted
 * still leaves the flush to the real call. glibc closes the fd itself,
 * not through close(): its record is forgotten first, as close() does,
 * or the next fd with that number would pass for one still watched. */
EVS_HOOK int fclose(FILE *fp)
{
	(void)evs_stdio_out(fp, EOF);
	evs_stdio_closing(fp);
	return EVS_AFTER(REAL(fclose)(fp));
}

/* popen's pipe is made inside glibc, past pipe(): a record left behind by
 * a close the shim did not see is forgotten. pclose closes the same way as
 * fclose (its wait for the child blocks the worker, as glibc's). */
EVS_HOOK FILE *popen(const char *cmd, const char *mode)
{
	FILE *fp = REAL(popen)(cmd, mode);
	if (fp)
		evs_stdio_closing(fp);
	return fp;
}

EVS_HOOK int pclose(FILE *fp)
{
	(void)evs_stdio_out(fp, EOF);
	evs_stdio_closing(fp);
	return REAL(pclose)(fp);
}

/* --- output in pieces ------------------------------------------------- */

static size_t write_items(const void *p, size_t size, size_t nmemb, FILE *fp, bool unlocked)
{
	size_t n;
	int err;
	long r = __builtin_mul_overflow(size, nmemb, &n) ? EVS_USE_REAL
							 : evs_stdio_write(fp, p, n, unlocked, &err);
	if (r == EVS_USE_REAL)
		return EVS_AFTER((unlocked ? REAL(fwrite_unlocked) : REAL(fwrite))(p, size, nmemb, fp));
	evs_hook_after();
	if (err)
		errno = err;
	return (size_t)r == n ? nmemb : (size_t)r / size;
}

EVS_HOOK size_t fwrite(const void *p, size_t size, size_t nmemb, FILE *fp)
{
	return write_items(p, size, nmemb, fp, false);
}

EVS_HOOK size_t fwrite_unlocked(const void *p, size_t size, size_t nmemb, FILE *fp)
{
	return write_items(p, size, nmemb, fp, true);
}

EVS_HOOK int fputs(const char *s, FILE *fp)
{
	long r = evs_stdio_puts(fp, s, strlen(s), false);
	if (r == EVS_USE_REAL)
		return EVS_AFTER(REAL(fputs)(s, fp));
	return evs_ret(r) < 0 ? EOF : 1;
}

EVS_HOOK int fputs_unlocked(const char *s, FILE *fp)
{
	long r = evs_stdio_puts(fp, s, strlen(s), true);
	if (r == EVS_USE_REAL)
		return EVS_AFTER(REAL(fputs_unlocked)(s, fp));
	return evs_ret(r) < 0 ? EOF : 1;
}

/* Up to this length puts copies the line and its newline together, so
 * that both go out in one real call (a puts is atomic natively). */
#define PUTS_STACK 1024

EVS_HOOK int puts(const char *s)
{
	size_t len = strlen(s);
	char sb[PUTS_STACK];
	long r;
	if (len < sizeof(sb)) {
		memcpy(sb, s, len);
		sb[len] = '\n';
		r = evs_stdio_puts(stdout, sb, len + 1, false);
	} else {
		r = evs_stdio_puts(stdout, s, len, false);
		if (r >= 0)
			r = evs_stdio_puts(stdout, "\n", 1, false);
	}
	if (r == EVS_USE_REAL)
		return EVS_AFTER(REAL(puts)(s));
	if (evs_ret(r) < 0)
		return EOF;
	return len < INT_MAX ? (int)len + 1 : INT_MAX;
}

/* --- printf ----------------------------------------------------------- */

/* Every form comes here; flag -1 for the plain ones. */
static int print(FILE *fp, int flag, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	long r = evs_stdio_vprintf(fp, flag, fmt, copy);
	va_end(copy);
	if (r != EVS_USE_REAL)
		return (int)evs_ret(r);
	return flag < 0 ? EVS_AFTER(REAL(vfprintf)(fp, fmt, ap)) : EVS_AFTER(REAL(__vfprintf_chk)(fp, flag, fmt, ap));
}

EVS_HOOK int vfprintf(FILE *fp, const char *fmt, va_list ap)
{
	return print(fp, -1, fmt, ap);
}

EVS_HOOK int vprintf(const char *fmt, va_list ap)
{
	return print(stdout, -1, fmt, ap);
}

EVS_HOOK int fprintf(FILE *fp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = print(fp, -1, fmt, ap);
	va_end(ap);
	return r;
}

EVS_HOOK int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = print(stdout, -1, fmt, ap);
	va_end(ap);
	return r;
}

EVS_HOOK int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap)
{
	return print(fp, flag, fmt, ap);
}

EVS_HOOK int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return print(stdout, flag, fmt, ap);
}

EVS_HOOK int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = print(fp, flag, fmt, ap);
	va_end(ap);
	return r;
}

EVS_HOOK int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = print(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}
