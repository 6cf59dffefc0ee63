/*
 * decode.c - the generic decoder behind every manifest shape.
 */
#include "config/decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/semver.h"
#include "util/arena.h"

#define NAME_MAX_BYTES 64
#define MAX_SHAPE_FIELDS 32

static int
is_lower_alnum_dash(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int
is_identifier(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > NAME_MAX_BYTES || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] == '.') {
			/* A dot starts a segment that must not be empty. */
			if (i + 1 == len || s[i + 1] == '.')
				return 0;
			continue;
		}
		if (!is_lower_alnum_dash(s[i]))
			return 0;
	}
	return 1;
}

int
is_service_id(const char *s)
{
	return is_identifier(s) && strchr(s, '.') == NULL;
}

int
is_schema_name(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > NAME_MAX_BYTES)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/*
 * Messages name the value ("route 'scope'"). Decoding a field leaves what
 * NULL and the field in the decoder, so the name is only formatted when
 * there is something to report: a 10,000-module product decodes some
 * 600,000 values and reports none.
 */
static const char *
describe(struct decoder *d, const char *what)
{
	if (what != NULL)
		return what;
	return arena_printf(d->arena, "%s '%s'", d->shape_what, d->field_key);
}

int
decode_scalar(struct decoder *d, const node_t *n, const char *what,
              const char **out)
{
	if (n->kind != NODE_SCALAR) {
		diag_error(d->dl, &n->mark, "wrong-type",
		           "%s must be a string, got %s", describe(d, what),
		           node_kind_name(n));
		return -1;
	}
	*out = n->value;
	return 0;
}

int
decode_int(struct decoder *d, const node_t *n, const char *what,
           long long min, long long max, long long *out)
{
	const char *s;
	char *end;
	long long v;

	if (decode_scalar(d, n, what, &s) < 0)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE ||
	    !((s[0] >= '0' && s[0] <= '9') || s[0] == '-')) {
		diag_error(d->dl, &n->mark, "wrong-type",
		           "%s must be an integer, got '%s'", describe(d, what), s);
		return -1;
	}
	if (min != max && (v < min || v > max)) {
		diag_error(d->dl, &n->mark, "invalid-value",
		           "%s must be between %lld and %lld, got %lld", describe(d, what),
		           min, max, v);
		return -1;
	}
	*out = v;
	return 0;
}

int
decode_bool(struct decoder *d, const node_t *n, const char *what, int *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	const char *s;
	size_t i;

	if (decode_scalar(d, n, what, &s) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	diag_error(d->dl, &n->mark, "wrong-type",
	           "%s must be true or false, got '%s'", describe(d, what), s);
	return -1;
}

int
decode_id(struct decoder *d, const node_t *n, const char *what,
          const char **out)
{
	if (decode_scalar(d, n, what, out) < 0)
		return -1;
	if (!is_identifier(*out)) {
		diag_error(d->dl, &n->mark, "invalid-id",
		           "%s '%s' is not a valid identifier (lower-case "
		           "letters, digits, '-', dot-separated, at most 64 "
		           "bytes, starting with a letter)", describe(d, what), *out);
		return -1;
	}
	return 0;
}

static size_t
count_values(const char *const *values)
{
	size_t n = 0;

	while (values[n] != NULL)
		n++;
	return n;
}

static int
enum_index(const char *const *values, const char *s)
{
	int i;

	for (i = 0; values[i] != NULL; i++)
		if (strcmp(values[i], s) == 0)
			return i;
	return -1;
}

static void
render_choices(struct arena *a, const char *const *values, char **out)
{
	size_t i, n = count_values(values);
	char *s = arena_strdup(a, "");

	for (i = 0; i < n; i++)
		s = arena_printf(a, "%s%s%s", s,
		                 i == 0 ? "" : i + 1 == n ? " or " : ", ",
		                 values[i]);
	*out = s;
}

int
decode_enum(struct decoder *d, const node_t *n, const char *what,
            const char *const *values, const char **out)
{
	struct diag *dg;
	char *choices;

	if (decode_scalar(d, n, what, out) < 0)
		return -1;
	if (enum_index(values, *out) >= 0)
		return 0;
	render_choices(d->arena, values, &choices);
	dg = diag_error(d->dl, &n->mark, "invalid-value",
	                "%s must be %s, got '%s'", describe(d, what), choices, *out);
	diag_suggest(d->dl, dg, *out, values, count_values(values));
	return -1;
}

const char *
decode_resolve_path(struct arena *a, const node_t *n, const char *path)
{
	const char *dir = n->mark.src != NULL ? n->mark.src->dir : NULL;

	if (path[0] == '/' || dir == NULL || *dir == '\0')
		return path;
	return arena_printf(a, "%s/%s", dir, path);
}

static int
decode_version(struct decoder *d, const node_t *n, const char *what,
               const char **out)
{
	struct semver v;

	if (decode_scalar(d, n, what, out) < 0)
		return -1;
	if (semver_parse(d->arena, *out, &v) < 0) {
		diag_error(d->dl, &n->mark, "invalid-value",
		           "%s '%s' is not a semantic version (MAJOR.MINOR."
		           "PATCH, SemVer 2.0)", describe(d, what), *out);
		return -1;
	}
	return 0;
}

/* Lists: every item must be a scalar; kind picks the extra check. */
static int
decode_strlist(struct decoder *d, const node_t *n, const char *what,
               const struct field *f, struct strlist *out)
{
	size_t i;
	int rc = 0;

	if (n->kind != NODE_SEQ) {
		diag_error(d->dl, &n->mark, "wrong-type",
		           "%s must be a list, got %s", describe(d, what), node_kind_name(n));
		return -1;
	}
	if ((f->flags & F_NONEMPTY) && n->n == 0) {
		diag_error(d->dl, &n->mark, "invalid-value",
		           "%s must not be empty", describe(d, what));
		return -1;
	}
	out->v = arena_alloc(d->arena, (n->n + 1) * sizeof(*out->v));
	out->at = arena_alloc(d->arena, (n->n + 1) * sizeof(*out->at));
	for (i = 0; i < n->n; i++) {
		const node_t *item = n->items[i];
		const char *s;
		int r;

		if (f->kind == FK_IDLIST)
			r = decode_id(d, item, what, &s);
		else if (f->kind == FK_ENUMLIST)
			r = decode_enum(d, item, what, f->values, &s);
		else
			r = decode_scalar(d, item, what, &s);
		if (r < 0) {
			rc = -1;
			continue;
		}
		if (f->kind == FK_ENUMLIST && out->n > 0) {
			size_t j;

			for (j = 0; j < out->n && strcmp(out->v[j], s); j++)
				;
			if (j < out->n) {
				struct diag *dg = diag_error(d->dl,
				    &item->mark, "invalid-value",
				    "%s lists '%s' twice", describe(d, what), s);
				diag_note(d->dl, dg, &out->at[j]->mark,
				          "'%s' is first listed here", s);
				rc = -1;
				continue;
			}
		}
		out->v[out->n] = s;
		out->at[out->n++] = item;
	}
	return rc;
}

static int
decode_objlist(struct decoder *d, const node_t *n, const char *what,
               const struct field *f, struct objlist *out)
{
	size_t i, errors = 0;

	if (n->kind != NODE_SEQ) {
		diag_error(d->dl, &n->mark, "wrong-type",
		           "%s must be a list, got %s", describe(d, what), node_kind_name(n));
		return -1;
	}
	if ((f->flags & F_NONEMPTY) && n->n == 0) {
		diag_error(d->dl, &n->mark, "invalid-value",
		           "%s must not be empty", describe(d, what));
		return -1;
	}
	out->v = arena_alloc(d->arena, (n->n + 1) * sizeof(*out->v));
	for (i = 0; i < n->n; i++) {
		size_t e = 0;
		void *obj = decode_new(d, n->items[i], f->shape, &e);

		errors += e;
		/* Keep items even with errors, so later checks (duplicates,
		 * graph) still see every id that was written. */
		out->v[out->n++] = obj;
	}
	return errors ? -1 : 0;
}

static int
decode_field(struct decoder *d, const struct shape *shape,
             const struct field *f, const node_t *v, void *obj)
{
	void *dst = (char *)obj + f->offset;
	const char *what = NULL;

	d->shape_what = shape->what;
	d->field_key = f->key;

	switch (f->kind) {
	case FK_STRING:
		return decode_scalar(d, v, what, dst);
	case FK_ID:
		return decode_id(d, v, what, dst);
	case FK_PATH:
		if (decode_scalar(d, v, what, dst) < 0)
			return -1;
		*(const char **)dst = decode_resolve_path(d->arena, v,
		                                          *(const char **)dst);
		return 0;
	case FK_VERSION:
		return decode_version(d, v, what, dst);
	case FK_INT:
		return decode_int(d, v, what, f->min, f->max, dst);
	case FK_BOOL:
		return decode_bool(d, v, what, dst);
	case FK_ENUM:
		return decode_enum(d, v, what, f->values, dst);
	case FK_STRLIST:
	case FK_IDLIST:
	case FK_ENUMLIST:
		return decode_strlist(d, v, what, f, dst);
	case FK_MAP:
		if (v->kind != NODE_MAP) {
			diag_error(d->dl, &v->mark, "wrong-type",
			           "%s must be a mapping, got %s", describe(d, what),
			           node_kind_name(v));
			return -1;
		}
		*(const node_t **)dst = v;
		return 0;
	case FK_NODE:
		*(const node_t **)dst = v;
		return 0;
	case FK_STRUCT: {
		size_t e = 0;

		*(void **)dst = decode_new(d, v, f->shape, &e);
		return e ? -1 : 0;
	}
	case FK_LIST:
		return decode_objlist(d, v, what, f, dst);
	case FK_CUSTOM:
		return f->custom(d, v, dst);
	}
	return -1;
}

static const struct field *
find_field(const struct shape *shape, const char *key)
{
	const struct field *f;

	for (f = shape->fields; f->key != NULL; f++)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static void
report_unknown_key(struct decoder *d, const struct shape *shape,
                   const node_t *key)
{
	const char *names[MAX_SHAPE_FIELDS];
	size_t n = 0;
	const struct field *f;
	struct diag *dg;

	for (f = shape->fields; f->key != NULL && n < MAX_SHAPE_FIELDS; f++)
		names[n++] = f->key;
	dg = diag_error(d->dl, &key->mark, "unknown-key",
	                "unknown key '%s' in %s", key->value, shape->what);
	diag_suggest(d->dl, dg, key->value, names, n);
}

size_t
decode_map(struct decoder *d, const node_t *map, const struct shape *shape,
           void *obj)
{
	size_t before = d->dl->errors, i;
	const struct field *f;

	*(const node_t **)((char *)obj + shape->node_offset) = map;
	if (map->kind != NODE_MAP) {
		diag_error(d->dl, &map->mark, "wrong-type",
		           "%s must be a mapping, got %s", shape->what,
		           node_kind_name(map));
		return 1;
	}
	for (i = 0; i < map->n; i++) {
		const node_t *key = map->pairs[i].key;

		f = find_field(shape, key->value);
		if (f == NULL) {
			report_unknown_key(d, shape, key);
			continue;
		}
		decode_field(d, shape, f, map->pairs[i].value, obj);
	}
	for (f = shape->fields; f->key != NULL; f++) {
		if ((f->flags & F_REQUIRED) && node_key(map, f->key) == NULL)
			diag_error(d->dl, &map->mark, "missing-key",
			           "%s is missing required key '%s'",
			           shape->what, f->key);
	}
	return d->dl->errors - before;
}

void *
decode_new(struct decoder *d, const node_t *map, const struct shape *shape,
           size_t *errors)
{
	void *obj = arena_alloc(d->arena, shape->size);

	*errors += decode_map(d, map, shape, obj);
	return obj;
}

int
strlist_has(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}
