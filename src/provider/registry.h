/*
 * registry.h - finding providers: built in, or <name>.so on the module path.
 *
 * A registry lives as long as the process: shared objects stay loaded
 * across configuration generations, so a reload never unmaps code that a
 * running service still uses.
 */
#ifndef ASTER_REGISTRY_H
#define ASTER_REGISTRY_H

#include <stddef.h>

struct aster_provider;
struct provider_registry;

/*
 * Creates a registry searching the directories of module_path (':'
 * separated, tried in order) after the built-in providers.
 */
struct provider_registry *registry_new(const char *module_path);
void registry_free(struct provider_registry *r);

/*
 * Returns the provider called name, loading <dir>/<name>.so on first use
 * (dlopen RTLD_NOW | RTLD_LOCAL). NULL when there is none or it cannot be
 * used; then, if err is set, *err is a message for the operator that names
 * the file (unreadable object, missing symbol, ABI mismatch, name
 * mismatch), or NULL when no file was found at all. The message lives as
 * long as the registry.
 */
const struct aster_provider *registry_get(struct provider_registry *r,
                                          const char *name,
                                          const char **err);

/*
 * Names of every provider that could be found (built-ins and *.so files on
 * the path), for "did you mean" hints. The array lives as long as the
 * registry.
 */
const char *const *registry_names(struct provider_registry *r, size_t *n);

/* The module path the registry searches. */
const char *registry_path(const struct provider_registry *r);

#endif
