/* A library that dlopen_spin.c loads with dlopen: a loop of its own, and
 * a call back into its caller's code (an interpreter's thread start, as
 * OCaml's dllthreads.so runs the bytecode interpreter). Built without
 * frame pointers, as Debian builds its libraries. */
#define OMIT __attribute__((noinline, optimize("omit-frame-pointer")))

OMIT long spinmod_loop(volatile int *flag, long n)
{
	while (n && !*flag)
		n--;
	return n;
}

/* Not a tail call: this frame stays on the stack below cb's. */
OMIT long spinmod_call(long (*cb)(volatile int *, long), volatile int *flag, long n)
{
	volatile long r = cb(flag, n);
	return r;
}
