/*
 * target.h - upstream target URLs: parsing and the checks they share with
 * the rest of an upstream.
 */
#ifndef ASTER_TARGET_H
#define ASTER_TARGET_H

#include "config/manifest.h"

struct arena;

/*
 * Parses t->url (http://host[:port][/base], https://..., unix:PATH) into
 * t->scheme, host, port (80/443 by default), path (a unix: socket,
 * resolved against the directory of the manifest holding t->node), base
 * (no trailing '/') and authority. Returns NULL when valid, else the
 * reason, allocated in a when it names a part.
 */
const char *target_parse(struct arena *a, struct upstream_target *t);

/*
 * RFC 1123 host name: dot-separated labels of letters, digits and '-'.
 * allow_underscore admits '_' too, as container service names hold it
 * and resolvers accept it (a target's host, not a TLS name).
 */
int target_is_host_name(const char *h, int allow_underscore);

/* 1 when s holds a space, a control byte or a byte outside ASCII. */
int target_has_bad_char(const char *s);

#endif
