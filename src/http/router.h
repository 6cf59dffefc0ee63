/*
 * router.h - the route table of one configuration generation.
 *
 * Compiled once per generation into a trie of path segments, so a lookup
 * costs the depth of the path, never the number of routes. Rules of SPEC
 * §7.1: a literal segment beats {param}; an exact route beats a prefix
 * route; the longest prefix wins. A listener sees only the routes of the
 * scopes it serves: the others do not exist there (404, not 405).
 */
#ifndef ASTER_ROUTER_H
#define ASTER_ROUTER_H

#include <stddef.h>

struct arena;
struct config;
struct route;

/* As many as a mount path may hold (graph/mount.c). */
#define ROUTER_MAX_PARAMS 32

/* Method bits (Allow headers are built from them). */
enum http_method_bit {
	METHOD_GET = 1u << 0,
	METHOD_HEAD = 1u << 1,
	METHOD_POST = 1u << 2,
	METHOD_PUT = 1u << 3,
	METHOD_PATCH = 1u << 4,
	METHOD_DELETE = 1u << 5,
	METHOD_OPTIONS = 1u << 6,
};

/* "GET" -> METHOD_GET; 0 for anything else. */
unsigned router_method_bit(const char *method);

/* "GET, HEAD, OPTIONS" for the bits set, in that order, into buf. */
const char *router_allow_text(unsigned methods, char *buf, size_t len);

struct route_param {
	const char *name;
	const char *value;      /* the segment decoded, in the caller's buf */
};

struct route_match {
	const struct route *route;  /* NULL: nothing for this method */
	unsigned allowed;           /* methods the matched path answers,
	                               HEAD with GET, OPTIONS always */
	size_t nparams;
	struct route_param params[ROUTER_MAX_PARAMS];
	const char *rest;           /* prefix routes: the raw path below the
	                               mount point ("" or "/x/y%2Fz"), for
	                               the handler to split on '/' and decode
	                               segment by segment */
};

struct router;

/*
 * Builds the router of cfg's members' routes in arena a (it lives as long
 * as the generation). cfg must be planned. Literal segments of mount
 * paths are percent-decoded once, as request segments are.
 */
struct router *router_build(struct arena *a, const struct config *cfg);

/*
 * Matches method and path for a listener serving scopes (enum scope
 * bits). path is raw and normalised, as http_path_raw() gives it (SPEC
 * §7.1): it is split on '/' and each segment percent-decoded once before
 * it is compared, so "%2F" never separates segments, a literal matches
 * its encoded spellings ("/%68ealth" is "/health") and a param may hold
 * '/'. Returns 200 with m->route set; 405 when the path exists for other
 * methods (m->allowed says which); 404 when no route of those scopes has
 * the path. For OPTIONS the result is 405-shaped (route NULL, allowed
 * set) unless a route declares OPTIONS itself. Param values (decoded,
 * NUL-terminated) and the rest (raw) are written into buf, which must
 * have room for strlen(path) + 1 bytes and outlive m; path need not.
 * Nothing is allocated.
 */
int router_match(const struct router *r, unsigned scopes, const char *method,
                 const char *path, char *buf, struct route_match *m);

/* Number of routes in the table. */
size_t router_count(const struct router *r);

#endif
