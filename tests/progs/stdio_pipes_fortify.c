/* stdio_pipes built with _FORTIFY_SOURCE: the same calls reach glibc as
 * __printf_chk, __fprintf_chk, __fgets_chk, __fread_chk. */
#define _FORTIFY_SOURCE 2
#include "stdio_pipes.c"
