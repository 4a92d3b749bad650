#include "../evs.h"
#include "log.h"
#include "../libc/sys.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int evs_log_level = EVS_LOG_WARN;

void evs_log_line(const char *fmt, ...)
{
	char buf[512];
	int p = snprintf(buf, sizeof(buf), "evshim[%ld]: ", evs_sys3(SYS_getpid, 0, 0, 0));
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + p, sizeof(buf) - 1 - (size_t)p, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += p;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)evs_sys_write(2, buf, (size_t)n);
}

void evs_text_put(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	if (*n + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = (size_t)k < len - *n ? *n + (size_t)k : len - 1;
}

void evs_text_write(int fd, const char *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		long r = evs_sys_write(fd, buf + off, n - off);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
}

void evs_panic(const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	evs_log_line("fatal: %s", buf);
	abort();
}
