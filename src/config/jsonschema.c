/*
 * jsonschema.c - checking manifest schemas against the SPEC §14 subset.
 *
 * Scalars in the YAML tree are untyped text, so each keyword types its own
 * value: `minLength: 3` must read as a non-negative integer, `minimum: 1.5`
 * as a number, `additionalProperties: false` as a boolean. As elsewhere in
 * the loader, the expected type decides and quoting does not: `"3"` where a
 * count is expected is 3, and `null` where a type name is expected is the
 * type name "null".
 *
 * Aliases share nodes, so the schema tree is really a DAG whose number of
 * paths can grow exponentially with its depth. Every schema node is
 * therefore remembered with the shallowest and deepest depth it was
 * reached at: its own keywords are checked once, and its subschemas are
 * revisited only when it is reached shallower (more of the subtree fits
 * under the depth bound) or deeper (the subtree may now cross it). Both
 * bounds move at most MAX_DEPTH times, so the work stays linear in the
 * number of distinct nodes and a shared mistake is reported once.
 */
#include "config/jsonschema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/ecma_pattern.h"

#define MAX_DEPTH 64
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The numeric keywords whose values are compared with each other. */
enum slot {
	SLOT_NONE,
	SLOT_MIN_LENGTH,
	SLOT_MAX_LENGTH,
	SLOT_MIN_ITEMS,
	SLOT_MAX_ITEMS,
	SLOT_MINIMUM,
	SLOT_MAXIMUM,
	SLOT_EXCL_MINIMUM,
	SLOT_EXCL_MAXIMUM,
	SLOT_COUNT,
};

/* A well-typed numeric keyword value of the schema being checked. */
struct bound {
	const node_t *at;       /* NULL: absent or ill-typed */
	unsigned long long count;
	double number;
};

/* A schema node already reached, and the depths it was reached at. */
struct seen {
	const node_t *node;     /* NULL: free slot */
	unsigned min, max;
};

struct check {
	struct diag_list *dl;
	jsonschema_resolve_fn resolve;
	void *ctx;
	struct arena *scratch;  /* the seen table and sort buffers */
	struct seen *seen;      /* open addressing, power of two size */
	size_t nseen, seen_cap;
	size_t errors;
	int too_deep;           /* reported already; once is enough */
};

struct keyword {
	const char *name;
	/* Checks the value's own shape; NULL when any value is fine. */
	void (*check)(struct check *, const struct keyword *, const node_t *,
	              struct bound *);
	/* Checks the subschemas under value; NULL when there are none. */
	void (*descend)(struct check *, const struct keyword *,
	                const node_t *, unsigned);
	enum slot slot;
};

static const char *const type_names[] = {
	"null", "boolean", "object", "array", "number", "integer", "string",
};

static const char *const format_names[] = {
	"uuid", "date-time", "email",
};

static void check_schema(struct check *, const node_t *, unsigned,
                         const char *, const char *);

static struct diag *
schema_error(struct check *c, const node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct diag *
schema_error(struct check *c, const node_t *at, const char *fmt, ...)
{
	struct diag *d;
	va_list ap;

	va_start(ap, fmt);
	d = diag_report(c->dl, SEV_ERROR, &at->mark, "invalid-schema", fmt,
	                ap);
	va_end(ap);
	c->errors++;
	return d;
}

/* "'text'", "null", "a list": what the operator wrote, for messages. */
static const char *
describe(struct check *c, const node_t *n)
{
	if (n->kind != NODE_SCALAR || node_is_null(n))
		return node_kind_name(n);
	return arena_printf(c->dl->arena, "'%s'", n->value);
}

/* A scalar holding a NUL byte cannot be compared or compiled as C text. */
static int
is_text(const node_t *n)
{
	return n->kind == NODE_SCALAR && strlen(n->value) == n->len;
}

static int
name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* Booleans as the loader reads them elsewhere (decode_bool). */
static int
parse_bool(const node_t *n, int *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};

	if (!is_text(n))
		return -1;
	if (name_index(yes, ARRAY_LEN(yes), n->value) >= 0) {
		*out = 1;
		return 0;
	}
	if (name_index(no, ARRAY_LEN(no), n->value) >= 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

static size_t
skip_digits(const char *s, size_t i)
{
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/*
 * A decimal number as YAML 1.2 writes one: [-+]?(D+(.D*)?|.D+)([eE][-+]?D+)?
 * No hex, octal, .inf or .nan: none of them has a JSON spelling. Returns
 * 0, or -1 when the text is no number, or -2 when it overflows a double.
 */
static int
parse_number(const node_t *n, double *out)
{
	const char *s = n->value;
	size_t i = 0, int_end, frac_end;

	if (!is_text(n))
		return -1;
	if (s[i] == '-' || s[i] == '+')
		i++;
	int_end = skip_digits(s, i);
	frac_end = int_end;
	if (s[int_end] == '.')
		frac_end = skip_digits(s, int_end + 1);
	if (int_end == i && frac_end <= int_end + 1)
		return -1;      /* no digit before or after the point */
	i = frac_end;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t exp = i + 1;

		if (s[exp] == '-' || s[exp] == '+')
			exp++;
		i = skip_digits(s, exp);
		if (i == exp)
			return -1;
	}
	if (s[i] != '\0')
		return -1;
	/* Underflow to zero is harmless; only comparisons use the value. */
	*out = strtod(s, NULL);
	if (!isfinite(*out))
		return -2;
	return 0;
}

/*
 * A non-negative integer, as parse_number returns. Numbers compare by
 * value (SPEC §14), so `maxItems: 2.0` and `1e3` are counts too; plain
 * digits are read exactly, the others through their double.
 */
static int
parse_count(const node_t *n, unsigned long long *out)
{
	const char *s = n->value;
	size_t digits;
	double d;
	int r;

	if (!is_text(n))
		return -1;
	if (*s == '+')
		s++;
	digits = skip_digits(s, 0);
	if (digits > 0 && s[digits] == '\0') {
		errno = 0;
		*out = strtoull(s, NULL, 10);
		return errno == ERANGE ? -2 : 0;
	}
	r = parse_number(n, &d);
	if (r == -2)
		return n->value[0] == '-' ? -1 : -2;
	if (r < 0 || d < 0 || d != floor(d))
		return -1;
	if (d >= 18446744073709551616.0)
		return -2;
	*out = (unsigned long long)d;
	return 0;
}

int
jsonschema_bool(const node_t *n, int *out)
{
	return parse_bool(n, out);
}

int
jsonschema_number(const node_t *n, double *out)
{
	return parse_number(n, out);
}

int
jsonschema_count(const node_t *n, unsigned long long *out)
{
	return parse_count(n, out);
}

/* Hash table of schema nodes reached so far; see the file comment. */
static size_t
seen_hash(const node_t *n, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)n;

	h ^= h >> 29;
	h *= UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 32) & (cap - 1);
}

static struct seen *
seen_slot(struct seen *table, size_t cap, const node_t *n)
{
	size_t i = seen_hash(n, cap);

	while (table[i].node != NULL && table[i].node != n)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

static void
seen_grow(struct check *c)
{
	size_t cap = c->seen_cap ? c->seen_cap * 2 : 64, i;
	struct seen *table = arena_alloc(c->scratch, cap * sizeof(*table));

	for (i = 0; i < c->seen_cap; i++)
		if (c->seen[i].node != NULL)
			*seen_slot(table, cap, c->seen[i].node) = c->seen[i];
	c->seen = table;
	c->seen_cap = cap;
}

/*
 * Records that n is reached at depth. Sets *first when n was never reached
 * before (its own keywords are still to be checked) and returns whether its
 * subschemas need a visit at this depth.
 */
static int
seen_visit(struct check *c, const node_t *n, unsigned depth, int *first)
{
	struct seen *s;
	int again;

	if ((c->nseen + 1) * 2 > c->seen_cap)
		seen_grow(c);
	s = seen_slot(c->seen, c->seen_cap, n);
	*first = s->node == NULL;
	if (*first) {
		s->node = n;
		s->min = s->max = depth;
		c->nseen++;
		return 1;
	}
	again = depth < s->min || depth > s->max;
	if (depth < s->min)
		s->min = depth;
	if (depth > s->max)
		s->max = depth;
	return again;
}

struct entry {
	const node_t *node;
	size_t index;
};

static int
entry_order(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	size_t len = a->node->len < b->node->len ? a->node->len : b->node->len;
	int r = memcmp(a->node->value, b->node->value, len);

	if (r != 0)
		return r;
	if (a->node->len != b->node->len)
		return a->node->len < b->node->len ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/*
 * Reports every scalar item of seq that repeats an earlier one, at the
 * repeat with a note at the first. Sorting keeps a long `required` list
 * from costing quadratic time.
 */
static void
check_unique(struct check *c, const char *kw, const node_t *seq)
{
	struct entry *v;
	size_t i, n = 0, first = 0;

	v = arena_alloc(c->scratch, (seq->n + 1) * sizeof(*v));
	for (i = 0; i < seq->n; i++) {
		if (seq->items[i]->kind != NODE_SCALAR)
			continue;
		v[n].node = seq->items[i];
		v[n].index = i;
		n++;
	}
	qsort(v, n, sizeof(*v), entry_order);
	for (i = 1; i < n; i++) {
		struct diag *d;

		if (v[i].node->len != v[first].node->len ||
		    memcmp(v[i].node->value, v[first].node->value,
		           v[i].node->len) != 0) {
			first = i;
			continue;
		}
		d = schema_error(c, v[i].node, "'%s' lists '%s' twice", kw,
		                 v[i].node->value);
		diag_note(c->dl, d, &v[first].node->mark,
		          "'%s' is first listed here", v[i].node->value);
	}
}

static void
check_type_name(struct check *c, const node_t *n)
{
	struct diag *d;

	if (n->kind != NODE_SCALAR || (n->plain && n->len == 0)) {
		schema_error(c, n, "'type' must name a type, got %s",
		             describe(c, n));
		return;
	}
	if (is_text(n) &&
	    name_index(type_names, ARRAY_LEN(type_names), n->value) >= 0)
		return;
	d = schema_error(c, n, "unknown type '%s' (expected null, boolean, "
	                 "object, array, number, integer or string)",
	                 n->value);
	diag_suggest(c->dl, d, n->value, type_names, ARRAY_LEN(type_names));
}

static void
check_type(struct check *c, const struct keyword *kw, const node_t *v,
           struct bound *b)
{
	size_t i;

	(void)kw;
	(void)b;
	if (v->kind == NODE_SCALAR) {
		check_type_name(c, v);
		return;
	}
	if (v->kind != NODE_SEQ) {
		schema_error(c, v, "'type' must be a type name or a list of "
		             "type names, got %s", node_kind_name(v));
		return;
	}
	if (v->n == 0) {
		schema_error(c, v, "'type' must not be an empty list");
		return;
	}
	for (i = 0; i < v->n; i++)
		check_type_name(c, v->items[i]);
	check_unique(c, "type", v);
}

static void
check_properties(struct check *c, const struct keyword *kw, const node_t *v,
                 struct bound *b)
{
	(void)kw;
	(void)b;
	if (v->kind != NODE_MAP)
		schema_error(c, v, "'properties' must be a mapping of property "
		             "names to schemas, got %s", node_kind_name(v));
}

static void
descend_properties(struct check *c, const struct keyword *kw,
                   const node_t *v, unsigned depth)
{
	size_t i;

	(void)kw;
	if (v->kind != NODE_MAP)
		return;
	for (i = 0; i < v->n; i++)
		check_schema(c, v->pairs[i].value, depth, NULL,
		             v->pairs[i].key->value);
}

static void
descend_schema(struct check *c, const struct keyword *kw, const node_t *v,
               unsigned depth)
{
	check_schema(c, v, depth, kw->name, NULL);
}

static void
check_required(struct check *c, const struct keyword *kw, const node_t *v,
               struct bound *b)
{
	size_t i;

	(void)kw;
	(void)b;
	if (v->kind != NODE_SEQ) {
		schema_error(c, v, "'required' must be a list of property "
		             "names, got %s", describe(c, v));
		return;
	}
	for (i = 0; i < v->n; i++)
		if (v->items[i]->kind != NODE_SCALAR)
			schema_error(c, v->items[i], "'required' entries must "
			             "be property names, got %s",
			             node_kind_name(v->items[i]));
	check_unique(c, "required", v);
}

static void
check_enum(struct check *c, const struct keyword *kw, const node_t *v,
           struct bound *b)
{
	(void)kw;
	(void)b;
	if (v->kind != NODE_SEQ)
		schema_error(c, v, "'enum' must be a non-empty list of values, "
		             "got %s", describe(c, v));
	else if (v->n == 0)
		schema_error(c, v, "'enum' must be a non-empty list of values, "
		             "got an empty list");
}

static void
check_list(struct check *c, const struct keyword *kw, const node_t *v,
           struct bound *b)
{
	(void)b;
	if (v->kind != NODE_SEQ)
		schema_error(c, v, "'%s' must be a list, got %s", kw->name,
		             describe(c, v));
}

static void
check_string(struct check *c, const struct keyword *kw, const node_t *v,
             struct bound *b)
{
	(void)b;
	if (v->kind != NODE_SCALAR)
		schema_error(c, v, "'%s' must be a string, got %s", kw->name,
		             node_kind_name(v));
}

static void
check_bool(struct check *c, const struct keyword *kw, const node_t *v,
           struct bound *b)
{
	int flag;

	(void)b;
	if (parse_bool(v, &flag) < 0)
		schema_error(c, v, "'%s' must be true or false, got %s",
		             kw->name, describe(c, v));
}

static void
check_count(struct check *c, const struct keyword *kw, const node_t *v,
            struct bound *b)
{
	unsigned long long count = 0;
	int r = v->kind == NODE_SCALAR ? parse_count(v, &count) : -1;

	if (r == -2) {
		schema_error(c, v, "'%s' is too large, got '%s'", kw->name,
		             v->value);
		return;
	}
	if (r < 0) {
		schema_error(c, v, "'%s' must be a non-negative integer, got "
		             "%s", kw->name, describe(c, v));
		return;
	}
	b[kw->slot].at = v;
	b[kw->slot].count = count;
}

static void
check_number(struct check *c, const struct keyword *kw, const node_t *v,
             struct bound *b)
{
	double number = 0;
	int r = v->kind == NODE_SCALAR ? parse_number(v, &number) : -1;

	if (r == -2) {
		schema_error(c, v, "'%s' is out of range, got '%s'", kw->name,
		             v->value);
		return;
	}
	if (r < 0) {
		schema_error(c, v, "'%s' must be a number, got %s", kw->name,
		             describe(c, v));
		return;
	}
	b[kw->slot].at = v;
	b[kw->slot].number = number;
}

static void
check_pattern(struct check *c, const struct keyword *kw, const node_t *v,
              struct bound *b)
{
	char why[200];
	pcre2_code *code;

	(void)kw;
	(void)b;
	if (v->kind != NODE_SCALAR) {
		schema_error(c, v, "'pattern' must be a regular expression, "
		             "got %s", node_kind_name(v));
		return;
	}
	if (!is_text(v)) {
		schema_error(c, v, "'pattern' must not contain a NUL byte");
		return;
	}
	code = ecma_pattern_compile(v->value, v->len, why, sizeof(why));
	if (code != NULL) {
		pcre2_code_free(code);
		return;
	}
	schema_error(c, v, "'pattern' '%s' is not a valid regular "
	             "expression: %s", v->value, why);
}

static void
check_format(struct check *c, const struct keyword *kw, const node_t *v,
             struct bound *b)
{
	struct diag *d;

	(void)kw;
	(void)b;
	if (v->kind != NODE_SCALAR) {
		schema_error(c, v, "'format' must be a format name, got %s",
		             node_kind_name(v));
		return;
	}
	if (is_text(v) &&
	    name_index(format_names, ARRAY_LEN(format_names), v->value) >= 0)
		return;
	d = schema_error(c, v, "unknown format '%s' (expected uuid, "
	                 "date-time or email)", v->value);
	diag_suggest(c->dl, d, v->value, format_names,
	             ARRAY_LEN(format_names));
}

static void
check_ref(struct check *c, const struct keyword *kw, const node_t *v,
          struct bound *b)
{
	(void)kw;
	(void)b;
	if (v->kind != NODE_SCALAR || node_is_null(v)) {
		schema_error(c, v, "'$ref' must be a schema name, got %s",
		             describe(c, v));
		return;
	}
	/* The resolver reports unknown-schema itself, as its contract says. */
	if (c->resolve != NULL && !c->resolve(c->ctx, v))
		c->errors++;
}

static const struct keyword keywords[] = {
	{"type", check_type, NULL, SLOT_NONE},
	{"properties", check_properties, descend_properties, SLOT_NONE},
	{"required", check_required, NULL, SLOT_NONE},
	{"additionalProperties", NULL, descend_schema, SLOT_NONE},
	{"items", NULL, descend_schema, SLOT_NONE},
	{"enum", check_enum, NULL, SLOT_NONE},
	{"const", NULL, NULL, SLOT_NONE},
	{"minLength", check_count, NULL, SLOT_MIN_LENGTH},
	{"maxLength", check_count, NULL, SLOT_MAX_LENGTH},
	{"pattern", check_pattern, NULL, SLOT_NONE},
	{"minimum", check_number, NULL, SLOT_MINIMUM},
	{"maximum", check_number, NULL, SLOT_MAXIMUM},
	{"exclusiveMinimum", check_number, NULL, SLOT_EXCL_MINIMUM},
	{"exclusiveMaximum", check_number, NULL, SLOT_EXCL_MAXIMUM},
	{"minItems", check_count, NULL, SLOT_MIN_ITEMS},
	{"maxItems", check_count, NULL, SLOT_MAX_ITEMS},
	{"format", check_format, NULL, SLOT_NONE},
	{"$ref", check_ref, NULL, SLOT_NONE},
	{"title", check_string, NULL, SLOT_NONE},
	{"description", check_string, NULL, SLOT_NONE},
	{"$comment", check_string, NULL, SLOT_NONE},
	{"default", NULL, NULL, SLOT_NONE},
	{"examples", check_list, NULL, SLOT_NONE},
	{"deprecated", check_bool, NULL, SLOT_NONE},
	{"readOnly", check_bool, NULL, SLOT_NONE},
	{"writeOnly", check_bool, NULL, SLOT_NONE},
};

/*
 * JSON Schema keywords outside the subset: saying so beats a "did you mean"
 * towards some unrelated supported keyword.
 */
static const char *const unsupported[] = {
	"$schema", "$id", "$anchor", "$defs", "definitions",
	"allOf", "anyOf", "oneOf", "not", "if", "then", "else",
	"prefixItems", "contains", "minContains", "maxContains",
	"uniqueItems", "patternProperties", "propertyNames",
	"minProperties", "maxProperties", "dependentRequired",
	"dependentSchemas", "unevaluatedProperties", "unevaluatedItems",
	"multipleOf", "contentEncoding", "contentMediaType",
};

static const struct keyword *
find_keyword(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(keywords); i++)
		if (strcmp(keywords[i].name, name) == 0)
			return &keywords[i];
	return NULL;
}

static void
report_unknown_keyword(struct check *c, const node_t *key)
{
	const char *names[ARRAY_LEN(keywords)];
	struct diag *d;
	size_t i;

	if (strcmp(key->value, "nullable") == 0) {
		d = schema_error(c, key, "schema keyword 'nullable' is not "
		                 "supported (JSON Schema 2020-12 has no such "
		                 "keyword)");
		diag_hint(c->dl, d, "list null among the types, e.g. 'type: "
		          "[string, null]'");
		return;
	}
	if (name_index(unsupported, ARRAY_LEN(unsupported), key->value) >= 0) {
		schema_error(c, key, "schema keyword '%s' is not supported "
		             "(asterd supports a subset of JSON Schema 2020-12)",
		             key->value);
		return;
	}
	d = schema_error(c, key, "unknown schema keyword '%s'", key->value);
	for (i = 0; i < ARRAY_LEN(keywords); i++)
		names[i] = keywords[i].name;
	diag_suggest(c->dl, d, key->value, names, ARRAY_LEN(names));
}

/*
 * Reports a lower bound lo above the upper bound hi (or equal to it when
 * either is exclusive), at hi: no value could satisfy both.
 */
static void
check_range(struct check *c, const struct bound *b, enum slot lo,
            enum slot hi, int strict)
{
	const struct keyword *lk = NULL, *hk = NULL;
	size_t i;
	int empty;

	if (b[lo].at == NULL || b[hi].at == NULL)
		return;
	if (lo == SLOT_MIN_LENGTH || lo == SLOT_MIN_ITEMS)
		empty = b[lo].count > b[hi].count;
	else if (strict)
		empty = b[lo].number >= b[hi].number;
	else
		empty = b[lo].number > b[hi].number;
	if (!empty)
		return;
	for (i = 0; i < ARRAY_LEN(keywords); i++) {
		if (keywords[i].slot == lo)
			lk = &keywords[i];
		if (keywords[i].slot == hi)
			hk = &keywords[i];
	}
	schema_error(c, b[hi].at, "'%s' (%s) must be %s '%s' (%s)", hk->name,
	             b[hi].at->value, strict ? "greater than" :
	             "at least", lk->name, b[lo].at->value);
}

static void
check_ranges(struct check *c, const struct bound *b)
{
	check_range(c, b, SLOT_MIN_LENGTH, SLOT_MAX_LENGTH, 0);
	check_range(c, b, SLOT_MIN_ITEMS, SLOT_MAX_ITEMS, 0);
	check_range(c, b, SLOT_MINIMUM, SLOT_MAXIMUM, 0);
	check_range(c, b, SLOT_EXCL_MINIMUM, SLOT_MAXIMUM, 1);
	check_range(c, b, SLOT_MINIMUM, SLOT_EXCL_MAXIMUM, 1);
	check_range(c, b, SLOT_EXCL_MINIMUM, SLOT_EXCL_MAXIMUM, 1);
}

/* A schema that is not a mapping must be the boolean true or false. */
static void
check_not_mapping(struct check *c, const node_t *n, const char *kw,
                  const char *prop)
{
	const char *got = describe(c, n);
	struct diag *d;
	int flag;

	if (n->kind == NODE_SCALAR && parse_bool(n, &flag) == 0)
		return;
	if (prop != NULL)
		d = schema_error(c, n, "property '%s' must be a schema (a "
		                 "mapping, true or false), got %s", prop, got);
	else if (kw != NULL)
		d = schema_error(c, n, "'%s' must be a schema (a mapping, true "
		                 "or false), got %s", kw, got);
	else
		d = schema_error(c, n, "a schema must be a mapping, true or "
		                 "false, got %s", got);
	/* `id: string` for `id: { type: string }` is the classic slip. */
	if (is_text(n) &&
	    name_index(type_names, ARRAY_LEN(type_names), n->value) >= 0)
		diag_hint(c->dl, d, "did you mean '{ type: %s }'?", n->value);
}

/*
 * Checks the schema n found at depth (1 for the root). kw or prop say where
 * it sits, for messages: the keyword holding it, or the property it
 * describes; both NULL at the root.
 */
static void
check_schema(struct check *c, const node_t *n, unsigned depth,
             const char *kw, const char *prop)
{
	struct bound b[SLOT_COUNT];
	int first, descend;
	size_t i;

	if (depth > MAX_DEPTH) {
		if (!c->too_deep)
			schema_error(c, n, "schema nested too deeply (more "
			             "than %d levels)", MAX_DEPTH);
		c->too_deep = 1;
		return;
	}
	descend = seen_visit(c, n, depth, &first);
	if (!first && !descend)
		return;
	if (n->kind != NODE_MAP) {
		if (first)
			check_not_mapping(c, n, kw, prop);
		return;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < n->n; i++) {
		const node_t *key = n->pairs[i].key;
		const node_t *value = n->pairs[i].value;
		const struct keyword *k = find_keyword(key->value);

		if (first && k == NULL)
			report_unknown_keyword(c, key);
		if (k == NULL)
			continue;
		if (first && k->check != NULL)
			k->check(c, k, value, b);
		if (descend && k->descend != NULL)
			k->descend(c, k, value, depth + 1);
	}
	if (first)
		check_ranges(c, b);
}

size_t
jsonschema_check(struct diag_list *dl, const node_t *schema,
                 jsonschema_resolve_fn resolve, void *ctx)
{
	struct check c;

	memset(&c, 0, sizeof(c));
	c.dl = dl;
	c.resolve = resolve;
	c.ctx = ctx;
	c.scratch = arena_new();
	if (c.scratch == NULL) {
		diag_error(dl, &schema->mark, "invalid-schema",
		           "out of memory checking the schema");
		return 1;
	}
	check_schema(&c, schema, 1, NULL, NULL);
	arena_free(c.scratch);
	return c.errors;
}
