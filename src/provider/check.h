/*
 * check.h - validating a service's `config:` against its provider.
 */
#ifndef ASTER_PROVIDER_CHECK_H
#define ASTER_PROVIDER_CHECK_H

#include "aster/provider.h"
#include "config/node.h"
#include "diag.h"

struct arena;

/*
 * Checks config (NULL: the service wrote none; at is then where errors
 * point) against p's key table, then runs p->validate. Every problem is
 * reported as provider-config. Returns the number of errors.
 */
size_t provider_check_config(struct diag_list *dl, struct arena *a,
                             const struct aster_provider *p,
                             const node_t *config, const node_t *at);

#endif
