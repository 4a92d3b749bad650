/* What rt/signal.c shares with rt/sigwait.c, and no one else. */
#ifndef EVS_SIGINT_H
#define EVS_SIGINT_H
#include "signal.h"

/* A queued signal. Standard signals are queued once per task (a second
 * one while the first is pending is merged, as the kernel does); real-time
 * ones each time, while records last (a fixed pool: a handler may not
 * allocate). */
struct sigrec {
	struct evs_link link;
	siginfo_t info;
	bool to_process;         /* sent to the process: re-routed if its task ends */
};

extern int evs_sig_lock;
extern struct evs_queue evs_sig_tasks, evs_sig_procq;
extern evs_sigbits evs_sig_procpend;
/* Signals the runtime's handler has caught (on any worker) and not yet
 * routed to a task: raised at the handler's entry, lowered once the signal
 * is queued on its task (or dropped). Atomic. */
extern int evs_sig_transit;

struct sigrec *evs_sig_rec_get(void);
void evs_sig_rec_put(struct sigrec *r);
evs_sigbits evs_sig_bits_of(struct evs_queue *q);
struct sigrec *evs_sig_dequeue(struct evs_queue *q, evs_sigbits want);
void evs_sig_set_mask(struct evs_task *t, evs_sigbits m);
/* Run t's deliverable handlers; uc (the kernel's frame) goes to the
 * handler of signal sig_uc, or with EVS_SIG_UC_FIRST to the first one
 * run; the others get the task's registers where it runs them. */
#define EVS_SIG_UC_FIRST (-1)
int evs_sig_run_pending(struct evs_task *t, int sig_uc, ucontext_t *uc);
/* The signals whose handler is the program's (the runtime's evs_sig_entry
 * stands for it in the kernel), faults left out. */
evs_sigbits evs_sig_caught(void);
#endif
