#include "real.h"
#include <dlfcn.h>

struct evs_real evs_real;

/* dlsym(RTLD_NEXT) allocates only on its error path, and the shim does not
 * interpose malloc, so resolution cannot recurse into the shim. A name the
 * next library does not define (an older glibc) stays NULL; its hook then
 * answers ENOSYS instead of crashing. */
void evs_real_init(void)
{
#define R(name, ret, params) \
	evs_real.name = (ret (*) params)dlsym(RTLD_NEXT, #name);
#include "real.def"
#undef R
}
