/* The task dump (rt/dump.c): on the EVSHIM_DUMP signal, or a deadlock
 * the monitor proves, every task with its wait and backtrace, on stderr. */
#ifndef EVS_DUMP_H
#define EVS_DUMP_H
#include <stdint.h>

struct evs_worker;

/* Raised while a dump is being written: workers hold in their scheduler
 * (sched.c checks it at the top of its loop and before a direct hop). */
extern int evs_dump_stop;
void evs_dump_hold(struct evs_worker *w);

void evs_dump_init(void);          /* at load: the signal's handler */
void evs_dump_start(void);         /* with the runtime: the dump thread */
void evs_dump_atfork_child(void);
/* The monitor, each tick. */
void evs_dump_check_deadlock(int64_t now);
#endif
