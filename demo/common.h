/* What the demo servers share (each is still one plain program that knows
 * nothing of evshim): the loopback listener, and the static-file request
 * of the two HTTP servers. */
#ifndef DEMO_COMMON_H
#define DEMO_COMMON_H
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* A listening socket on 127.0.0.1:port (0: any free port), backlog 4096,
 * `type_flags` or'ed into SOCK_STREAM (SOCK_NONBLOCK for an event loop).
 * Prints "listening on PORT" and writes PORT to portfile when given.
 * -1 (with the reason on stderr) when it cannot. */
static inline int demo_listen(int port, int type_flags, const char *portfile)
{
	int ls = socket(AF_INET, SOCK_STREAM | type_flags, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 4096)) {
		perror("bind/listen");
		return -1;
	}
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	printf("listening on %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	if (portfile) {
		FILE *f = fopen(portfile, "w");
		if (f) {
			fprintf(f, "%d\n", ntohs(sa.sin_port));
			fclose(f);
		}
	}
	return ls;
}

/* One GET request line in req for a file under docroot: 200 with *file
 * open and its size in *size; otherwise the status to answer (400 and
 * 405 close the connection, 403 and 404 keep it) and its reason. */
static inline int demo_http_open(const char *docroot, const char *req, int *file, off_t *size,
				 const char **reason)
{
	char method[8], path[512];
	if (sscanf(req, "%7s %511s", method, path) != 2)
		return *reason = "Bad Request", 400;
	if (strcmp(method, "GET"))
		return *reason = "Method Not Allowed", 405;
	/* sanity-check the file name: absolute, no parent references */
	if (path[0] != '/' || strstr(path, "..") || strchr(path, '\\'))
		return *reason = "Forbidden", 403;
	char full[1024];
	snprintf(full, sizeof(full), "%s%s", docroot, path);
	*file = open(full, O_RDONLY);
	if (*file < 0)
		return *reason = "Not Found", 404;
	struct stat st;
	if (fstat(*file, &st) || !S_ISREG(st.st_mode)) {
		close(*file);
		return *reason = "Not Found", 404;
	}
	*size = st.st_size;
	return 200;
}

/* The 200 response's header for a body of size bytes, into hdr. */
static inline int demo_http_header(char *hdr, size_t len, off_t size)
{
	return snprintf(hdr, len, "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n"
			"Content-Type: application/octet-stream\r\n\r\n", (long long)size);
}
#endif
