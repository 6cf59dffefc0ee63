/*
 * interp.h - ${NAME} and ${NAME:-default} in manifest strings.
 */
#ifndef ASTER_INTERP_H
#define ASTER_INTERP_H

#include <stddef.h>

struct arena;

/*
 * Expands ${NAME} and ${NAME:-default} from the environment in the len
 * bytes at in. `$${` stands for a literal `${`. NAME is
 * [A-Za-z_][A-Za-z0-9_]*; a default may be empty and may not contain `}`.
 * ${NAME:-default} uses the default when NAME is unset or empty, as in sh.
 *
 * Returns 0 with *out (arena string; in itself when nothing changed) and
 * *outlen set; or -1 with *problem set to an arena-allocated message:
 * "environment variable 'X' is not set" (unset, no default) or
 * "malformed ${...} reference". On -1, *unset is 1 for the first case.
 */
int interp_expand(struct arena *a, const char *in, size_t len,
                  const char **out, size_t *outlen, const char **problem,
                  int *unset);

#endif
