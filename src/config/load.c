/*
 * load.c - reading a config dir into a struct config (SPEC §3).
 *
 * Files are collected first and read in byte-wise sorted path order, so the
 * same tree gives the same diagnostics and plan however the file system
 * lists it.
 */
#include "config/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/yaml.h"
#include "util/arena.h"
#include "util/strmap.h"

#define LOAD_MAX_DEPTH 32
#define LOAD_MAX_FILE_BYTES (64u << 20)

struct pathlist {
	char **v;
	size_t n, cap;
};

static int
is_manifest_name(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.' || name[len - 1] == '~')
		return 0;
	return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
	       (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

static int
skip_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] == '.' || name[len - 1] == '~';
}

/* Collects manifest paths relative to root, recursively. */
static void
collect(struct config *cfg, struct diag_list *dl, const char *root,
        const char *rel, int depth, struct pathlist *out)
{
	const char *path = *rel ? arena_printf(cfg->arena, "%s/%s", root, rel)
	                        : root;
	struct dirent *de;
	DIR *dir;

	if (depth > LOAD_MAX_DEPTH)
		return;
	dir = opendir(path);
	if (dir == NULL) {
		struct mark m = {&cfg->dir_source, 0, 0};

		diag_error(dl, &m, "yaml-syntax", "cannot read directory "
		           "'%s': %s", path, strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		const char *child;
		struct stat st;

		if (skip_name(de->d_name))
			continue;
		child = *rel ? arena_printf(cfg->arena, "%s/%s", rel,
		                            de->d_name)
		             : arena_strdup(cfg->arena, de->d_name);
		if (stat(arena_printf(cfg->arena, "%s/%s", root, child),
		         &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			collect(cfg, dl, root, child, depth + 1, out);
		} else if (S_ISREG(st.st_mode) && is_manifest_name(de->d_name)) {
			out->v = arena_grow(cfg->arena, out->v,
			                    sizeof(*out->v), out->n, &out->cap,
			                    out->n + 1);
			out->v[out->n++] = (char *)child;
		}
	}
	closedir(dir);
}

static int
compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
read_file(const char *path, size_t *len, const char **err)
{
	struct stat st;
	char *buf;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		*err = strerror(errno);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if ((size_t)st.st_size > LOAD_MAX_FILE_BYTES) {
		*err = "file is larger than 64 MiB";
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		*err = "out of memory";
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
}

static const char *
parent_dir(struct arena *a, const char *absdir, const char *rel)
{
	const char *slash = strrchr(rel, '/');

	if (slash == NULL)
		return absdir;
	return arena_printf(a, "%s/%.*s", absdir, (int)(slash - rel), rel);
}

static struct source *
add_source(struct config *cfg, const char *rel)
{
	struct source *src = arena_alloc(cfg->arena, sizeof(*src));

	src->display = arena_printf(cfg->arena, "%s/%s", cfg->dir, rel);
	src->dir = parent_dir(cfg->arena, cfg->absdir, rel);
	cfg->files = arena_grow(cfg->arena, cfg->files, sizeof(*cfg->files),
	                        cfg->nfiles, &cfg->files_cap, cfg->nfiles + 1);
	cfg->files[cfg->nfiles++] = src;
	return src;
}

static void
decode_text(struct config *cfg, struct diag_list *dl,
            const struct source *src, const char *text, size_t len)
{
	struct decoder d = {cfg->arena, dl, NULL, NULL};
	node_t **docs = NULL;
	size_t ndocs = 0, i;

	yaml_parse(cfg->arena, src, text, len, dl, &docs, &ndocs);
	for (i = 0; i < ndocs; i++)
		manifest_decode_document(cfg, &d, docs[i]);
}

void
config_add_text(struct config *cfg, struct diag_list *dl, const char *rel,
                const char *text, size_t len)
{
	decode_text(cfg, dl, add_source(cfg, rel), text, len);
}

static void
load_file(struct config *cfg, struct diag_list *dl, const char *rel,
          int verbose)
{
	struct source *src = add_source(cfg, rel);
	const char *err = NULL;
	size_t len = 0;
	char *text;

	if (verbose)
		fprintf(stderr, "reading %s\n", src->display);
	text = read_file(arena_printf(cfg->arena, "%s/%s", cfg->absdir, rel),
	                 &len, &err);
	if (text == NULL) {
		struct mark m = {src, 0, 0};

		diag_error(dl, &m, strcmp(err, "file is larger than 64 MiB") ?
		           "yaml-syntax" : "yaml-limit", "cannot read file: %s",
		           err);
		return;
	}
	decode_text(cfg, dl, src, text, len);
	free(text);
}

static const char *
absolute_dir(struct arena *a, const char *dir)
{
	char buf[PATH_MAX];

	if (realpath(dir, buf) != NULL)
		return arena_strdup(a, buf);
	return arena_strdup(a, dir);
}

static const char *
trim_dir(struct arena *a, const char *dir)
{
	size_t len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return arena_strndup(a, dir, len);
}

struct config *
config_new(const char *dir)
{
	struct arena *a = arena_new();
	struct config *cfg;

	if (a == NULL)
		return NULL;
	cfg = arena_alloc(a, sizeof(*cfg));
	cfg->arena = a;
	cfg->dir = trim_dir(a, dir);
	cfg->absdir = absolute_dir(a, cfg->dir);
	cfg->dir_source.display = cfg->dir;
	cfg->dir_source.dir = cfg->absdir;
	cfg->by_id = strmap_new(a);
	return cfg;
}

void
config_index_modules(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nmodules; i++)
		if (cfg->modules[i]->id != NULL)
			strmap_put(cfg->by_id, cfg->modules[i]->id,
			           cfg->modules[i]);
}

struct config *
config_load(const char *dir, struct diag_list *dl, int verbose)
{
	struct pathlist paths = {0};
	struct config *cfg = config_new(dir);
	struct stat st;
	size_t i;

	if (cfg == NULL)
		return NULL;
	if (stat(cfg->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		/* The diagnostic outlives cfg: its source lives in dl. */
		struct source *src = arena_alloc(dl->arena, sizeof(*src));
		struct mark m = {src, 0, 0};
		int missing = stat(cfg->dir, &st) < 0;

		src->display = arena_strdup(dl->arena, cfg->dir);
		src->dir = src->display;
		diag_error(dl, &m, "no-product", "config dir '%s' %s",
		           src->display, missing ? "does not exist" :
		           "cannot be read as a directory");
		config_free(cfg);
		return NULL;
	}
	collect(cfg, dl, cfg->absdir, "", 0, &paths);
	if (paths.n > 1)
		qsort(paths.v, paths.n, sizeof(*paths.v), compare_paths);
	for (i = 0; i < paths.n; i++)
		load_file(cfg, dl, paths.v[i], verbose);
	config_index_modules(cfg);
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg != NULL)
		arena_free(cfg->arena);
}

struct module *
config_find_module(const struct config *cfg, const char *id)
{
	return strmap_get(cfg->by_id, id);
}
