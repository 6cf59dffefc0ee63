/*
 * product.c - load, validate, plan.
 */
#include "product.h"

#include "graph/graph.h"
#include "util/arena.h"

struct config *
product_load(const char *dir, struct provider_registry *reg,
             struct diag_list *dl, int verbose)
{
	struct config *cfg = config_load(dir, dl, verbose);

	if (cfg != NULL)
		graph_validate(cfg, reg, dl);
	diag_sort(dl);
	return cfg;
}

const char *
product_summary(const struct config *cfg)
{
	const struct product *p = cfg->product;

	return arena_printf(cfg->arena, "configuration ok: product '%s' %s, "
	                    "%zu module%s, %zu route%s", p->id, p->version,
	                    cfg->nmembers, cfg->nmembers == 1 ? "" : "s",
	                    cfg->nroutes, cfg->nroutes == 1 ? "" : "s");
}
