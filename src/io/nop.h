/* One socket operation as the io_uring backend sees it (io/uring.h): a
 * plain description, made by the runtime's I/O verbs (rt/xfer.c,
 * rt/net.c) when a call would block, carried out by the worker's ring. */
#ifndef EVS_NOP_H
#define EVS_NOP_H
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

enum evs_nop_kind {
	EVS_NOP_RECV,       /* recv(fd, buf, len, flags) */
	EVS_NOP_SEND,       /* send(fd, buf, len, flags) */
	EVS_NOP_RECVMSG,    /* recvmsg(fd, msg, flags) */
	EVS_NOP_SENDMSG,    /* sendmsg(fd, msg, flags) */
	EVS_NOP_ACCEPT,     /* accept4(fd, addr, alen, flags) */
};

struct evs_nop {
	int kind;
	int fd;
	void *buf;               /* RECV, SEND */
	size_t len;
	struct msghdr *msg;      /* RECVMSG, SENDMSG: read at submission, written
				  * back (names, flags) at completion */
	int flags;               /* MSG_* (RECV..SENDMSG), SOCK_* (ACCEPT) */
	struct sockaddr *addr;   /* ACCEPT */
	socklen_t *alen;
	bool poll_first;         /* wait for readiness before the first attempt
				  * (the caller just saw the socket empty or full) */
};
#endif
