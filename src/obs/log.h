/* Diagnostics on stderr, never stdout (the program owns stdout). */
#ifndef EVS_LOG_H
#define EVS_LOG_H

#include <stddef.h>

#define EVS_LOG_OFF   0
#define EVS_LOG_ERROR 1
#define EVS_LOG_WARN  2
#define EVS_LOG_INFO  3
#define EVS_LOG_DEBUG 4

/* The level in force: set once at start-up from EVSHIM_LOG (rt/config.c),
 * read-only afterwards. */
extern int evs_log_level;

/* One line to stderr, "evshim[PID]: " and the message, with a raw write:
 * safe in any context, allocates nothing, never touches stdio's locks.
 * The default level is warn: what went wrong, and what the runtime does
 * instead, is shown; info tells the start-up choices, debug each
 * fallback. */
void evs_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Text built in a caller's fixed buffer (reports, dumps, backtraces):
 * evs_text_put appends at *n what fits and keeps room for nothing more
 * (the text is cut, never overrun); evs_text_write writes it all to fd
 * with raw writes. Neither allocates nor takes a lock: both are safe in a
 * signal handler and on a small alternate stack. */
void evs_text_put(char *buf, size_t len, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void evs_text_write(int fd, const char *buf, size_t n);

#define evs_log(level, ...) \
	do { if (evs_log_level >= (level)) evs_log_line(__VA_ARGS__); } while (0)
#endif
