/*
 * listen.h - listener addresses: parsing and normalising.
 */
#ifndef ASTER_LISTEN_H
#define ASTER_LISTEN_H

#include "config/manifest.h"

struct arena;

/*
 * Parses l->address (host:port, [IPv6]:port, unix:PATH) into l->kind,
 * host, port, path and the normalised text l->normal (lower-case host,
 * canonical IP literals, resolved unix path) that duplicates are found
 * by. Returns NULL when valid, else the reason.
 */
const char *listen_parse(struct arena *a, struct listener *l);

#endif
