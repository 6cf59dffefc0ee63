/*
 * product.h - loading and validating a product: the one path shared by
 * --check-config, --plan, start-up and reload.
 */
#ifndef ASTER_PRODUCT_H
#define ASTER_PRODUCT_H

#include "config/manifest.h"
#include "diag.h"

struct provider_registry;

/*
 * Loads dir, validates it with reg's providers and plans it. Diagnostics
 * are sorted into dl. Returns the configuration (planned when dl has no
 * errors), or NULL when dir could not be read at all.
 */
struct config *product_load(const char *dir, struct provider_registry *reg,
                            struct diag_list *dl, int verbose);

/* "configuration ok: product 'aster' 0.1.0, 3 modules, 5 routes". */
const char *product_summary(const struct config *cfg);

#endif
