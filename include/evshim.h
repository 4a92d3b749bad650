/* evshim public API: the little a program may call on purpose. Programs
 * need none of it; it is for tools and tests that want to know whether they
 * run under the shim and what it did. */
#ifndef EVSHIM_H
#define EVSHIM_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVSHIM_VERSION "0.1.0"

struct evshim_stats {
	int workers;             /* worker threads configured */
	uint64_t tasks_live;     /* tasks (threads) alive now, main included */
	uint64_t tasks_peak;     /* most tasks alive at once */
	uint64_t tasks_created;  /* pthread_create calls served as tasks */
	uint64_t switches;       /* task switches */
	uint64_t parks;          /* blocking calls that parked a task */
	uint64_t fallbacks;      /* calls passed to the real blocking call */
};

/* The library's version string. */
const char *evshim_version(void);
/* 1 when the caller runs as an evshim task, 0 otherwise. */
int evshim_in_task(void);
/* Fill *out with a snapshot of the counters; 0 on success, -1 if out is
 * NULL. */
int evshim_stats(struct evshim_stats *out);

#ifdef __cplusplus
}
#endif
#endif
