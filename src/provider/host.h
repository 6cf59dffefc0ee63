/*
 * host.h - the function table given to providers (struct aster_host) and
 * what stands behind the opaque handles it takes.
 */
#ifndef ASTER_PROVIDER_HOST_H
#define ASTER_PROVIDER_HOST_H

#include <stddef.h>

#include "aster/provider.h"
#include "config/node.h"

struct arena;
struct diag_list;

/* What a validate hook reports into, behind the opaque aster_check. */
struct aster_check {
	struct diag_list *dl;
	struct arena *arena;
	const struct aster_provider *provider;
	const node_t *config;
	size_t errors;
};

/* The runtime's side of a service handle: host->started(),
 * host->event_base() and host->store() call these. */
struct service_calls {
	void (*started)(struct aster_service *svc, int ok, const char *cause);
	struct event_base *(*event_base)(struct aster_service *svc);
	const struct aster_store *(*store)(struct aster_service *svc);
};

/* A service handle as providers receive it: the runtime embeds one in
 * its own record of the service, first, and fills calls. */
struct aster_service {
	const struct service_calls *calls;
};

/* The table (SPEC §4), the same at check time and at run time. */
const struct aster_host *provider_host(void);

#endif
