/* yield_turns with 4 KiB of __thread data that both threads touch: the
 * cost of switching tasks when TLS has to be swapped. */
#define TOUCH_TLS_BYTES 4096
#include "yield_turns.c"
