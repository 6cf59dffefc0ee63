/*
 * test_jsonschema.c - checking schemas of the SPEC §14 subset.
 *
 * Trees mostly come from a tiny flow-style reader below (maps, lists,
 * plain and quoted scalars, &anchors and *aliases) so that every test can
 * state the line and column a diagnostic must point at, and build shapes
 * (NUL bytes, huge lists, deep DAGs) that are awkward to write as YAML.
 * One test goes through the real loader, so the two agree on what a
 * schema looks like.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/jsonschema.h"
#include "config/node.h"
#include "config/yaml.h"
#include "diag.h"
#include "util/arena.h"
#include "unit.h"

#define MAX_DEPTH 64            /* the bound jsonschema.c enforces */

static struct arena *arena;
static struct diag_list dl;
static const struct source src = {"schema.yaml", "/conf"};

/* What the resolver saw. */
static size_t ref_calls;
static const node_t *ref_last;

static void
setup(void)
{
	arena = arena_new();
	ck_assert_ptr_nonnull(arena);
	ck_assert_int_eq(diag_list_init(&dl), 0);
	ref_calls = 0;
	ref_last = NULL;
}

static void
teardown(void)
{
	diag_list_release(&dl);
	arena_free(arena);
}

/* ---- building trees ---------------------------------------------------- */

static node_t *
new_node(enum node_kind kind, unsigned line, unsigned col)
{
	node_t *n = arena_alloc(arena, sizeof(*n));

	n->kind = kind;
	n->mark.src = &src;
	n->mark.line = line;
	n->mark.col = col;
	return n;
}

static node_t *
new_scalar(const char *value, size_t len, int plain, unsigned line,
           unsigned col)
{
	node_t *n = new_node(NODE_SCALAR, line, col);
	char *v = arena_alloc(arena, len + 1);

	memcpy(v, value, len);
	n->value = v;
	n->len = len;
	n->plain = (unsigned char)plain;
	return n;
}

static void
map_add(node_t *map, node_t *key, node_t *value)
{
	size_t cap = map->n;

	map->pairs = arena_grow(arena, map->pairs, sizeof(*map->pairs),
	                        map->n, &cap, map->n + 1);
	map->pairs[map->n].key = key;
	map->pairs[map->n].value = value;
	map->pairs[map->n].merged = 0;
	map->n++;
}

static void
seq_add(node_t *seq, node_t *item)
{
	size_t cap = seq->n;

	seq->items = arena_grow(arena, seq->items, sizeof(*seq->items),
	                        seq->n, &cap, seq->n + 1);
	seq->items[seq->n++] = item;
}

/* A mapping {key: value} with positionless nodes, for built-up trees. */
static node_t *
map1(const char *key, node_t *value)
{
	node_t *m = new_node(NODE_MAP, 1, 1);

	map_add(m, new_scalar(key, strlen(key), 1, 1, 1), value);
	return m;
}

/* ---- a flow-style reader ----------------------------------------------- */

struct reader {
	const char *s;
	size_t i;
	unsigned line, col;
	struct {
		char name[16];
		node_t *node;
	} anchors[64];
	size_t nanchors;
};

static void
step(struct reader *r)
{
	if (r->s[r->i] == '\n') {
		r->line++;
		r->col = 1;
	} else {
		r->col++;
	}
	r->i++;
}

static void
skip_space(struct reader *r)
{
	while (r->s[r->i] == ' ' || r->s[r->i] == '\n' || r->s[r->i] == '\t')
		step(r);
}

static int
ends_plain(const struct reader *r)
{
	char c = r->s[r->i], next = c ? r->s[r->i + 1] : '\0';

	if (c == '\0' || c == '\n' || strchr(",[]{}", c) != NULL)
		return 1;
	return c == ':' && (next == '\0' || strchr(" \n,]}", next) != NULL);
}

static node_t *read_node(struct reader *r);

static node_t *
read_quoted(struct reader *r)
{
	unsigned line = r->line, col = r->col;
	char quote = r->s[r->i], buf[256];
	size_t len = 0;

	step(r);
	while (r->s[r->i] != quote) {
		char c = r->s[r->i];

		ck_assert_msg(c != '\0', "unterminated quote");
		if (quote == '"' && c == '\\') {
			step(r);
			c = r->s[r->i] == '0' ? '\0' : r->s[r->i];
		}
		ck_assert(len < sizeof(buf));
		buf[len++] = c;
		step(r);
	}
	step(r);
	return new_scalar(buf, len, 0, line, col);
}

static node_t *
read_plain(struct reader *r)
{
	unsigned line = r->line, col = r->col;
	size_t start = r->i, len;

	while (!ends_plain(r))
		step(r);
	len = r->i - start;
	while (len > 0 && r->s[start + len - 1] == ' ')
		len--;
	return new_scalar(r->s + start, len, 1, line, col);
}

static node_t *
read_scalar(struct reader *r)
{
	if (r->s[r->i] == '"' || r->s[r->i] == '\'')
		return read_quoted(r);
	return read_plain(r);
}

/* A value, or the empty plain scalar `{a: }` and `{a:, }` stand for. */
static node_t *
read_value(struct reader *r)
{
	skip_space(r);
	if (r->s[r->i] == ',' || r->s[r->i] == '}' || r->s[r->i] == ']')
		return new_scalar("", 0, 1, r->line, r->col);
	return read_node(r);
}

static void
expect_char(struct reader *r, char c)
{
	skip_space(r);
	ck_assert_msg(r->s[r->i] == c, "expected '%c' at %u:%u", c, r->line,
	              r->col);
	step(r);
}

static node_t *
read_collection(struct reader *r)
{
	char close = r->s[r->i] == '{' ? '}' : ']';
	node_t *n = new_node(close == '}' ? NODE_MAP : NODE_SEQ, r->line,
	                     r->col);

	step(r);
	for (;;) {
		skip_space(r);
		if (r->s[r->i] == close)
			break;
		if (close == '}') {
			node_t *key = read_scalar(r);

			expect_char(r, ':');
			map_add(n, key, read_value(r));
		} else {
			seq_add(n, read_node(r));
		}
		skip_space(r);
		if (r->s[r->i] != close)
			expect_char(r, ',');
	}
	step(r);
	return n;
}

static size_t
read_name(struct reader *r, char *name, size_t size)
{
	size_t len = 0;

	step(r);
	while (r->s[r->i] != '\0' && strchr(" \n,]}", r->s[r->i]) == NULL) {
		ck_assert(len + 1 < size);
		name[len++] = r->s[r->i];
		step(r);
	}
	name[len] = '\0';
	return len;
}

static node_t *
read_node(struct reader *r)
{
	char name[16];
	size_t i;

	skip_space(r);
	if (r->s[r->i] == '&') {
		ck_assert(r->nanchors < 64);
		read_name(r, r->anchors[r->nanchors].name, 16);
		i = r->nanchors++;
		r->anchors[i].node = read_node(r);
		return r->anchors[i].node;
	}
	if (r->s[r->i] == '*') {
		read_name(r, name, sizeof(name));
		for (i = r->nanchors; i > 0; i--)
			if (strcmp(r->anchors[i - 1].name, name) == 0)
				return r->anchors[i - 1].node;
		ck_abort_msg("unknown alias *%s", name);
	}
	if (r->s[r->i] == '{' || r->s[r->i] == '[')
		return read_collection(r);
	return read_scalar(r);
}

static node_t *
parse(const char *text)
{
	struct reader r;
	node_t *n;

	memset(&r, 0, sizeof(r));
	r.s = text;
	r.line = r.col = 1;
	n = read_node(&r);
	skip_space(&r);
	ck_assert_msg(r.s[r.i] == '\0', "trailing text at %u:%u", r.line,
	              r.col);
	return n;
}

/* ---- running and looking at diagnostics -------------------------------- */

/* Knows Space, SpaceInput and billing.Invoice; reports like the loader. */
static int
resolve(void *ctx, const node_t *ref)
{
	static const char *const known[] = {"Space", "SpaceInput",
	                                    "billing.Invoice"};
	size_t i;

	ck_assert_ptr_eq(ctx, &dl);
	ref_calls++;
	ref_last = ref;
	for (i = 0; i < 3; i++)
		if (strcmp(ref->value, known[i]) == 0)
			return 1;
	diag_error(&dl, &ref->mark, "unknown-schema", "unknown schema '%s'",
	           ref->value);
	return 0;
}

static size_t
check_tree(const node_t *schema)
{
	size_t n = jsonschema_check(&dl, schema, resolve, &dl);

	ck_assert_uint_eq(n, dl.errors);
	diag_sort(&dl);
	return n;
}

static size_t
check_text(const char *text)
{
	return check_tree(parse(text));
}

static void
dump(void)
{
	diag_render_text(&dl, stderr);
}

static void
ok(const char *text)
{
	size_t n = check_text(text);

	if (n != 0)
		dump();
	ck_assert_msg(n == 0 && dl.n == 0, "expected no diagnostics for %s",
	              text);
}

/* Asserts diagnostic i (in position order) in full; hint NULL for none. */
#define expect(i, code, line, col, message, hint) \
	expect_at(__LINE__, i, code, line, col, message, hint)

static void
expect_at(int at, size_t i, const char *code, unsigned line, unsigned col,
          const char *message, const char *hint)
{
	const struct diag *d;

	if (i >= dl.n)
		dump();
	ck_assert_msg(i < dl.n, "line %d: only %zu diagnostics", at, dl.n);
	d = dl.items[i];
	if (strcmp(d->code, code) != 0 || d->mark.line != line ||
	    d->mark.col != col || strcmp(d->message, message) != 0 ||
	    (hint == NULL) != (d->hint == NULL) ||
	    (hint != NULL && strcmp(d->hint, hint) != 0)) {
		dump();
		ck_abort_msg("line %d: diagnostic %zu is %u:%u %s [%s] "
		             "hint %s", at, i, d->mark.line, d->mark.col,
		             d->message, d->code, d->hint ? d->hint : "-");
	}
	ck_assert_ptr_eq(d->mark.src, &src);
	ck_assert_int_eq(d->severity, SEV_ERROR);
}

/* One invalid-schema diagnostic, at line:col, with message and hint. */
static void
bad(const char *text, unsigned line, unsigned col, const char *message,
    const char *hint)
{
	size_t n = check_text(text);

	if (n != 1 || dl.n != 1)
		dump();
	ck_assert_msg(n == 1 && dl.n == 1, "%s: %zu errors", text, n);
	expect(0, "invalid-schema", line, col, message, hint);
}

/* ---- the tests --------------------------------------------------------- */

START_TEST(test_full_schema_is_valid)
{
	ok("{\n"
	   "  title: Space, description: A workspace.,\n"
	   "  type: object,\n"
	   "  required: [id, name],\n"
	   "  additionalProperties: false,\n"
	   "  properties: {\n"
	   "    id: { type: string, format: uuid, readOnly: true },\n"
	   "    name: { type: string, minLength: 1, maxLength: 64,\n"
	   "            pattern: '^[a-z][a-z0-9-]*$' },\n"
	   "    created: { type: string, format: date-time,\n"
	   "               writeOnly: false },\n"
	   "    owner: { type: string, format: email, deprecated: true },\n"
	   "    size: { type: [integer, null], minimum: 0, maximum: 1e6,\n"
	   "            exclusiveMinimum: -1, exclusiveMaximum: 1000001 },\n"
	   "    ratio: { type: number, minimum: -0.5, maximum: .5 },\n"
	   "    tags: { type: array, items: { type: string }, minItems: 0,\n"
	   "            maxItems: 10, default: [], examples: [[a, b]] },\n"
	   "    kind: { enum: [a, 1, null, { x: [y] }] },\n"
	   "    fixed: { const: { any: [thing, 1] } },\n"
	   "    extra: { type: object,\n"
	   "             additionalProperties: { type: string } },\n"
	   "    input: { $ref: SpaceInput },\n"
	   "    invoice: { $ref: billing.Invoice },\n"
	   "    anything: {},\n"
	   "    nothing: false\n"
	   "  }\n"
	   "}");
	ck_assert_uint_eq(ref_calls, 2);
}
END_TEST

START_TEST(test_boolean_schemas)
{
	ok("true");
	ok("false");
	ok("True");
	ok("'false'");
	ok("{ items: false, additionalProperties: true, "
	   "properties: { a: true, b: FALSE } }");
}
END_TEST

START_TEST(test_schema_must_be_mapping_or_boolean)
{
	bad("[type, string]", 1, 1,
	    "a schema must be a mapping, true or false, got a list", NULL);
	teardown();
	setup();
	bad("yes", 1, 1,
	    "a schema must be a mapping, true or false, got 'yes'", NULL);
	teardown();
	setup();
	bad("", 1, 1,
	    "a schema must be a mapping, true or false, got null", NULL);
	teardown();
	setup();
	bad("{ items: [ { type: string } ] }", 1, 10,
	    "'items' must be a schema (a mapping, true or false), "
	    "got a list", NULL);
	teardown();
	setup();
	bad("{ additionalProperties: no }", 1, 25,
	    "'additionalProperties' must be a schema (a mapping, true or "
	    "false), got 'no'", NULL);
}
END_TEST

START_TEST(test_property_written_as_type_name)
{
	bad("{ type: object,\n"
	    "  properties: { id: string } }", 2, 21,
	    "property 'id' must be a schema (a mapping, true or false), "
	    "got 'string'", "did you mean '{ type: string }'?");
}
END_TEST

START_TEST(test_unknown_keyword)
{
	bad("{ type: object,\n"
	    "  tpye: string }", 2, 3,
	    "unknown schema keyword 'tpye'", "did you mean 'type'?");
	teardown();
	setup();
	bad("{ maxLenght: 3 }", 1, 3,
	    "unknown schema keyword 'maxLenght'", "did you mean 'maxLength'?");
	teardown();
	setup();
	bad("{ $rfe: Space }", 1, 3,
	    "unknown schema keyword '$rfe'", "did you mean '$ref'?");
	teardown();
	setup();
	bad("{ colour: red }", 1, 3,
	    "unknown schema keyword 'colour'", NULL);
}
END_TEST

START_TEST(test_unsupported_keywords)
{
	bad("{ oneOf: [ { type: string } ] }", 1, 3,
	    "schema keyword 'oneOf' is not supported (asterd supports a "
	    "subset of JSON Schema 2020-12)", NULL);
	teardown();
	setup();
	bad("{ type: string, nullable: true }", 1, 17,
	    "schema keyword 'nullable' is not supported (JSON Schema "
	    "2020-12 has no such keyword)",
	    "list null among the types, e.g. 'type: [string, null]'");
}
END_TEST

START_TEST(test_type)
{
	ok("{ type: null }");
	ok("{ type: \"null\" }");
	ok("{ type: [string, integer, number, boolean, array, object, null] }");
	bad("{ type: strng }", 1, 9,
	    "unknown type 'strng' (expected null, boolean, object, array, "
	    "number, integer or string)", "did you mean 'string'?");
	teardown();
	setup();
	bad("{ type: [string,\n"
	    "         intger] }", 2, 10,
	    "unknown type 'intger' (expected null, boolean, object, array, "
	    "number, integer or string)", "did you mean 'integer'?");
	teardown();
	setup();
	bad("{ type: [] }", 1, 9, "'type' must not be an empty list", NULL);
	teardown();
	setup();
	bad("{ type: { name: string } }", 1, 9,
	    "'type' must be a type name or a list of type names, got a "
	    "mapping", NULL);
	teardown();
	setup();
	bad("{ type: [string, [integer]] }", 1, 18,
	    "'type' must name a type, got a list", NULL);
	teardown();
	setup();
	bad("{ type: }", 1, 9, "'type' must name a type, got null", NULL);
}
END_TEST

START_TEST(test_type_repeated)
{
	ck_assert_uint_eq(check_text("{ type: [string, null, string] }"), 1);
	expect(0, "invalid-schema", 1, 24, "'type' lists 'string' twice",
	       NULL);
	ck_assert_uint_eq(dl.items[0]->nnotes, 1);
	ck_assert_str_eq(dl.items[0]->notes[0].message,
	                 "'string' is first listed here");
	ck_assert_uint_eq(dl.items[0]->notes[0].mark.line, 1);
	ck_assert_uint_eq(dl.items[0]->notes[0].mark.col, 10);
}
END_TEST

START_TEST(test_properties)
{
	ok("{ properties: {} }");
	bad("{ properties: [id, name] }", 1, 15,
	    "'properties' must be a mapping of property names to schemas, "
	    "got a list", NULL);
	teardown();
	setup();
	/* Errors deep inside are found and located. */
	ck_assert_uint_eq(check_text(
	    "{ properties: {\n"
	    "    a: { properties: { b: { type: strig } } },\n"
	    "    c: { items: { minLength: x } } } }"), 2);
	expect(0, "invalid-schema", 2, 35,
	       "unknown type 'strig' (expected null, boolean, object, "
	       "array, number, integer or string)", "did you mean 'string'?");
	expect(1, "invalid-schema", 3, 30,
	       "'minLength' must be a non-negative integer, got 'x'", NULL);
}
END_TEST

START_TEST(test_required)
{
	ok("{ required: [] }");
	ok("{ required: [id, \"name\", 'x y'] }");
	bad("{ required: id }", 1, 13,
	    "'required' must be a list of property names, got 'id'", NULL);
	teardown();
	setup();
	bad("{ required: [id, { name: x }] }", 1, 18,
	    "'required' entries must be property names, got a mapping", NULL);
	teardown();
	setup();
	ck_assert_uint_eq(check_text("{ required: [id, name,\n"
	                             "  id, id] }"), 2);
	expect(0, "invalid-schema", 2, 3, "'required' lists 'id' twice", NULL);
	expect(1, "invalid-schema", 2, 7, "'required' lists 'id' twice", NULL);
	ck_assert_uint_eq(dl.items[1]->notes[0].mark.line, 1);
	ck_assert_uint_eq(dl.items[1]->notes[0].mark.col, 14);
}
END_TEST

START_TEST(test_required_long_list)
{
	node_t *seq = new_node(NODE_SEQ, 1, 1);
	char name[32];
	size_t i, n = 200000;

	/* Quadratic duplicate search would take minutes here. */
	seq->items = arena_alloc(arena, n * sizeof(*seq->items));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "p%zu", i % 100000);
		seq->items[seq->n++] = new_scalar(name, strlen(name), 1, 2, 1);
	}
	ck_assert_uint_eq(check_tree(map1("required", seq)), 100000);
}
END_TEST

START_TEST(test_enum_and_const)
{
	ok("{ enum: [a] }");
	ok("{ const: null }");
	ok("{ const: [1, { a: b }] }");
	bad("{ enum: [] }", 1, 9,
	    "'enum' must be a non-empty list of values, got an empty list",
	    NULL);
	teardown();
	setup();
	bad("{ enum: a }", 1, 9,
	    "'enum' must be a non-empty list of values, got 'a'", NULL);
	teardown();
	setup();
	bad("{ enum: { a: 1 } }", 1, 9,
	    "'enum' must be a non-empty list of values, got a mapping", NULL);
}
END_TEST

START_TEST(test_counts)
{
	static const char *const kws[] = {"minLength", "maxLength",
	                                  "minItems", "maxItems"};
	char text[128], message[128];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "{ %s: 3 }", kws[i]);
		ok(text);
		snprintf(text, sizeof(text), "{ %s: \"0\" }", kws[i]);
		ok(text);
		snprintf(text, sizeof(text), "{ %s: +7 }", kws[i]);
		ok(text);
		snprintf(text, sizeof(text), "{ %s: 18446744073709551615 }",
		         kws[i]);
		ok(text);

		snprintf(text, sizeof(text), "{ %s: -1 }", kws[i]);
		snprintf(message, sizeof(message),
		         "'%s' must be a non-negative integer, got '-1'",
		         kws[i]);
		bad(text, 1, 5 + (unsigned)strlen(kws[i]), message, NULL);
		teardown();
		setup();
	}
	bad("{ minLength: 1.5 }", 1, 14,
	    "'minLength' must be a non-negative integer, got '1.5'", NULL);
	teardown();
	setup();
	/* Numbers compare by value (SPEC §14): these are counts. */
	ok("{ minLength: 1e3 }");
	ok("{ maxItems: 2.0 }");
	ok("{ maxItems: \"20e-1\" }");
	ok("{ minItems: -0 }");
	bad("{ minLength: 2.5e0 }", 1, 14,
	    "'minLength' must be a non-negative integer, got '2.5e0'", NULL);
	teardown();
	setup();
	bad("{ minLength: -1e400 }", 1, 14,
	    "'minLength' must be a non-negative integer, got '-1e400'",
	    NULL);
	teardown();
	setup();
	bad("{ maxLength: 1e20 }", 1, 14,
	    "'maxLength' is too large, got '1e20'", NULL);
	teardown();
	setup();
	bad("{ minLength: }", 1, 14,
	    "'minLength' must be a non-negative integer, got null", NULL);
	teardown();
	setup();
	bad("{ maxItems: [3] }", 1, 13,
	    "'maxItems' must be a non-negative integer, got a list", NULL);
	teardown();
	setup();
	bad("{ maxItems: 18446744073709551616 }", 1, 13,
	    "'maxItems' is too large, got '18446744073709551616'", NULL);
	teardown();
	setup();
	bad("{ maxItems: 0x10 }", 1, 13,
	    "'maxItems' must be a non-negative integer, got '0x10'", NULL);
}
END_TEST

START_TEST(test_numbers)
{
	static const char *const good[] = {
		"0", "-3", "+3", "1.5", "-0.25", ".5", "5.", "1e3", "2.5E-3",
		"\"42\"", "010",
	};
	static const char *const kws[] = {"minimum", "maximum",
	                                  "exclusiveMinimum",
	                                  "exclusiveMaximum"};
	char text[128], message[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "{ minimum: %s }", good[i]);
		ok(text);
	}
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "{ %s: ten }", kws[i]);
		snprintf(message, sizeof(message),
		         "'%s' must be a number, got 'ten'", kws[i]);
		bad(text, 1, 5 + (unsigned)strlen(kws[i]), message, NULL);
		teardown();
		setup();
	}
	bad("{ maximum: .inf }", 1, 12, "'maximum' must be a number, got "
	    "'.inf'", NULL);
	teardown();
	setup();
	bad("{ maximum: 1e }", 1, 12, "'maximum' must be a number, got "
	    "'1e'", NULL);
	teardown();
	setup();
	bad("{ maximum: . }", 1, 12, "'maximum' must be a number, got "
	    "'.'", NULL);
	teardown();
	setup();
	bad("{ maximum: 0x1F }", 1, 12, "'maximum' must be a number, got "
	    "'0x1F'", NULL);
	teardown();
	setup();
	bad("{ maximum: ~ }", 1, 12, "'maximum' must be a number, got null",
	    NULL);
	teardown();
	setup();
	bad("{ maximum: 1e999 }", 1, 12,
	    "'maximum' is out of range, got '1e999'", NULL);
}
END_TEST

START_TEST(test_ranges)
{
	ok("{ minLength: 2, maxLength: 2, minItems: 0, maxItems: 0 }");
	ok("{ minimum: 1.5, maximum: 1.5 }");
	ok("{ exclusiveMinimum: 1, exclusiveMaximum: 1.001 }");
	bad("{ minLength: 5,\n"
	    "  maxLength: 2 }", 2, 14,
	    "'maxLength' (2) must be at least 'minLength' (5)", NULL);
	teardown();
	setup();
	/* Reported at the max even when it comes first. */
	bad("{ maxItems: 1, minItems: 3 }", 1, 13,
	    "'maxItems' (1) must be at least 'minItems' (3)", NULL);
	teardown();
	setup();
	bad("{ minimum: 3, maximum: -1.5 }", 1, 24,
	    "'maximum' (-1.5) must be at least 'minimum' (3)", NULL);
	teardown();
	setup();
	bad("{ exclusiveMinimum: 2, maximum: 2 }", 1, 33,
	    "'maximum' (2) must be greater than 'exclusiveMinimum' (2)", NULL);
	teardown();
	setup();
	bad("{ minimum: 2, exclusiveMaximum: 2.0 }", 1, 33,
	    "'exclusiveMaximum' (2.0) must be greater than 'minimum' (2)",
	    NULL);
	teardown();
	setup();
	bad("{ exclusiveMinimum: 1, exclusiveMaximum: 0 }", 1, 42,
	    "'exclusiveMaximum' (0) must be greater than 'exclusiveMinimum' "
	    "(1)", NULL);
	teardown();
	setup();
	/* An ill-typed bound is reported once, not compared. */
	bad("{ minLength: x, maxLength: 2 }", 1, 14,
	    "'minLength' must be a non-negative integer, got 'x'", NULL);
}
END_TEST

START_TEST(test_pattern)
{
	ok("{ pattern: '^[a-z][a-z0-9-]*$' }");
	ok("{ pattern: \"(ab|cd){2,3}\" }");
	ok("{ pattern: abc }");
	/* ECMA-262 with Unicode: classes, properties, lookaround, \u. */
	ok("{ pattern: '^\\p{Letter}+\\d*$' }");
	ok("{ pattern: '^(?=.*[A-Z])(?!.*\\s)\\w{8,}$' }");
	ok("{ pattern: '^\\u00e9\\u{1F600}?$' }");
	ok("{ pattern: '^(?<year>\\d{4})-\\k<year>$' }");
	ok("{ pattern: '[^]' }");
	/* PCRE2's reason and offset in the message. */
	bad("{ pattern: 'a(b' }", 1, 12,
	    "'pattern' 'a(b' is not a valid regular expression: missing "
	    "closing parenthesis at offset 3", NULL);
	teardown();
	setup();
	bad("{ pattern: 'a{3,1}' }", 1, 12,
	    "'pattern' 'a{3,1}' is not a valid regular expression: numbers "
	    "out of order in {} quantifier at offset 5", NULL);
	teardown();
	setup();
	bad("{ pattern: '\\p{NoSuchProperty}' }", 1, 12,
	    "'pattern' '\\p{NoSuchProperty}' is not a valid regular "
	    "expression: unknown property after \\P or \\p at offset 18",
	    NULL);
	teardown();
	setup();
	/* Long General_Category names are rewritten for PCRE2; an error
	 * offset still counts in the pattern as written. */
	ok("{ pattern: '^[\\p{gc=Uppercase_Letter}\\P{Assigned}]"
	   "\\p{General_Category=Lu}\\p{Script=Greek}$' }");
	ok("{ pattern: '\\Q\\p{Letter}\\E' }");
	bad("{ pattern: '\\p{Letter}\\p{Letter}(' }", 1, 12,
	    "'pattern' '\\p{Letter}\\p{Letter}(' is not a valid regular "
	    "expression: missing closing parenthesis at offset 21", NULL);
	teardown();
	setup();
	bad("{ pattern: [a] }", 1, 12,
	    "'pattern' must be a regular expression, got a list", NULL);
	teardown();
	setup();
	bad("{ pattern: \"a\\0b\" }", 1, 12,
	    "'pattern' must not contain a NUL byte", NULL);
}
END_TEST

START_TEST(test_format)
{
	ok("{ format: uuid }");
	ok("{ format: date-time }");
	ok("{ format: 'email' }");
	bad("{ format: uuidd }", 1, 11,
	    "unknown format 'uuidd' (expected uuid, date-time or email)",
	    "did you mean 'uuid'?");
	teardown();
	setup();
	bad("{ format: datetime }", 1, 11,
	    "unknown format 'datetime' (expected uuid, date-time or email)",
	    "did you mean 'date-time'?");
	teardown();
	setup();
	bad("{ format: uri }", 1, 11,
	    "unknown format 'uri' (expected uuid, date-time or email)", NULL);
	teardown();
	setup();
	bad("{ format: { name: uuid } }", 1, 11,
	    "'format' must be a format name, got a mapping", NULL);
}
END_TEST

START_TEST(test_ref_resolved)
{
	node_t *root = parse("{ type: array,\n"
	                     "  items: { $ref: Space } }");
	const node_t *ref = node_get(node_get(root, "items"), "$ref");

	ck_assert_uint_eq(check_tree(root), 0);
	ck_assert_uint_eq(ref_calls, 1);
	ck_assert_ptr_eq(ref_last, ref);
	ck_assert_uint_eq(ref_last->mark.line, 2);
	ck_assert_uint_eq(ref_last->mark.col, 18);
}
END_TEST

START_TEST(test_ref_unknown)
{
	/* The resolver's own report counts as one of the errors. */
	ck_assert_uint_eq(check_text("{ properties: {\n"
	                             "    a: { $ref: Spcae },\n"
	                             "    b: { $ref: Space } } }"), 1);
	ck_assert_uint_eq(ref_calls, 2);
	ck_assert_uint_eq(dl.n, 1);
	expect(0, "unknown-schema", 2, 16, "unknown schema 'Spcae'", NULL);
}
END_TEST

START_TEST(test_ref_not_a_name)
{
	bad("{ $ref: { name: Space } }", 1, 9,
	    "'$ref' must be a schema name, got a mapping", NULL);
	teardown();
	setup();
	bad("{ $ref: }", 1, 9, "'$ref' must be a schema name, got null", NULL);
	ck_assert_uint_eq(ref_calls, 0);
}
END_TEST

START_TEST(test_ref_without_resolver)
{
	ck_assert_uint_eq(jsonschema_check(&dl, parse("{ $ref: Nope }"), NULL,
	                                   NULL), 0);
	ck_assert_uint_eq(dl.n, 0);
}
END_TEST

START_TEST(test_annotations)
{
	ok("{ title: T, description: \"D\", default: { a: [1] }, "
	   "examples: [1, two], deprecated: false, readOnly: TRUE, "
	   "writeOnly: False }");
	bad("{ title: [a] }", 1, 10, "'title' must be a string, got a list",
	    NULL);
	teardown();
	setup();
	bad("{ description: { a: b } }", 1, 16,
	    "'description' must be a string, got a mapping", NULL);
	teardown();
	setup();
	bad("{ examples: one }", 1, 13, "'examples' must be a list, got 'one'",
	    NULL);
	teardown();
	setup();
	bad("{ deprecated: maybe }", 1, 15,
	    "'deprecated' must be true or false, got 'maybe'", NULL);
	teardown();
	setup();
	bad("{ readOnly: 1 }", 1, 13,
	    "'readOnly' must be true or false, got '1'", NULL);
	teardown();
	setup();
	bad("{ writeOnly: }", 1, 14,
	    "'writeOnly' must be true or false, got null", NULL);
}
END_TEST

START_TEST(test_many_errors_in_one_pass)
{
	ck_assert_uint_eq(check_text(
	    "{ type: objekt, tpye: x, minItems: -2,\n"
	    "  properties: { a: { format: emial } }, $ref: Nope }"), 5);
	expect(0, "invalid-schema", 1, 9, dl.items[0]->message,
	       "did you mean 'object'?");
	expect(1, "invalid-schema", 1, 17, "unknown schema keyword 'tpye'",
	       "did you mean 'type'?");
	expect(2, "invalid-schema", 1, 36,
	       "'minItems' must be a non-negative integer, got '-2'", NULL);
	expect(3, "invalid-schema", 2, 30,
	       "unknown format 'emial' (expected uuid, date-time or email)",
	       "did you mean 'email'?");
	expect(4, "unknown-schema", 2, 47, "unknown schema 'Nope'", NULL);
}
END_TEST

/* depth nested `items` schemas around leaf, the outermost at line 1. */
static node_t *
nest(unsigned depth, node_t *leaf)
{
	node_t *n = leaf;
	unsigned i;

	for (i = 1; i < depth; i++) {
		n = map1("items", n);
		n->mark.line = depth - i;
	}
	return n;
}

static node_t *
typed(const char *type, unsigned line)
{
	node_t *n = map1("type", new_scalar(type, strlen(type), 1, line, 9));

	n->mark.line = line;
	return n;
}

START_TEST(test_depth_bound)
{
	ck_assert_uint_eq(check_tree(nest(MAX_DEPTH, typed("string", 64))), 0);
	ck_assert_uint_eq(check_tree(nest(MAX_DEPTH + 1,
	                                  typed("string", 65))), 1);
	expect(0, "invalid-schema", 65, 1,
	       "schema nested too deeply (more than 64 levels)", NULL);
}
END_TEST

START_TEST(test_depth_reported_once)
{
	node_t *wide = new_node(NODE_MAP, 65, 1), *props;
	char name[8];
	unsigned i;

	/* Many branches cross the bound; one report says it all. */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		map_add(wide, new_scalar(name, strlen(name), 1, 65, 1),
		        nest(5, typed("strng", 70)));
	}
	props = map1("properties", wide);
	props->mark.line = 64;
	ck_assert_uint_eq(check_tree(nest(MAX_DEPTH - 1, props)), 1);
	expect(0, "invalid-schema", 2, 1,
	       "schema nested too deeply (more than 64 levels)", NULL);
}
END_TEST

START_TEST(test_depth_bound_text)
{
	char text[4096] = "";
	size_t i;

	/* 65 levels written out; the innermost `{}` is past 64 `{items: `. */
	for (i = 1; i < 65; i++)
		strcat(text, "{items: ");
	strcat(text, "{}");
	for (i = 1; i < 65; i++)
		strcat(text, "}");
	bad(text, 1, 8 * 64 + 1,
	    "schema nested too deeply (more than 64 levels)", NULL);
}
END_TEST

START_TEST(test_aliases_are_checked_once)
{
	/* A shared mistake is reported once, not once per path to it. */
	ck_assert_uint_eq(check_text(
	    "{ properties: {\n"
	    "    a: &bad { type: strng, $ref: Nope },\n"
	    "    b: *bad, c: { items: *bad },\n"
	    "    d: { items: { items: *bad } } } }"),
	    2);
	ck_assert_uint_eq(ref_calls, 1);
	expect(0, "invalid-schema", 2, 21, dl.items[0]->message,
	       "did you mean 'string'?");
	expect(1, "unknown-schema", 2, 34, "unknown schema 'Nope'", NULL);
}
END_TEST

START_TEST(test_alias_dag_is_fast)
{
	node_t *prev = typed("string", 1), *props, *next;
	clock_t start = clock();
	unsigned i;

	/* 60 levels, each naming the one below twice: 2^60 paths. */
	for (i = 0; i < 60; i++) {
		props = new_node(NODE_MAP, 1, 1);
		map_add(props, new_scalar("a", 1, 1, 1, 1), prev);
		map_add(props, new_scalar("b", 1, 1, 1, 1), prev);
		next = map1("properties", props);
		map_add(next, new_scalar("items", 5, 1, 1, 1), prev);
		prev = next;
	}
	ck_assert_uint_eq(check_tree(prev), 0);
	ck_assert_msg(clock() - start < 2 * CLOCKS_PER_SEC, "too slow");
}
END_TEST

START_TEST(test_alias_reached_deeper_crosses_bound)
{
	/* S fits when reached first at depth 2, not when reached again at
	 * depth 62: S is 4 levels deep. */
	node_t *s = nest(4, typed("string", 100));
	node_t *props = new_node(NODE_MAP, 1, 1);

	map_add(props, new_scalar("a", 1, 1, 1, 1), s);
	map_add(props, new_scalar("b", 1, 1, 1, 1), nest(61, s));
	ck_assert_uint_eq(check_tree(map1("properties", props)), 1);
	expect(0, "invalid-schema", 100, 1,
	       "schema nested too deeply (more than 64 levels)", NULL);
}
END_TEST

START_TEST(test_alias_reached_shallower_is_checked_fully)
{
	/* S is reached first at depth 61, where its mistake at relative
	 * depth 5 lies past the bound; reached again at depth 2, the
	 * mistake must still be found. */
	node_t *s = nest(5, typed("strng", 100));
	node_t *props = new_node(NODE_MAP, 1, 1);

	map_add(props, new_scalar("b", 1, 1, 1, 1), nest(60, s));
	map_add(props, new_scalar("a", 1, 1, 1, 1), s);
	ck_assert_uint_eq(check_tree(map1("properties", props)), 2);
	expect(0, "invalid-schema", 100, 1,
	       "schema nested too deeply (more than 64 levels)", NULL);
	expect(1, "invalid-schema", 100, 9, dl.items[1]->message,
	       "did you mean 'string'?");
}
END_TEST

START_TEST(test_through_yaml_loader)
{
	static const char text[] =
	    "Space:\n"
	    "  type: object\n"
	    "  required: [id, id]\n"
	    "  properties:\n"
	    "    id: &uuid\n"
	    "      type: string\n"
	    "      format: uuid\n"
	    "    owner:\n"
	    "      <<: *uuid\n"
	    "      format: emial\n"
	    "    parent: *uuid\n"
	    "    size: {type: integer, minimum: 10, maximum: 1}\n"
	    "    tags:\n"
	    "      type: array\n"
	    "      items: {$ref: Tag}\n"
	    "      tpye: x\n";
	node_t **docs;
	size_t ndocs;

	ck_assert_uint_eq(yaml_parse(arena, &src, text, sizeof(text) - 1, &dl,
	                             &docs, &ndocs), 0);
	ck_assert_uint_eq(ndocs, 1);
	ck_assert_uint_eq(check_tree(node_get(docs[0], "Space")), 5);
	expect(0, "invalid-schema", 3, 18, "'required' lists 'id' twice",
	       NULL);
	expect(1, "invalid-schema", 10, 15,
	       "unknown format 'emial' (expected uuid, date-time or email)",
	       "did you mean 'email'?");
	expect(2, "invalid-schema", 12, 49,
	       "'maximum' (1) must be at least 'minimum' (10)", NULL);
	expect(3, "unknown-schema", 15, 21, "unknown schema 'Tag'", NULL);
	expect(4, "invalid-schema", 16, 7, "unknown schema keyword 'tpye'",
	       "did you mean 'type'?");
}
END_TEST

static Suite *
jsonschema_suite(void)
{
	Suite *s = suite_create("jsonschema");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full_schema_is_valid);
	tcase_add_test(tc, test_boolean_schemas);
	tcase_add_test(tc, test_schema_must_be_mapping_or_boolean);
	tcase_add_test(tc, test_property_written_as_type_name);
	tcase_add_test(tc, test_unknown_keyword);
	tcase_add_test(tc, test_unsupported_keywords);
	tcase_add_test(tc, test_type);
	tcase_add_test(tc, test_type_repeated);
	tcase_add_test(tc, test_properties);
	tcase_add_test(tc, test_required);
	tcase_add_test(tc, test_required_long_list);
	tcase_add_test(tc, test_enum_and_const);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_pattern);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_ref_resolved);
	tcase_add_test(tc, test_ref_unknown);
	tcase_add_test(tc, test_ref_not_a_name);
	tcase_add_test(tc, test_ref_without_resolver);
	tcase_add_test(tc, test_annotations);
	tcase_add_test(tc, test_many_errors_in_one_pass);
	tcase_add_test(tc, test_depth_bound);
	tcase_add_test(tc, test_depth_reported_once);
	tcase_add_test(tc, test_depth_bound_text);
	tcase_add_test(tc, test_aliases_are_checked_once);
	tcase_add_test(tc, test_alias_dag_is_fast);
	tcase_add_test(tc, test_alias_reached_deeper_crosses_bound);
	tcase_add_test(tc, test_alias_reached_shallower_is_checked_fully);
	tcase_add_test(tc, test_through_yaml_loader);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(jsonschema_suite)
