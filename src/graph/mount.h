/*
 * mount.h - route mount paths: syntax, shape, and the scope prefixes.
 */
#ifndef ASTER_MOUNT_H
#define ASTER_MOUNT_H

struct arena;

/*
 * Checks path against SPEC §3.2: starts with '/', no trailing '/' (but
 * "/"), segments are literals or a whole {param}, no "." or "..", no "//",
 * '?' or '#', no control characters or spaces, parameter names unique;
 * and against §7.1: a literal must decode to UTF-8 without '/', NUL, "."
 * or "..", or no request segment could match it. Returns NULL when valid
 * and sets *shape to the path with every {param} written as {} and every
 * literal in one spelling of its decoded bytes (two paths with one shape
 * conflict: "/%68ealth" is "/health"); otherwise returns the reason (an
 * arena string).
 */
const char *mount_check(struct arena *a, const char *path,
                        const char **shape);

/* The prefix a scope is confined to, and that excludes other scopes. */
#define MOUNT_ADMIN_PREFIX "/gateway/v1/admin"
#define MOUNT_INTERNAL_PREFIX "/gateway/v1/internal"

/* True when path is prefix itself or lies below it. */
int mount_under(const char *path, const char *prefix);

#endif
