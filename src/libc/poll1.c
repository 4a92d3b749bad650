/* One fd's readiness with a raw call (evs_sys_poll1, sys.h). poll() is
 * the call, but the kernel refuses more fds than RLIMIT_NOFILE allows,
 * even one (EINVAL): a process that lowered its limit to 0 (vsftpd's
 * session process) would have every such check fail, and the stdio
 * write behind it never made. pselect6 has no such limit: a bitmap of
 * fd + 1 bits, on the stack (fds up to 65535: 8 KiB). */
#include "sys.h"
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

long evs_sys_poll1(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	long r = evs_sys3(SYS_poll, &p, 1, timeout_ms);
	if (r != -EINVAL || fd < 0 || fd > 65535 || !(events & (POLLIN | POLLOUT)))
		return r < 0 ? r : (r ? p.revents : 0);
	uint64_t set[fd / 64 + 1];
	memset(set, 0, sizeof(set));
	set[fd / 64] = 1ull << (fd % 64);
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000 };
	bool in = events & POLLIN;
	r = evs_sys6(SYS_pselect6, fd + 1, in ? set : NULL, in ? NULL : set, NULL,
		     timeout_ms < 0 ? NULL : &ts, NULL);
	if (r <= 0)
		return r;
	return in ? POLLIN : POLLOUT;
}
