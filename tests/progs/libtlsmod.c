/* A library with __thread data, loaded with dlopen by tls_dlopen.c. */
static __thread long value;
void tlsmod_set(long v) { value = v; }
long tlsmod_get(void) { return value; }
