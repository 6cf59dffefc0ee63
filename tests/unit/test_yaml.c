/*
 * test_yaml.c - manifest text to node trees: marks, documents, keys,
 * merges, anchors, the expansion bound, syntax errors, interpolation.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/node.h"
#include "config/yaml.h"
#include "diag.h"
#include "util/arena.h"

static const struct source src = { "conf.d/test.yaml", "/etc/aster/conf.d" };

static struct arena *arena;
static struct diag_list dl;
static node_t **docs;
static size_t ndocs;

static void
setup(void)
{
	arena = arena_new();
	ck_assert_ptr_nonnull(arena);
	ck_assert_int_eq(diag_list_init(&dl), 0);
	docs = NULL;
	ndocs = 0;
	setenv("YT_SET", "hello", 1);
	setenv("YT_EMPTY", "", 1);
	unsetenv("YT_UNSET");
	unsetenv("DB_DSN");
}

static void
teardown(void)
{
	diag_list_release(&dl);
	arena_free(arena);
	arena = NULL;
}

static size_t
parse_n(const char *text, size_t len)
{
	size_t before = dl.errors, n;

	n = yaml_parse(arena, &src, text, len, &dl, &docs, &ndocs);
	ck_assert_uint_eq(n, dl.errors - before);
	return n;
}

static size_t
parse(const char *text)
{
	return parse_n(text, strlen(text));
}

/* Parses text that must yield exactly one document and no diagnostic. */
static const node_t *
parse_one(const char *text)
{
	size_t i;

	parse(text);
	for (i = 0; i < dl.n; i++)
		ck_abort_msg("unexpected %s: %s", dl.items[i]->code,
		             dl.items[i]->message);
	ck_assert_uint_eq(ndocs, 1);
	return docs[0];
}

/* The only diagnostic, which must have code. */
static const struct diag *
only_diag(const char *code)
{
	ck_assert_msg(dl.n == 1, "want 1 diagnostic, got %zu", dl.n);
	ck_assert_str_eq(dl.items[0]->code, code);
	return dl.items[0];
}

static void
assert_mark(const struct mark *m, unsigned line, unsigned col)
{
	ck_assert_ptr_eq(m->src, &src);
	ck_assert_msg(m->line == line && m->col == col,
	              "mark %u:%u, want %u:%u", m->line, m->col, line, col);
}

static const node_t *
get(const node_t *map, const char *key)
{
	const node_t *v = node_get(map, key);

	ck_assert_msg(v != NULL, "no key '%s'", key);
	return v;
}

static void
assert_scalar(const node_t *n, const char *want)
{
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(n->kind, NODE_SCALAR);
	ck_assert_uint_eq(n->len, strlen(want));
	ck_assert_str_eq(n->value, want);
}

START_TEST(test_marks)
{
	const node_t *root, *server, *listen, *flow;

	root = parse_one(
	    "# comment\n"
	    "kind: product\n"
	    "server:\n"
	    "    listen:\n"
	    "      - address: 127.0.0.1:8080\n"
	    "        scopes: [public, user]\n"
	    "flow: {  a: 1, b: 2 }\n"
	    "empty: {}\n"
	    "list: []\n");
	ck_assert_int_eq(root->kind, NODE_MAP);
	assert_mark(&root->mark, 2, 1);
	assert_mark(&node_key(root, "kind")->mark, 2, 1);
	assert_mark(&get(root, "kind")->mark, 2, 7);

	server = get(root, "server");
	assert_mark(&server->mark, 4, 5);
	listen = get(server, "listen");
	ck_assert_int_eq(listen->kind, NODE_SEQ);
	assert_mark(&listen->mark, 5, 7);
	ck_assert_uint_eq(listen->n, 1);
	assert_mark(&listen->items[0]->mark, 5, 9);
	assert_mark(&get(listen->items[0], "address")->mark, 5, 18);
	assert_mark(&get(listen->items[0], "scopes")->mark, 6, 17);
	assert_mark(&get(listen->items[0], "scopes")->items[1]->mark, 6, 26);

	flow = get(root, "flow");
	assert_mark(&flow->mark, 7, 10);
	/* An empty mapping has no first key: its own start. */
	assert_mark(&get(root, "empty")->mark, 8, 8);
	ck_assert_uint_eq(get(root, "empty")->n, 0);
	assert_mark(&get(root, "list")->mark, 9, 7);
}
END_TEST

START_TEST(test_marks_count_characters)
{
	const node_t *root = parse_one("name: \"é\"\nnext: x\nk: [é, v]\n");

	assert_mark(&get(root, "next")->mark, 2, 7);
	assert_mark(&get(root, "k")->items[1]->mark, 3, 8);
}
END_TEST

START_TEST(test_multi_documents)
{
	parse("kind: product\n"
	      "---\n"
	      "---\n"
	      "# only a comment\n"
	      "---\n"
	      "~\n"
	      "--- null\n"
	      "---\n"
	      "kind: module\n"
	      "...\n");
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(ndocs, 2);
	assert_scalar(get(docs[0], "kind"), "product");
	assert_scalar(get(docs[1], "kind"), "module");
	assert_mark(&docs[1]->mark, 9, 1);
}
END_TEST

START_TEST(test_empty_input)
{
	parse("");
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(ndocs, 0);
	parse_n(NULL, 0);
	ck_assert_uint_eq(ndocs, 0);
	parse("# nothing\n\n");
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(ndocs, 0);
}
END_TEST

START_TEST(test_non_mapping_documents_kept)
{
	parse("- a\n---\nplain\n");
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(ndocs, 2);
	ck_assert_int_eq(docs[0]->kind, NODE_SEQ);
	assert_scalar(docs[1], "plain");
}
END_TEST

START_TEST(test_duplicate_key)
{
	const struct diag *d;

	ck_assert_uint_eq(parse("id: a\n"
	                        "name: x\n"
	                        "nested:\n"
	                        "  id: ok\n"
	                        "'id': b\n"), 1);
	d = only_diag("duplicate-key");
	assert_mark(&d->mark, 5, 1);
	ck_assert_str_eq(d->message, "duplicate key 'id'");
	ck_assert_uint_eq(d->nnotes, 1);
	assert_mark(&d->notes[0].mark, 1, 1);
	ck_assert_str_eq(d->notes[0].message, "'id' is first defined here");
	/* The first definition stays; the document is kept. */
	ck_assert_uint_eq(ndocs, 1);
	ck_assert_uint_eq(docs[0]->n, 3);
	assert_scalar(get(docs[0], "id"), "a");
}
END_TEST

START_TEST(test_duplicate_key_flow)
{
	const struct diag *d;

	parse("x: {a: 1, b: 2, a: 3}\n");
	d = only_diag("duplicate-key");
	assert_mark(&d->mark, 1, 17);
	assert_mark(&d->notes[0].mark, 1, 5);
}
END_TEST

START_TEST(test_non_scalar_key)
{
	const struct diag *d;

	ck_assert_uint_eq(parse("a: 1\n"
	                        "? [x, y]\n"
	                        ": 2\n"
	                        "? {k: v}\n"
	                        ": 3\n"
	                        "b: 4\n"), 2);
	ck_assert_uint_eq(dl.n, 2);
	d = dl.items[0];
	ck_assert_str_eq(d->code, "wrong-type");
	ck_assert_str_eq(d->message, "mapping keys must be scalars, not a list");
	assert_mark(&d->mark, 2, 3);
	ck_assert_str_eq(dl.items[1]->code, "wrong-type");
	assert_mark(&dl.items[1]->mark, 4, 3);
	ck_assert_uint_eq(ndocs, 1);
	ck_assert_uint_eq(docs[0]->n, 2);
	assert_scalar(get(docs[0], "b"), "4");
}
END_TEST

START_TEST(test_merge_explicit_wins)
{
	const node_t *root, *svc;

	root = parse_one("base: &base\n"
	                 "  a: 1\n"
	                 "  b: 2\n"
	                 "svc:\n"
	                 "  b: 20\n"
	                 "  <<: *base\n"
	                 "  c: 30\n");
	svc = get(root, "svc");
	ck_assert_uint_eq(svc->n, 3);
	/* Explicit pairs first, in order, then merged ones. */
	assert_scalar(svc->pairs[0].key, "b");
	assert_scalar(svc->pairs[0].value, "20");
	ck_assert_int_eq(svc->pairs[0].merged, 0);
	assert_scalar(svc->pairs[1].key, "c");
	ck_assert_int_eq(svc->pairs[1].merged, 0);
	assert_scalar(svc->pairs[2].key, "a");
	assert_scalar(svc->pairs[2].value, "1");
	ck_assert_int_eq(svc->pairs[2].merged, 1);
	/* Merging copies pairs; the value nodes are shared. */
	ck_assert_ptr_eq(svc->pairs[2].value, get(get(root, "base"), "a"));
	ck_assert_ptr_null(node_get(svc, "<<"));
	/* The mapping is still located at its first key, even `<<`. */
	assert_mark(&svc->mark, 5, 3);
}
END_TEST

START_TEST(test_merge_list)
{
	const node_t *root, *m;

	root = parse_one("one: &one {a: 1, b: 1}\n"
	                 "two: &two {b: 2, c: 2}\n"
	                 "m:\n"
	                 "  <<: [*one, *two, {d: 4, a: 9}]\n"
	                 "  c: 3\n");
	m = get(root, "m");
	ck_assert_uint_eq(m->n, 4);
	assert_scalar(m->pairs[0].key, "c");
	assert_scalar(m->pairs[0].value, "3");
	assert_scalar(get(m, "a"), "1");
	assert_scalar(get(m, "b"), "1");
	assert_scalar(get(m, "d"), "4");
	ck_assert_int_eq(m->pairs[1].merged, 1);
	ck_assert_int_eq(m->pairs[3].merged, 1);
	/* A merge source keeps its own pairs. */
	ck_assert_uint_eq(get(root, "one")->n, 2);
}
END_TEST

START_TEST(test_merge_chain)
{
	const node_t *root;

	root = parse_one("a: &a {x: 1}\n"
	                 "b: &b {<<: *a, y: 2}\n"
	                 "c: {<<: *b, z: 3}\n");
	ck_assert_uint_eq(get(root, "c")->n, 3);
	assert_scalar(get(get(root, "c"), "x"), "1");
}
END_TEST

START_TEST(test_merge_bad_value)
{
	const struct diag *d;

	parse("s: &s text\n"
	      "m:\n"
	      "  <<: *s\n"
	      "  k: v\n"
	      "l:\n"
	      "  <<: [{a: 1}, x]\n");
	ck_assert_uint_eq(dl.n, 2);
	d = dl.items[0];
	ck_assert_str_eq(d->code, "wrong-type");
	assert_mark(&d->mark, 3, 7);
	ck_assert_str_eq(dl.items[1]->code, "wrong-type");
	assert_mark(&dl.items[1]->mark, 6, 7);
	ck_assert_ptr_nonnull(strstr(dl.items[1]->message, "item 2"));
	ck_assert_uint_eq(ndocs, 1);
	ck_assert_uint_eq(get(docs[0], "m")->n, 1);
	assert_scalar(get(get(docs[0], "l"), "a"), "1");
}
END_TEST

START_TEST(test_merge_key_must_be_plain)
{
	const node_t *root;

	root = parse_one("m: {\"<<\": {a: 1}, '<<x': 2}\n");
	ck_assert_uint_eq(get(root, "m")->n, 2);
	ck_assert_int_eq(get(get(root, "m"), "<<")->kind, NODE_MAP);
}
END_TEST

START_TEST(test_duplicate_merge_key)
{
	const struct diag *d;

	parse("a: &a {x: 1}\n"
	      "b: &b {y: 1}\n"
	      "m:\n"
	      "  <<: *a\n"
	      "  <<: *b\n");
	d = only_diag("duplicate-key");
	assert_mark(&d->mark, 5, 3);
	assert_mark(&d->notes[0].mark, 4, 3);
}
END_TEST

START_TEST(test_anchor_shared)
{
	const node_t *root;

	root = parse_one("a: &x {k: v}\n"
	                 "b: *x\n"
	                 "c: [*x, *x]\n"
	                 "s: &t text\n"
	                 "u: *t\n");
	/* An alias is a node of its own that shares the anchored node's
	 * children, and is marked where the alias is written. */
	ck_assert_ptr_eq(get(root, "a")->pairs, get(root, "b")->pairs);
	ck_assert_ptr_eq(get(root, "a")->pairs,
	                 get(root, "c")->items[1]->pairs);
	ck_assert_str_eq(get(root, "u")->value, "text");
	ck_assert_ptr_eq(get(root, "s")->value, get(root, "u")->value);
	assert_mark(&get(root, "a")->mark, 1, 8);
	assert_mark(&get(root, "b")->mark, 2, 4);
	assert_mark(&get(root, "c")->items[1]->mark, 3, 9);
}
END_TEST

START_TEST(test_anchor_redefined)
{
	const node_t *root;

	root = parse_one("a: &x one\n"
	                 "b: *x\n"
	                 "c: &x two\n"
	                 "d: *x\n");
	assert_scalar(get(root, "b"), "one");
	assert_scalar(get(root, "d"), "two");
}
END_TEST

START_TEST(test_anchor_per_document)
{
	const struct diag *d;

	parse("a: &x 1\n---\nb: *x\n");
	d = only_diag("yaml-syntax");
	ck_assert_str_eq(d->message, "unknown anchor 'x'");
	assert_mark(&d->mark, 3, 4);
}
END_TEST

START_TEST(test_alias_as_key)
{
	const node_t *root;
	const struct diag *d;

	root = parse_one("k: &k name\n*k : v\n");
	ck_assert_uint_eq(root->n, 2);
	assert_scalar(get(root, "name"), "v");
	/* The key is placed where the alias was written. */
	assert_mark(&node_key(root, "name")->mark, 2, 1);

	teardown();
	setup();
	parse("k: &k k\n*k : v\n");
	d = only_diag("duplicate-key");
	assert_mark(&d->mark, 2, 1);
	assert_mark(&d->notes[0].mark, 1, 1);
}
END_TEST

START_TEST(test_unknown_alias)
{
	const struct diag *d;

	ck_assert_uint_eq(parse("a: 1\n"
	                        "b: *nope\n"
	                        "c: [1, *nope, 3]\n"), 2);
	ck_assert_uint_eq(dl.n, 2);
	d = dl.items[0];
	ck_assert_str_eq(d->code, "yaml-syntax");
	ck_assert_str_eq(d->message, "unknown anchor 'nope'");
	assert_mark(&d->mark, 2, 4);
	assert_mark(&dl.items[1]->mark, 3, 8);
	/* The entry is left out; the rest of the document stays. */
	ck_assert_uint_eq(ndocs, 1);
	ck_assert_ptr_null(node_get(docs[0], "b"));
	ck_assert_uint_eq(get(docs[0], "c")->n, 2);
}
END_TEST

START_TEST(test_recursive_alias)
{
	const struct diag *d;

	parse("a: &a [1, *a]\n---\nok: 1\n");
	d = only_diag("yaml-limit");
	assert_mark(&d->mark, 1, 11);
	ck_assert_uint_eq(ndocs, 1);
	assert_scalar(get(docs[0], "ok"), "1");
}
END_TEST

START_TEST(test_billion_laughs)
{
	static const char lol[] =
	    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
	    "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
	    "---\n"
	    "kind: module\n";
	const struct diag *d;
	clock_t t0 = clock();

	ck_assert_uint_eq(parse(lol), 1);
	d = only_diag("yaml-limit");
	ck_assert_str_eq(d->message,
	                 "document expands to more than 100000 nodes");
	/* Sizes: a 10, b 91, c 820, d 7381, e 66430, so the root and the
	 * keys and lists up to e's hold 74737 nodes: the bound is crossed
	 * at f's first alias. */
	assert_mark(&d->mark, 6, 8);
	/* The document is dropped, the next one kept. */
	ck_assert_uint_eq(ndocs, 1);
	assert_scalar(get(docs[0], "kind"), "module");
	ck_assert_uint_lt(arena_used(arena), 1u << 20);
	ck_assert_msg(clock() - t0 < CLOCKS_PER_SEC,
	              "billion laughs took too long");
}
END_TEST

START_TEST(test_merge_laughs)
{
	/* Merge keys copy pairs: the copies must stay within the bound. */
	char *text;
	size_t i, off = 0, cap = 1 << 16;
	const struct diag *d;

	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	off += (size_t)snprintf(text + off, cap - off, "m0: &m0 {");
	for (i = 0; i < 1000; i++)
		off += (size_t)snprintf(text + off, cap - off, "k%zu: v, ", i);
	off += (size_t)snprintf(text + off, cap - off, "end: v}\n");
	for (i = 1; i < 200; i++)
		off += (size_t)snprintf(text + off, cap - off,
		                        "m%zu: &m%zu {<<: *m%zu, x%zu: v}\n",
		                        i, i, i - 1, i);
	ck_assert_uint_lt(off, cap);
	parse(text);
	d = only_diag("yaml-limit");
	ck_assert_uint_gt(d->mark.line, 2);
	ck_assert_uint_eq(ndocs, 0);
	free(text);
}
END_TEST

START_TEST(test_document_size_bound)
{
	char *text = malloc(4 * 100001 + 16);
	size_t i, off = 0;
	const struct diag *d;

	ck_assert_ptr_nonnull(text);
	/* A list and its 99,999 items is exactly the bound. */
	for (i = 0; i < 99999; i++) {
		memcpy(text + off, "- x\n", 4);
		off += 4;
	}
	parse_n(text, off);
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(ndocs, 1);
	ck_assert_uint_eq(docs[0]->n, 99999);

	memcpy(text + off, "- x\n", 4);
	off += 4;
	parse_n(text, off);
	d = only_diag("yaml-limit");
	assert_mark(&d->mark, 100000, 3);
	ck_assert_uint_eq(ndocs, 0);
	free(text);
}
END_TEST

START_TEST(test_syntax_error_keeps_earlier_documents)
{
	const struct diag *d;

	ck_assert_uint_eq(parse("kind: product\n"
	                        "---\n"
	                        "kind: module\n"
	                        "id: a\n"
	                        "  bad: indent\n"
	                        "---\n"
	                        "kind: module\n"), 1);
	d = only_diag("yaml-syntax");
	assert_mark(&d->mark, 5, 6);
	ck_assert_ptr_nonnull(strstr(d->message, "mapping values are not "
	                                         "allowed"));
	ck_assert_uint_eq(ndocs, 1);
	assert_scalar(get(docs[0], "kind"), "product");
}
END_TEST

START_TEST(test_syntax_error_context)
{
	const struct diag *d;

	parse("a:\n"
	      "  b: 1\n"
	      " c: 2\n");
	d = only_diag("yaml-syntax");
	ck_assert_str_eq(d->message, "while parsing a block mapping: did not "
	                             "find expected key");
	assert_mark(&d->mark, 3, 2);
	ck_assert_uint_eq(ndocs, 0);
}
END_TEST

START_TEST(test_syntax_error_unclosed_flow)
{
	const struct diag *d;

	parse("a: [1, 2\nb: 3\n");
	d = only_diag("yaml-syntax");
	ck_assert_uint_ge(d->mark.line, 2);
	ck_assert_uint_eq(ndocs, 0);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	const struct diag *d;

	parse("a: ok\nb: \xff\n");
	d = only_diag("yaml-syntax");
	assert_mark(&d->mark, 2, 4);
	ck_assert_uint_eq(ndocs, 0);
}
END_TEST

START_TEST(test_interpolation)
{
	const node_t *root;

	root = parse_one("set: ${YT_SET}\n"
	                 "mixed: \"${YT_SET} world\"\n"
	                 "def: ${YT_UNSET:-fallback}\n"
	                 "emptydef: ${YT_EMPTY:-used}\n"
	                 "empty: x${YT_EMPTY}y\n"
	                 "escaped: $${YT_SET}\n"
	                 "list: [\"${YT_SET}\"]\n"
	                 "block: |\n"
	                 "  line ${YT_SET}\n");
	assert_scalar(get(root, "set"), "hello");
	assert_scalar(get(root, "mixed"), "hello world");
	assert_scalar(get(root, "def"), "fallback");
	assert_scalar(get(root, "emptydef"), "used");
	assert_scalar(get(root, "empty"), "xy");
	assert_scalar(get(root, "escaped"), "${YT_SET}");
	assert_scalar(get(root, "list")->items[0], "hello");
	assert_scalar(get(root, "block"), "line hello\n");
}
END_TEST

START_TEST(test_reference_in_flow_needs_quotes)
{
	const struct diag *d;

	/* `{` and `}` are flow indicators: a plain ${X} inside [ ] or { }
	 * is a YAML syntax error, not a reference. */
	parse("list: [${YT_SET}]\n");
	d = only_diag("yaml-syntax");
	assert_mark(&d->mark, 1, 9);
}
END_TEST

START_TEST(test_unset_variable)
{
	const struct diag *d;

	ck_assert_uint_eq(parse("kind: module\n"
	                        "config:\n"
	                        "  dsn: \"${DB_DSN}\"\n"), 1);
	d = only_diag("unset-variable");
	ck_assert_str_eq(d->message, "environment variable 'DB_DSN' is not set");
	assert_mark(&d->mark, 3, 8);
	/* The document stays, with the text as written. */
	ck_assert_uint_eq(ndocs, 1);
	assert_scalar(get(get(docs[0], "config"), "dsn"), "${DB_DSN}");
}
END_TEST

START_TEST(test_malformed_reference)
{
	const struct diag *d;

	parse("a: ok\nb: x ${oops\n");
	d = only_diag("invalid-value");
	ck_assert_str_eq(d->message, "malformed ${...} reference");
	assert_mark(&d->mark, 2, 4);
}
END_TEST

START_TEST(test_keys_not_interpolated)
{
	const node_t *root;

	root = parse_one("${YT_SET}: value\n");
	ck_assert_ptr_nonnull(node_get(root, "${YT_SET}"));
	ck_assert_ptr_null(node_get(root, "hello"));
	/* Not even an unset one is an error in a key. */
	root = parse_one("${YT_UNSET}: v\n");
	assert_scalar(get(root, "${YT_UNSET}"), "v");
}
END_TEST

START_TEST(test_plain_and_quoted)
{
	const node_t *root;

	root = parse_one("plain: abc\n"
	                 "single: 'abc'\n"
	                 "double: \"a\\tb\"\n"
	                 "null1:\n"
	                 "null2: ~\n"
	                 "qnull: ''\n"
	                 "folded: >\n"
	                 "  a\n"
	                 "  b\n");
	ck_assert_int_eq(get(root, "plain")->plain, 1);
	ck_assert_int_eq(get(root, "single")->plain, 0);
	assert_scalar(get(root, "single"), "abc");
	ck_assert_int_eq(get(root, "double")->plain, 0);
	assert_scalar(get(root, "double"), "a\tb");
	ck_assert(node_is_null(get(root, "null1")));
	ck_assert(node_is_null(get(root, "null2")));
	ck_assert(!node_is_null(get(root, "qnull")));
	assert_scalar(get(root, "qnull"), "");
	ck_assert_int_eq(get(root, "folded")->plain, 0);
	assert_scalar(get(root, "folded"), "a b\n");
}
END_TEST

START_TEST(test_no_typing_and_tags)
{
	const node_t *root;

	root = parse_one("version: 1.10\n"
	                 "flag: yes\n"
	                 "oct: 0o17\n"
	                 "str: !!str 12\n"
	                 "custom: !thing {a: 1}\n");
	assert_scalar(get(root, "version"), "1.10");
	assert_scalar(get(root, "flag"), "yes");
	assert_scalar(get(root, "oct"), "0o17");
	ck_assert_ptr_null(get(root, "version")->tag);
	ck_assert_str_eq(get(root, "str")->tag, "tag:yaml.org,2002:str");
	ck_assert_str_eq(get(root, "custom")->tag, "!thing");
}
END_TEST

START_TEST(test_embedded_nul)
{
	const node_t *root = parse_one("a: \"x\\0y\"\n");

	ck_assert_uint_eq(get(root, "a")->len, 3);
	ck_assert_int_eq(memcmp(get(root, "a")->value, "x\0y", 4), 0);
}
END_TEST

START_TEST(test_large_mapping_duplicate_at_end)
{
	size_t i, off = 0, cap = 10001 * 24;
	char *text = malloc(cap);
	const struct diag *d;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < 10000; i++)
		off += (size_t)snprintf(text + off, cap - off,
		                        "key%zu: %zu\n", i, i);
	off += (size_t)snprintf(text + off, cap - off, "key1234: again\n");
	parse_n(text, off);
	d = only_diag("duplicate-key");
	assert_mark(&d->mark, 10001, 1);
	assert_mark(&d->notes[0].mark, 1235, 1);
	ck_assert_str_eq(d->message, "duplicate key 'key1234'");
	ck_assert_uint_eq(ndocs, 1);
	ck_assert_uint_eq(docs[0]->n, 10000);
	assert_scalar(get(docs[0], "key9999"), "9999");
	free(text);
}
END_TEST

START_TEST(test_large_merge)
{
	size_t i, off = 0, cap = 4001 * 24 + 64;
	char *text = malloc(cap);
	const node_t *m;

	ck_assert_ptr_nonnull(text);
	off += (size_t)snprintf(text + off, cap - off, "base: &b\n");
	for (i = 0; i < 4000; i++)
		off += (size_t)snprintf(text + off, cap - off,
		                        "  k%zu: %zu\n", i, i);
	off += (size_t)snprintf(text + off, cap - off,
	                        "m:\n  k17: mine\n  <<: *b\n");
	parse_n(text, off);
	ck_assert_uint_eq(dl.n, 0);
	m = get(docs[0], "m");
	ck_assert_uint_eq(m->n, 4000);
	assert_scalar(m->pairs[0].value, "mine");
	assert_scalar(get(m, "k3999"), "3999");
	free(text);
}
END_TEST

START_TEST(test_deep_nesting)
{
	/* The builder keeps its own stack: depth costs heap, not C stack. */
	size_t depth = 40000, i;
	char *text = malloc(depth * 2 + 8);
	const node_t *n;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < depth; i++)
		text[i] = '[';
	text[depth] = 'x';
	for (i = 0; i < depth; i++)
		text[depth + 1 + i] = ']';
	parse_n(text, depth * 2 + 1);
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(ndocs, 1);
	for (n = docs[0], i = 0; n->kind == NODE_SEQ; n = n->items[0])
		i++;
	ck_assert_uint_eq(i, depth);
	free(text);
}
END_TEST

static Suite *
yaml_suite(void)
{
	Suite *s = suite_create("yaml");
	TCase *tc = tcase_create("core");
	TCase *big = tcase_create("scale");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_marks);
	tcase_add_test(tc, test_marks_count_characters);
	tcase_add_test(tc, test_multi_documents);
	tcase_add_test(tc, test_empty_input);
	tcase_add_test(tc, test_non_mapping_documents_kept);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_duplicate_key_flow);
	tcase_add_test(tc, test_non_scalar_key);
	tcase_add_test(tc, test_merge_explicit_wins);
	tcase_add_test(tc, test_merge_list);
	tcase_add_test(tc, test_merge_chain);
	tcase_add_test(tc, test_merge_bad_value);
	tcase_add_test(tc, test_merge_key_must_be_plain);
	tcase_add_test(tc, test_duplicate_merge_key);
	tcase_add_test(tc, test_anchor_shared);
	tcase_add_test(tc, test_anchor_redefined);
	tcase_add_test(tc, test_anchor_per_document);
	tcase_add_test(tc, test_alias_as_key);
	tcase_add_test(tc, test_unknown_alias);
	tcase_add_test(tc, test_recursive_alias);
	tcase_add_test(tc, test_billion_laughs);
	tcase_add_test(tc, test_syntax_error_keeps_earlier_documents);
	tcase_add_test(tc, test_syntax_error_context);
	tcase_add_test(tc, test_syntax_error_unclosed_flow);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_interpolation);
	tcase_add_test(tc, test_reference_in_flow_needs_quotes);
	tcase_add_test(tc, test_unset_variable);
	tcase_add_test(tc, test_malformed_reference);
	tcase_add_test(tc, test_keys_not_interpolated);
	tcase_add_test(tc, test_plain_and_quoted);
	tcase_add_test(tc, test_no_typing_and_tags);
	tcase_add_test(tc, test_embedded_nul);
	suite_add_tcase(s, tc);

	/* Sanitizer builds are several times slower: room to spare. */
	tcase_set_timeout(big, 60);
	tcase_add_checked_fixture(big, setup, teardown);
	tcase_add_test(big, test_merge_laughs);
	tcase_add_test(big, test_document_size_bound);
	tcase_add_test(big, test_large_mapping_duplicate_at_end);
	tcase_add_test(big, test_large_merge);
	tcase_add_test(big, test_deep_nesting);
	suite_add_tcase(s, big);
	return s;
}

UNIT_MAIN(yaml_suite)
