/* Internal umbrella header: every runtime file includes this first. */
#ifndef EVS_H
#define EVS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Interposed libc names and the public API are the only exported symbols
 * (the library is built with -fvisibility=hidden). */
#define EVS_HOOK __attribute__((visibility("default")))
/* A second interposed name for the same hook: on x86-64 glibc's *64 forms
 * (open64, pread64, fcntl64...) are the same functions as the plain ones. */
#define EVS_HOOK_ALIAS(name, target) \
	extern __typeof(target) name __attribute__((alias(#target), visibility("default")))
#define EVS_LIKELY(x) __builtin_expect(!!(x), 1)
#define EVS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EVS_NORETURN __attribute__((noreturn))

#define evs_container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))

/* Results inside the runtime: >= 0 (a count, an fd, a value) or -errno, as
 * the kernel returns them. Only the hooks turn them into the caller's
 * convention: -1 and errno for libc calls (hook.h, evs_ret), a positive
 * error number for the pthread calls. One more value, outside the errno
 * range, says "the runtime cannot serve this call here": the caller makes
 * the real (blocking) call instead, and counts it as a fallback. */
#define EVS_USE_REAL (-4096)

/* The thread-local pointer every hook reads: the worker this kernel thread
 * is, or NULL for a thread the runtime does not own. initial-exec keeps the
 * access a single %fs-relative load (a preloaded library has static TLS). */
struct evs_worker;
extern __thread struct evs_worker *evs_self
	__attribute__((tls_model("initial-exec")));
/* Set in a vfork child (hook/vfork_x86_64.S) until it execs or exits: it
 * runs on its parent's memory, so nothing of the runtime's may change. */
extern __thread int evs_vfork_child __attribute__((tls_model("initial-exec")));

EVS_NORETURN void evs_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
