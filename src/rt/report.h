/* Counters added up, and the exit report (rt/report.c). */
#ifndef EVS_REPORT_H
#define EVS_REPORT_H
#include "../obs/stats.h"
#include <stdbool.h>

extern uint64_t evs_tasks_peak;     /* most tasks alive at once (atomic max) */

uint64_t evs_stat_total(enum evs_stat s);
/* At start-up: the report's duplicate of stderr (EVSHIM_STATS=1). */
void evs_report_init(void);
/* Before a fork (pthread_atfork): the EVSHIM_STATS file opened and held,
 * for a child that gives up the right to open it (report.c). */
void evs_report_prefork(void);
/* A runtime kernel thread started (+1) or ended (-1): the peak count. */
void evs_kthread_count(int delta);
/* Does the process have threads that are neither main nor the runtime's
 * (made with clone, or before the shim)? Reads /proc: for rare checks. */
bool evs_foreign_threads(void);
/* A call the runtime passes to the real (blocking) function: counted in
 * total and by `call` (a string literal, the hook's name); `why` says
 * why for the debug log (an fd kind...), or NULL. */
void evs_fallback(const char *call, const char *why);
/* fork(): the child's report starts from zero, its tasks (live_tasks)
 * and kernel threads (one) as they are. */
void evs_report_atfork_child(uint64_t live_tasks);
/* Write the exit report to stderr (the start-up duplicate) or the
 * EVSHIM_STATS file. */
void evs_report_write(void);
/* The exit report, if EVSHIM_STATS asks for it, once per process: from
 * the runtime's destructor (exit) or from _exit and _Exit (hook/proc.c),
 * which run no destructor. */
void evs_report_exit(void);
#endif
