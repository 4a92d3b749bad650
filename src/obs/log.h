/* Diagnostics on stderr, never stdout (the program owns stdout). */
#ifndef EVS_LOG_H
#define EVS_LOG_H
#include "../rt/config.h"

/* One line to stderr with a raw write: safe in any context, allocates
 * nothing, never touches stdio's locks. */
void evs_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define evs_log(level, ...) \
	do { if (evs_config.log_level >= (level)) evs_log_line(__VA_ARGS__); } while (0)
#define EVS_LOG_ERROR 1
#define EVS_LOG_WARN  2
#define EVS_LOG_INFO  3
#define EVS_LOG_DEBUG 4
#endif
