/*
 * builtin.h - providers compiled into asterd.
 */
#ifndef ASTER_BUILTIN_H
#define ASTER_BUILTIN_H

#include "aster/provider.h"

/* The core endpoints of SPEC §9: health, ready, product, modules, routes,
 * openapi and the internal state API (defined in handlers/gateway.c, on
 * aster/http.h like any provider). */
extern const struct aster_provider gateway_provider;

#endif
