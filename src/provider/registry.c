/*
 * registry.c - built-in providers and dlopen'ed shared objects.
 */
#include "provider/registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aster/provider.h"
#include "provider/builtin.h"
#include "util/arena.h"
#include "util/strmap.h"

static const struct aster_provider *const builtins[] = {
	&gateway_provider,
};

/* What a name resolved to, successful or not, so each .so is opened and
 * judged once. */
struct entry {
	const struct aster_provider *provider;
	const char *error;
	void *handle;
};

struct provider_registry {
	struct arena *arena;
	const char *path;
	const char **dirs;      /* path split at ':', empty parts dropped */
	size_t ndirs;
	struct strmap *entries;
	void **handles;
	size_t nhandles, handles_cap;
	const char **names;
	size_t nnames;
	int names_listed;
};

/* Splits the ':'-separated module path once, for every later search. */
static void
split_path(struct provider_registry *r)
{
	const char *p = r->path;

	r->dirs = arena_alloc(r->arena, (strlen(p) / 2 + 2) * sizeof(*r->dirs));
	while (*p != '\0') {
		size_t len = strcspn(p, ":");

		if (len > 0)
			r->dirs[r->ndirs++] = arena_strndup(r->arena, p, len);
		p += len;
		if (*p == ':')
			p++;
	}
}

struct provider_registry *
registry_new(const char *module_path)
{
	struct arena *a = arena_new();
	struct provider_registry *r;

	if (a == NULL)
		return NULL;
	r = arena_alloc(a, sizeof(*r));
	r->arena = a;
	r->path = arena_strdup(a, module_path != NULL ? module_path : "");
	r->entries = strmap_new(a);
	split_path(r);
	return r;
}

void
registry_free(struct provider_registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nhandles; i++)
		dlclose(r->handles[i]);
	arena_free(r->arena);
}

const char *
registry_path(const struct provider_registry *r)
{
	return r->path;
}

static const struct aster_provider *
find_builtin(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i]->name, name) == 0)
			return builtins[i];
	return NULL;
}

/* The first <dir>/<name>.so present on the module path, or NULL. */
static const char *
find_object(struct provider_registry *r, const char *name)
{
	struct stat st;
	size_t i;

	for (i = 0; i < r->ndirs; i++) {
		const char *file = arena_printf(r->arena, "%s/%s.so",
		                                r->dirs[i], name);

		if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
			return file;
	}
	return NULL;
}

static void
keep_handle(struct provider_registry *r, void *handle)
{
	r->handles = arena_grow(r->arena, r->handles, sizeof(*r->handles),
	                        r->nhandles, &r->handles_cap, r->nhandles + 1);
	r->handles[r->nhandles++] = handle;
}

/* Opens file and checks its descriptor; fills e. */
static void
open_object(struct provider_registry *r, const char *name, const char *file,
            struct entry *e)
{
	const struct aster_provider *p;
	void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		e->error = arena_printf(r->arena, "cannot load provider '%s' "
		                        "from %s: %s", name, file, dlerror());
		return;
	}
	p = dlsym(h, "aster_provider");
	if (p == NULL) {
		e->error = arena_printf(r->arena, "%s does not export the "
		                        "'aster_provider' descriptor", file);
		dlclose(h);
		return;
	}
	if (p->abi != ASTER_PROVIDER_ABI) {
		e->error = arena_printf(r->arena, "%s was built for provider "
		                        "ABI %u, but this asterd speaks ABI %u; "
		                        "rebuild it against this asterd's "
		                        "headers", file, (unsigned)p->abi,
		                        (unsigned)ASTER_PROVIDER_ABI);
		dlclose(h);
		return;
	}
	if (p->name == NULL || strcmp(p->name, name) != 0) {
		e->error = arena_printf(r->arena, "%s calls itself '%s', not "
		                        "'%s'", file, p->name ? p->name : "",
		                        name);
		dlclose(h);
		return;
	}
	keep_handle(r, h);
	e->provider = p;
}

const struct aster_provider *
registry_get(struct provider_registry *r, const char *name,
             const char **err)
{
	struct entry *e = strmap_get(r->entries, name);
	const char *file;

	if (e == NULL) {
		e = arena_alloc(r->arena, sizeof(*e));
		e->provider = find_builtin(name);
		/* A name with a slash would escape the module path. */
		if (e->provider == NULL && strchr(name, '/') == NULL &&
		    *name != '\0' && (file = find_object(r, name)) != NULL)
			open_object(r, name, file, e);
		strmap_put(r->entries, arena_strdup(r->arena, name), e);
	}
	if (err != NULL)
		*err = e->error;
	return e->provider;
}

static void
add_name(struct provider_registry *r, const char *name, size_t *cap)
{
	size_t i;

	for (i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], name) == 0)
			return;
	r->names = arena_grow(r->arena, r->names, sizeof(*r->names),
	                      r->nnames, cap, r->nnames + 1);
	r->names[r->nnames++] = name;
}

static void
list_dir(struct provider_registry *r, const char *dir, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0 &&
		    de->d_name[0] != '.')
			add_name(r, arena_strndup(r->arena, de->d_name,
			                          len - 3), cap);
	}
	closedir(d);
}

const char *const *
registry_names(struct provider_registry *r, size_t *n)
{
	size_t cap = 0, i;

	if (!r->names_listed) {
		r->names_listed = 1;
		for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
			add_name(r, builtins[i]->name, &cap);
		for (i = 0; i < r->ndirs; i++)
			list_dir(r, r->dirs[i], &cap);
	}
	*n = r->nnames;
	return r->names;
}
