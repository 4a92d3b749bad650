/* Learned system-call sites.
 *
 * A library that makes its waits with the `syscall` instruction itself
 * (GNU OpenMP's barriers: an inline futex wait) holds its worker until
 * the monitor notices, 1 ms or more later, and hands the call off
 * (rt/handoff.c); with more OpenMP threads than workers every parallel
 * region paid that, about 10 ms instead of microseconds. Once the monitor
 * has handed off a call at a site in the program's own code (any module
 * but libc, the loader, libgcc and the shim: rt/safepoint.h), that site
 * is rewritten: of its two bytes `0f 05` (syscall) the second becomes
 * `0b`, making `0f 0b` (ud2), a single byte stored on a page made
 * writable for the moment, so a thread running there sees one or the
 * other whole instruction. Its next calls raise SIGILL, and the handler
 * here makes them as the monitor would have, at once: a futex wait whose
 * word already differs answers EAGAIN, any other handed-off call goes to
 * the pool (the kernel holds the wait, so a wake made the same unseen way
 * still reaches it) while the task parks; then the task goes on after the
 * instruction with the result in rax, as the kernel would have left it.
 *
 * A site seen with a call outside the handed-off set (a program's generic
 * system-call stub that also makes clone or rt_sigreturn), or with an
 * argument in swapped TLS, gets its `0f 05` back for good and the call is
 * made there. A thread the runtime does not own, or a vfork child, makes
 * the call itself from the handler. libc's own sites are never touched
 * (its internal waits hold its locks).
 *
 * SIGILL: the handler sits in front of whatever the program asked for
 * (rt/signal.c records it here instead of installing it): a SIGILL that
 * is not from a rewritten site goes on to that action, so an illegal
 * instruction of the program's still reaches its handler or the crash
 * report. While sites are rewritten, the workers never block SIGILL in
 * the kernel (a blocked fault would kill the process); what tasks block
 * is kept as always. */
#include "../evs.h"
#include "sitetrap.h"
#include "handoff.h"
#include "safepoint.h"
#include "../arch/cpu.h"
#include "sched.h"
#include "task.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include "../lock.h"
#include "../obs/log.h"
#include "../obs/stats.h"
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>

#define EVS_SITES_MAX 128

enum { SITE_TRAPS = 1, SITE_LEFT = 2 };
static struct site {
	uintptr_t ip;
	int state;
} sites[EVS_SITES_MAX];
static int nsites;             /* atomic: filled entries (written then published) */
static int learn_lock;         /* try-lock: the learner is a signal handler */
int evs_sitetrap_active;       /* atomic: our SIGILL handler is installed */
static struct sigaction chain; /* what SIGILL does when it is not a site's */
static int64_t active_since;   /* when the handler went in */
#define EVS_SITES_SETTLE_NS (10 * 1000000LL)

static struct site *find(uintptr_t ip)
{
	int n = __atomic_load_n(&nsites, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (sites[i].ip == ip)
			return &sites[i];
	return NULL;
}

/* The second byte of the instruction at ip to b, on a text page made
 * writable for the store and given back read-execute. */
static bool poke(uintptr_t ip, uint8_t b)
{
	uintptr_t at = ip + 1, page = at & ~(uintptr_t)4095;
	if (evs_sys6(SYS_mprotect, page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, 0, 0, 0) < 0)
		return false;
	__atomic_store_n((uint8_t *)at, b, __ATOMIC_SEQ_CST);
	evs_sys6(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC, 0, 0, 0);
	return true;
}

static void on_sigill(int sig, siginfo_t *si, void *ucv);

void evs_sitetrap_learn(ucontext_t *uc)
{
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	const uint8_t *p = (const uint8_t *)ip;
	if (evs_safepoint_at_ip(ip) != EVS_AT_PROGRAM || p[0] != 0x0f || p[1] != 0x05)
		return;
	if (__atomic_exchange_n(&learn_lock, 1, __ATOMIC_ACQUIRE))
		return;  /* another learner: this site comes round again */
	int n = __atomic_load_n(&nsites, __ATOMIC_RELAXED);
	int64_t now = evs_now_ns();
	if (!__atomic_load_n(&evs_sitetrap_active, __ATOMIC_ACQUIRE)) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigill;
		/* everything blocked: a SIGILL that is not a site's goes on
		 * to handlers that expect that (the crash report,
		 * rt/signal.c's entry); a site's call sets the worker's mask
		 * back itself */
		sa.sa_flags = SA_SIGINFO;
		sigfillset(&sa.sa_mask);
		evs_sig_trap_sigill(&sa, &chain);
		active_since = now;
	}
	/* this worker's mask at sigreturn: SIGILL open from now on */
	sigdelset(&uc->uc_sigmask, SIGILL);
	/* No site until every worker has opened SIGILL (the new mask
	 * reaches them with the runtime's signal within microseconds): a
	 * trap on a worker that blocks it would end the process. */
	if (now - active_since >= EVS_SITES_SETTLE_NS && !find(ip) && n < EVS_SITES_MAX) {
		/* Published before the rewrite: another thread (a spare worker,
		 * a thread the runtime does not own) may trap there as soon as
		 * the byte is stored, and a trap at a site not yet in the table
		 * went on to SIGILL's default action (raw_futex_sites died of
		 * SIGILL about 1 run in 5 on one worker). */
		sites[n].ip = ip;
		sites[n].state = SITE_TRAPS;
		__atomic_store_n(&nsites, n + 1, __ATOMIC_RELEASE);
		if (poke(ip, 0x0b))
			evs_stat_add(EVS_ST_sites_learned, 1);
		else
			__atomic_store_n(&sites[n].state, SITE_LEFT, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&learn_lock, 0, __ATOMIC_RELEASE);
}

bool evs_sitetrap_chain(const struct sigaction *act)
{
	if (!__atomic_load_n(&evs_sitetrap_active, __ATOMIC_ACQUIRE))
		return false;
	chain = *act;
	return true;
}

/* Not a site's SIGILL: what the program (or the crash report) asked for. */
static void pass_on(int sig, siginfo_t *si, void *ucv)
{
	void *h = (chain.sa_flags & SA_SIGINFO) ? (void *)chain.sa_sigaction : (void *)chain.sa_handler;
	if (h == (void *)SIG_IGN && si->si_code <= 0)
		return;  /* sent, and ignored */
	if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) {
		/* the kernel's own action: a fault comes again on return
		 * and ends the process; a sent one is sent again */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		REAL(sigaction)(sig, &dfl, NULL);
		__atomic_store_n(&evs_sitetrap_active, 0, __ATOMIC_RELEASE);
		if (si->si_code <= 0)
			evs_sys6(SYS_tgkill, evs_sys6(SYS_getpid, 0, 0, 0, 0, 0, 0),
				 evs_sys6(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, 0, 0, 0);
		return;
	}
	if (chain.sa_flags & SA_SIGINFO)
		chain.sa_sigaction(sig, si, ucv);
	else
		chain.sa_handler(sig);
}

/* A call at a trapping site, as the monitor would make it: a futex wait
 * whose word has moved answers as the kernel does, a wake is made here,
 * anything else goes to the pool while the task parks (a signal for it
 * ends such a wait as natively, rt/handoff.c). uc is set to resume after
 * the instruction. */
static void site_call(ucontext_t *uc, long call[7])
{
	evs_stat_add(EVS_ST_site_calls, 1);
	if (call[0] == SYS_futex) {
		int cmd = (int)(call[2] & FUTEX_CMD_MASK);
		if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET) {
			evs_uc_finish_syscall(uc, evs_handoff_raw(call));
			return;
		}
		if (__atomic_load_n((uint32_t *)call[1], __ATOMIC_ACQUIRE) != (uint32_t)call[3]) {
			evs_uc_finish_syscall(uc, -EAGAIN);
			return;
		}
	}
	evs_handoff_run(uc, call);
}

static void on_sigill(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	struct site *s = si->si_code == ILL_ILLOPN ? find((uintptr_t)g[REG_RIP]) : NULL;
	const uint8_t *p = (const uint8_t *)g[REG_RIP];
	if (!s) {
		pass_on(sig, si, ucv);
		return;
	}
	if (p[1] != 0x0b)
		return;  /* given back since it trapped: the syscall runs again */
	int saved = errno;
	/* the mask the worker had at the instruction (the handler's blocks
	 * everything): the call may park, and other tasks run here */
	evs_sys6(SYS_rt_sigprocmask, SIG_SETMASK, &uc->uc_sigmask, 0, 8, 0, 0);
	long call[7] = { g[REG_RAX], g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9] };
	evs_uc_syscall_made(uc);
	long r;
	if (!evs_current() || evs_vfork_child) {
		r = evs_handoff_raw(call);
	} else if (s->state == SITE_TRAPS && evs_handoff_call_ok(call)) {
		site_call(uc, call);
		errno = saved;
		return;
	} else {
		/* not a call to hand off: the instruction back, made there */
		if (__atomic_exchange_n(&s->state, SITE_LEFT, __ATOMIC_ACQ_REL) == SITE_TRAPS)
			poke((uintptr_t)g[REG_RIP], 0x05);
		if (p[1] != 0x0b) {  /* given back (here or by another thread) */
			errno = saved;
			return;
		}
		r = evs_handoff_raw(call);  /* mprotect refused: made here */
	}
	g[REG_RAX] = r;
	g[REG_RIP] += 2;
	errno = saved;
}
