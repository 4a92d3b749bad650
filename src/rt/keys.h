#ifndef EVS_KEYS_H
#define EVS_KEYS_H
#include <pthread.h>
#include <stdint.h>
struct evs_task;
int evs_key_create(pthread_key_t *k, void (*dtor)(void *));
int evs_key_delete(pthread_key_t k);
void *evs_key_get(struct evs_task *t, pthread_key_t k);
int evs_key_set(struct evs_task *t, pthread_key_t k, uintptr_t v);
#endif
