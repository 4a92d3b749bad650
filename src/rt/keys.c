/* pthread keys per task.
 *
 * Key numbers come from the real pthread_key_create, so they are unique
 * process-wide and a thread the runtime does not own (which uses the real
 * pthread_getspecific) sees the same key. Tasks keep their values in
 * t->keys: 32 blocks of 32 slots, the first inside the task record (as
 * glibc keeps keys 0-31 inside its thread descriptor), the others
 * allocated when first used. Setting one of the first 32 never calls
 * malloc: an allocator of the program's own (jemalloc, in rustc) sets its
 * per-thread key from inside its first malloc of a thread, and a set that
 * allocated would call it back half-way. Each slot records the
 * key's generation when it was set; pthread_key_delete bumps the
 * generation, so stale values read as NULL without visiting every task. */
#include "../evs.h"
#include "task.h"
#include "sched.h"
#include "keys.h"
#include "../libc/real.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#define EVS_KEYS_MAX (EVS_KEY_BLOCKS * EVS_KEY_BLOCK)

static struct {
	uint32_t seq;               /* atomic: odd while the key exists */
	void (*dtor)(void *);
} keytab[EVS_KEYS_MAX];

int evs_key_create(pthread_key_t *k, void (*dtor)(void *))
{
	int r = REAL(pthread_key_create)(k, dtor);
	if (r)
		return r;
	if (*k >= EVS_KEYS_MAX) {  /* cannot happen with glibc (1024 keys) */
		REAL(pthread_key_delete)(*k);
		return EAGAIN;
	}
	keytab[*k].dtor = dtor;
	__atomic_store_n(&keytab[*k].seq, (keytab[*k].seq + 1) | 1, __ATOMIC_RELEASE);
	return 0;
}

int evs_key_delete(pthread_key_t k)
{
	if (k >= EVS_KEYS_MAX || !(keytab[k].seq & 1))
		return EINVAL;
	__atomic_store_n(&keytab[k].seq, keytab[k].seq + 1, __ATOMIC_RELEASE);
	return REAL(pthread_key_delete)(k);
}

void *evs_key_get(struct evs_task *t, pthread_key_t k)
{
	if (k >= EVS_KEYS_MAX)
		return NULL;
	struct evs_keyval *b = t->keys[k / EVS_KEY_BLOCK];
	if (!b)
		return NULL;
	struct evs_keyval *e = &b[k % EVS_KEY_BLOCK];
	return e->seq == __atomic_load_n(&keytab[k].seq, __ATOMIC_ACQUIRE) ? e->val : NULL;
}

int evs_key_set(struct evs_task *t, pthread_key_t k, uintptr_t v)
{
	uint32_t seq;
	if (k >= EVS_KEYS_MAX || !((seq = __atomic_load_n(&keytab[k].seq, __ATOMIC_ACQUIRE)) & 1))
		return EINVAL;
	struct evs_keyval **bp = &t->keys[k / EVS_KEY_BLOCK];
	if (!*bp && k < EVS_KEY_BLOCK)
		*bp = t->key0;
	if (!*bp) {
		/* calloc may be the program's, and set a key of this task
		 * itself (in this very block): keep whichever block is in
		 * place when it returns, so no value set meanwhile is lost. */
		struct evs_keyval *b = calloc(EVS_KEY_BLOCK, sizeof(*b));
		if (!b)
			return ENOMEM;
		if (*bp)
			free(b);
		else
			*bp = b;
	}
	(*bp)[k % EVS_KEY_BLOCK].val = (void *)v;
	(*bp)[k % EVS_KEY_BLOCK].seq = seq;
	return 0;
}

/* As glibc does at thread exit: up to PTHREAD_DESTRUCTOR_ITERATIONS rounds,
 * each clearing a slot before calling its destructor, until a round finds
 * no value left. */
void evs_keys_run_destructors(struct evs_task *t)
{
	for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
		int called = 0;
		for (int b = 0; b < EVS_KEY_BLOCKS; b++) {
			struct evs_keyval *blk = t->keys[b];
			if (!blk)
				continue;
			for (int i = 0; i < EVS_KEY_BLOCK; i++) {
				int k = b * EVS_KEY_BLOCK + i;
				void *v = blk[i].val;
				if (!v || blk[i].seq != __atomic_load_n(&keytab[k].seq, __ATOMIC_ACQUIRE))
					continue;
				blk[i].val = NULL;
				if (keytab[k].dtor) {
					keytab[k].dtor(v);
					called = 1;
				}
			}
		}
		if (!called)
			break;
	}
	for (int b = 0; b < EVS_KEY_BLOCKS; b++) {
		struct evs_keyval *blk = t->keys[b];
		t->keys[b] = NULL;
		if (blk != t->key0)
			free(blk);
	}
}
