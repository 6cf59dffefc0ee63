/*
 * store.c - which state store a module reaches, and whether it is up.
 *
 * A store is not a global: it is a service of the module that provides
 * `state-store`, and a module reaches it only by providing it or by
 * needing it (SPEC §8; aster/store.h). The lookups here walk the
 * request's or the start's generation, so a reload that switches SQLite
 * for PostgreSQL switches every user at once.
 */
#include "runtime/runtime.h"

#include <string.h>

#include <aster/provider.h>
#include <aster/store.h>

/* The run of the member providing the store m reaches, or NULL. */
static struct module_run *
store_run_for(struct generation *g, const struct module *m)
{
	if (strlist_has(&m->provides, ASTER_STORE_CAPABILITY))
		return generation_find_run(g, m->id);
	if (!strlist_has(&m->needs, ASTER_STORE_CAPABILITY))
		return NULL;
	return g->store_run;
}

const struct aster_store *
runtime_run_store(struct module_run *run)
{
	size_t i;

	run = module_run_live(run);
	for (i = 0; i < run->nservices; i++)
		if (run->services[i].started &&
		    run->services[i].store.ops != NULL)
			return &run->services[i].store;
	return NULL;
}

const struct aster_store *
runtime_store_of(struct generation *g, const struct module *m)
{
	struct module_run *run = store_run_for(g, m);

	return run != NULL ? runtime_run_store(run) : NULL;
}

int
runtime_run_healthy(struct module_run *run)
{
	size_t i;

	run = module_run_live(run);
	for (i = 0; i < run->nservices; i++) {
		const struct aster_store *s = &run->services[i].store;

		if (run->services[i].started && s->ops != NULL &&
		    s->ops->healthy != NULL && !s->ops->healthy(s->self))
			return 0;
	}
	return 1;
}
