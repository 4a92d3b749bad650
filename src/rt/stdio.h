/* glibc's stdio from tasks (the hooks are hook/stdio.c; the why and the
 * rules are at the top of rt/stdio.c).
 *
 * Each verb looks at the FILE first and answers EVS_USE_REAL when the
 * call is not the runtime's to look after: the caller is not a task, the
 * FILE has no fd or one that never keeps a call waiting (a regular file,
 * /dev/null), the program made the fd non-blocking, or this kernel thread
 * holds the FILE's lock. Then the hook makes the real call, unchanged.
 * `unlocked` says the call is an _unlocked form: its pieces are made with
 * the _unlocked real functions too. */
#ifndef EVS_STDIO_H
#define EVS_STDIO_H
#include "../evs.h"
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

/* Before a call that reads from fp once at most (getc, scanf, __uflow):
 * park until its fd is readable if fp's buffer is empty. 0: make the real
 * call; -errno: fail with it (fp's error flag is set, as a failed read
 * sets it). */
long evs_stdio_in(FILE *fp);

/* fgets: up to n - 1 bytes, through the first newline, in pieces. The
 * count (s NUL-terminated), 0 at end of file with nothing read, -errno. */
long evs_stdio_gets(FILE *fp, char *s, int n, bool unlocked);

/* fread of n bytes, in pieces. The bytes read; *err is the errno when
 * the runtime's own wait failed (else errno is glibc's). */
long evs_stdio_read(FILE *fp, void *p, size_t n, bool unlocked, int *err);

/* getdelim: the count, or -1 (end of file, or an error: errno is
 * glibc's, or *err when nonzero); *err may be set with a count too (an
 * error after part of the line, as glibc returns it). */
ssize_t evs_stdio_getdelim(char **line, size_t *cap, int delim, FILE *fp, int *err);

/* Before a call that writes at most one byte to fp (putc, __overflow) or
 * flushes it (c EOF: fflush, fclose): park until the fd is writable if
 * the call will write to it. 0, or -errno (fp's error flag set). */
long evs_stdio_out(FILE *fp, int c);

/* fwrite of n bytes, in pieces that each write to the fd at most once.
 * The bytes written; *err as for evs_stdio_read. */
long evs_stdio_write(FILE *fp, const void *p, size_t n, bool unlocked, int *err);

/* fputs-like: all n bytes or -errno (a write error during the call fails
 * it, as it fails fputs, puts and printf). */
long evs_stdio_puts(FILE *fp, const void *p, size_t n, bool unlocked);

/* vfprintf: formatted first, then written as evs_stdio_puts writes.
 * chk_flag -1 for the plain forms, else the _chk forms' flag. ap is
 * consumed even when the answer is EVS_USE_REAL: pass a copy. */
long evs_stdio_vprintf(FILE *fp, int chk_flag, const char *fmt, va_list ap);

/* fp's fd is about to be closed inside glibc (fclose, pclose), or is new
 * from inside glibc (popen): its record is forgotten (rt/fdtab.h). */
void evs_stdio_closing(FILE *fp);
#endif
