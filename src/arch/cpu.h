/* The CPU details the runtime needs besides the context switch: a pause
 * for spin loops and the raw system call instruction. One file per
 * architecture behind this header; only x86-64 is written so far. */
#ifndef EVS_ARCH_CPU_H
#define EVS_ARCH_CPU_H
#if defined(__x86_64__)
#include "x86_64/cpu.h"
#else
#error "evshim: only x86-64 is supported so far (src/arch/x86_64/cpu.h)"
#endif
#endif
