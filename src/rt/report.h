/* Counters added up, and the exit report (rt/report.c). */
#ifndef EVS_REPORT_H
#define EVS_REPORT_H
#include "../obs/stats.h"

extern uint64_t evs_tasks_peak;     /* most tasks alive at once (atomic max) */

uint64_t evs_stat_total(enum evs_stat s);
/* Write the exit report to stderr or the EVSHIM_STATS file. */
void evs_report_write(void);
#endif
