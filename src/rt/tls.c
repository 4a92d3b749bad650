#include "../evs.h"
#include "tls.h"
#include "sched.h"
#include "task.h"
#include "../obs/log.h"
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#define EVS_TLS_MAX_MODS 64

static struct tls_mod {
	ptrdiff_t off;           /* block address - thread pointer */
	size_t memsz, filesz;
	const void *image;
	size_t at;               /* where it sits in a task's save area */
} mods[EVS_TLS_MAX_MODS];
static int nmods;
size_t evs_tls_total;

struct evs_tls_dtor {
	void (*fn)(void *);
	void *obj;
	struct evs_tls_dtor *next;
};

static int is_libc(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	return !strncmp(base, "libc.so", 7);
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	char *tp = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_TLS || !info->dlpi_tls_data || !ph->p_memsz)
			continue;
		ptrdiff_t off = (char *)info->dlpi_tls_data - tp;
		ptrdiff_t self = (char *)&evs_self - tp;
		if (is_libc(info->dlpi_name) || (self >= off && self < off + (ptrdiff_t)ph->p_memsz))
			continue;  /* glibc's block, the shim's own block */
		if (nmods == EVS_TLS_MAX_MODS) {
			evs_log(EVS_LOG_WARN, "more than %d TLS modules; %s stays per worker",
				EVS_TLS_MAX_MODS, info->dlpi_name);
			continue;
		}
		struct tls_mod *m = &mods[nmods++];
		m->off = off;
		m->memsz = ph->p_memsz;
		m->filesz = ph->p_filesz;
		m->image = (const void *)(info->dlpi_addr + ph->p_vaddr);
		m->at = evs_tls_total;
		evs_tls_total += (m->memsz + 15) & ~(size_t)15;
	}
	return 0;
}

void evs_tls_init(void)
{
	dl_iterate_phdr(collect, __builtin_thread_pointer());
}

void evs_tls_worker_start(struct evs_worker *w)
{
	w->tp = __builtin_thread_pointer();
}

int evs_tls_task_init(struct evs_task *t)
{
	if (!evs_tls_total)
		return 0;
	t->tls = malloc(evs_tls_total);
	if (!t->tls)
		return -ENOMEM;
	for (int i = 0; i < nmods; i++) {
		char *dst = (char *)t->tls + mods[i].at;
		memcpy(dst, mods[i].image, mods[i].filesz);
		memset(dst + mods[i].filesz, 0, mods[i].memsz - mods[i].filesz);
	}
	return 0;
}

void evs_tls_task_free(struct evs_worker *w, struct evs_task *t)
{
	if (w->tls_owner == t)
		w->tls_owner = NULL;  /* its copy is dead: nothing to save */
	free(t->tls);
	t->tls = NULL;
}

bool evs_tls_overlaps(const void *p, size_t n)
{
	if (!evs_tls_total)
		return false;
	const char *tp = __builtin_thread_pointer(), *a = p;
	for (int i = 0; i < nmods; i++) {
		const char *lo = tp + mods[i].off, *hi = lo + mods[i].memsz;
		if (a < hi && a + n > lo)
			return true;
	}
	return false;
}

void evs_tls_swap(struct evs_worker *w, struct evs_task *next)
{
	struct evs_task *old = w->tls_owner;
	char *tp = w->tp;
	for (int i = 0; i < nmods; i++) {
		char *blk = tp + mods[i].off;
		if (old)
			memcpy((char *)old->tls + mods[i].at, blk, mods[i].memsz);
		memcpy(blk, (char *)next->tls + mods[i].at, mods[i].memsz);
	}
	w->tls_owner = next;
}

int evs_tls_add_dtor(struct evs_task *t, void (*fn)(void *), void *obj)
{
	struct evs_tls_dtor *d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->obj = obj;
	d->next = t->tls_dtors;
	t->tls_dtors = d;
	return 0;
}

void evs_tls_run_dtors(struct evs_task *t)
{
	struct evs_tls_dtor *d;
	while ((d = t->tls_dtors)) {
		t->tls_dtors = d->next;
		d->fn(d->obj);
		free(d);
	}
}
