/* Task stacks: one mapping per task holding a guard page, the stack, and
 * the task struct at the very end, in the page of the stack's top (so a
 * task costs one mmap and two VMAs: the guard and the rest; mind
 * vm.max_map_count). The stack runs up to the struct: a task's
 * stack_size is the size asked for (rounded up to pages) plus the room
 * the struct leaves in its page.
 *
 * Mappings are MAP_NORESERVE: a 8 MiB stack costs address space, and only
 * the pages it touches cost memory. Finished mappings go to a cache (reused
 * by the next task asking for the same size) after madvise(MADV_DONTNEED)
 * has given their memory back, except the top EVS_STACK_KEEP bytes, which
 * the next task will touch first anyway. */
#ifndef EVS_STACK_H
#define EVS_STACK_H
#include <stddef.h>

struct evs_task;

/* Allocate a task with a stack of `size` bytes and a guard of `guard`
 * bytes (both rounded up to pages) into *out: 0, or -EAGAIN when out of
 * memory or mappings (what pthread_create reports then). */
int evs_stack_alloc(size_t size, size_t guard, struct evs_task **out);
/* Give the stack's memory back; the mapping stays (joinable task). */
void evs_stack_retire(struct evs_task *t);
/* Return the mapping to the cache or unmap it. */
void evs_stack_free(struct evs_task *t);
size_t evs_stack_default(void);
/* The stack size the task was made with (what the program or
 * EVSHIM_STACK_SIZE asked for, rounded up to pages), for reports. */
size_t evs_stack_asked(const struct evs_task *t);
#endif
