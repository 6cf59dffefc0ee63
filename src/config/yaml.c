/*
 * yaml.c - manifest text to node trees, built from libyaml's events.
 *
 * libyaml's own loader resolves nothing we need (no merge keys, no
 * duplicate keys, no bound on aliases) and would hold a second copy of
 * every document, so the tree is built here from parser events, with an
 * explicit stack so that deep nesting costs heap, not C stack:
 *
 *  - each open collection is a frame; its finished children wait on one
 *    shared value stack and are copied to the arena at their exact size
 *    when the collection ends, so the arena keeps no growth leftovers;
 *  - an alias is a one-node copy of the anchored node, with the alias's
 *    mark, sharing its children: subtrees are never copied. Every node
 *    counts 1 toward the per-document bound and an alias counts the
 *    expanded size of its target. That size is the document count taken
 *    across the target, known once the target is complete, so a "billion
 *    laughs" file is refused after work proportional to its text, not to
 *    its expansion. Merge keys copy pairs, but only pairs an alias or an
 *    inline mapping already paid for, so they stay within the same bound;
 *  - duplicate keys are found by a short linear scan, or by a per-mapping
 *    hash once the mapping outgrows it.
 *
 * Scratch (frames, value stack, anchor and key tables) lives in an arena
 * of its own per document, dropped when the document ends.
 */
#include "config/yaml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/interp.h"
#include "util/arena.h"

/* Up to this many keys a linear scan is cheaper than hashing. */
#define SMALL_MAP 8

struct anchor {
	const char *name;       /* scratch copy; NULL marks a free slot */
	node_t *node;
	size_t size;            /* expanded node count, once closed */
	int open;               /* still being built: an alias would recurse */
};

struct frame {
	node_t *node;
	struct mark start;      /* the collection's own start */
	size_t base;            /* its first entry on the value stack */
	size_t before;          /* document node count before it */
	const char *anchor;     /* its anchor's name in the table, or NULL */

	/* Mappings only. */
	int want_value;         /* a key was seen, its value is next */
	int skip_value;         /* ... and the pair is dropped */
	int merge_value;        /* ... and the key was `<<` */
	node_t *key;
	node_t *merge_key;      /* the first `<<`, for duplicate notes */
	int have_first;
	struct mark first;      /* first key: the mapping's mark */
	node_t **merges;        /* mappings to merge, in order */
	size_t nmerges, mcap;
	size_t *slots;          /* key index: stack offset + 1, 0 is free */
	size_t nslots, nindexed;
};

struct builder {
	struct arena *a;        /* the caller's: nodes and strings */
	struct arena *tmp;      /* the current document's scratch */
	struct diag_list *dl;
	const struct source *src;

	struct frame *frames;
	size_t nframes, fcap;
	struct node_pair *stack;
	size_t nstack, scap;
	struct anchor *anchors;
	size_t nanchors, acap;

	size_t count;           /* document nodes so far, aliases expanded */
	int dropped;            /* over the bound: skip to the document end */
	node_t *root;

	node_t **docs;
	size_t ndocs, dcap;
};

static void
oom(void)
{
	/* Same policy as the arena: a config that does not fit in memory
	 * cannot be validated anyway. */
	fputs("asterd: out of memory\n", stderr);
	abort();
}

static struct mark
mark_at(const struct builder *b, yaml_mark_t m)
{
	struct mark at;

	at.src = b->src;
	at.line = (unsigned)m.line + 1;
	at.col = (unsigned)m.column + 1;
	return at;
}

static size_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211u;
	}
	return (size_t)h;
}

static int
key_equal(const node_t *x, const node_t *y)
{
	return x == y ||
	       (x->len == y->len && memcmp(x->value, y->value, x->len) == 0);
}

static int
is_merge_key(const node_t *k)
{
	return k->plain && k->len == 2 && memcmp(k->value, "<<", 2) == 0;
}

/* The slot holding name, or the free slot where it belongs. */
static struct anchor *
anchor_slot(struct builder *b, const char *name)
{
	size_t mask = b->acap - 1;
	size_t i = hash_bytes(name, strlen(name)) & mask;

	while (b->anchors[i].name != NULL &&
	       strcmp(b->anchors[i].name, name) != 0)
		i = (i + 1) & mask;
	return &b->anchors[i];
}

static struct anchor *
anchor_find(struct builder *b, const char *name)
{
	struct anchor *an;

	if (b->acap == 0)
		return NULL;
	an = anchor_slot(b, name);
	return an->name != NULL ? an : NULL;
}

/*
 * Points anchor name at node (a redefinition replaces the earlier one, as
 * YAML says an alias names the closest preceding anchor). Returns the
 * table's copy of the name, or NULL when there is no anchor.
 */
static const char *
anchor_define(struct builder *b, const char *name, node_t *node, size_t size,
              int open)
{
	struct anchor *an, *old;
	size_t i, oldcap;

	if (name == NULL)
		return NULL;
	if ((b->nanchors + 1) * 2 > b->acap) {
		old = b->anchors;
		oldcap = b->acap;
		b->acap = oldcap ? oldcap * 2 : 16;
		b->anchors = arena_alloc(b->tmp, b->acap * sizeof(*b->anchors));
		for (i = 0; i < oldcap; i++)
			if (old[i].name != NULL)
				*anchor_slot(b, old[i].name) = old[i];
	}
	an = anchor_slot(b, name);
	if (an->name == NULL) {
		an->name = arena_strdup(b->tmp, name);
		b->nanchors++;
	}
	an->node = node;
	an->size = size;
	an->open = open;
	return an->name;
}

/* Records the size of a finished collection, unless a nested node took
 * its anchor name meanwhile (then the collection is no longer named). */
static void
anchor_close(struct builder *b, const char *name, const node_t *node,
             size_t size)
{
	struct anchor *an = anchor_find(b, name);

	if (an != NULL && an->node == node) {
		an->size = size;
		an->open = 0;
	}
}

/*
 * Adds n expanded nodes to the document count. Past YAML_MAX_NODES it
 * reports yaml-limit at `at`, drops the document and returns -1.
 */
static int
doc_count(struct builder *b, size_t n, const struct mark *at)
{
	b->count += n;
	if (b->count <= YAML_MAX_NODES)
		return 0;
	diag_error(b->dl, at, "yaml-limit",
	           "document expands to more than %d nodes", YAML_MAX_NODES);
	b->dropped = 1;
	return -1;
}

static void
stack_push(struct builder *b, node_t *key, node_t *value, int merged)
{
	struct node_pair *p;

	b->stack = arena_grow(b->tmp, b->stack, sizeof(*b->stack), b->nstack,
	                      &b->scap, b->nstack + 1);
	p = &b->stack[b->nstack++];
	p->key = key;
	p->value = value;
	p->merged = (unsigned char)merged;
}

static void
index_insert(struct builder *b, struct frame *f, size_t rel)
{
	const node_t *k = b->stack[f->base + rel].key;
	size_t mask = f->nslots - 1;
	size_t i = hash_bytes(k->value, k->len) & mask;

	while (f->slots[i] != 0)
		i = (i + 1) & mask;
	f->slots[i] = rel + 1;
}

/* Brings f's key index up to its n pairs, at most half full. */
static void
index_update(struct builder *b, struct frame *f, size_t n)
{
	if (n * 2 > f->nslots) {
		f->nslots = 64;
		while (f->nslots < n * 4)
			f->nslots *= 2;
		f->slots = arena_alloc(b->tmp, f->nslots * sizeof(*f->slots));
		f->nindexed = 0;
	}
	while (f->nindexed < n)
		index_insert(b, f, f->nindexed++);
}

/* The pair of f with key, or NULL. */
static const struct node_pair *
map_find(struct builder *b, struct frame *f, const node_t *key)
{
	size_t n = b->nstack - f->base, i, mask;
	struct node_pair *pairs;

	if (n == 0)
		return NULL;
	pairs = b->stack + f->base;
	if (n <= SMALL_MAP) {
		for (i = 0; i < n; i++)
			if (key_equal(pairs[i].key, key))
				return &pairs[i];
		return NULL;
	}
	index_update(b, f, n);
	mask = f->nslots - 1;
	for (i = hash_bytes(key->value, key->len) & mask; f->slots[i] != 0;
	     i = (i + 1) & mask)
		if (key_equal(pairs[f->slots[i] - 1].key, key))
			return &pairs[f->slots[i] - 1];
	return NULL;
}

static void
report_duplicate(struct builder *b, const node_t *key, const node_t *first)
{
	struct diag *d;

	d = diag_error(b->dl, &key->mark, "duplicate-key",
	               "duplicate key '%s'", key->value);
	diag_note(b->dl, d, &first->mark, "'%s' is first defined here",
	          first->value);
}

/* A key (n; NULL after an unknown alias) of the mapping f, written at. */
static void
map_key(struct builder *b, struct frame *f, node_t *n, const struct mark *at)
{
	const struct node_pair *prev;

	if (!f->have_first) {
		f->first = *at;
		f->have_first = 1;
	}
	f->want_value = 1;
	f->skip_value = 1;
	f->merge_value = 0;
	if (n == NULL)
		return;
	if (n->kind != NODE_SCALAR) {
		diag_error(b->dl, at, "wrong-type",
		           "mapping keys must be scalars, not %s",
		           node_kind_name(n));
		return;
	}
	if (is_merge_key(n)) {
		if (f->merge_key != NULL) {
			report_duplicate(b, n, f->merge_key);
			return;
		}
		f->merge_key = n;
		f->merge_value = 1;
	} else if ((prev = map_find(b, f, n)) != NULL) {
		report_duplicate(b, n, prev->key);
		return;
	}
	f->key = n;
	f->skip_value = 0;
}

static void
merge_push(struct builder *b, struct frame *f, node_t *m)
{
	f->merges = arena_grow(b->tmp, f->merges, sizeof(*f->merges),
	                       f->nmerges, &f->mcap, f->nmerges + 1);
	f->merges[f->nmerges++] = m;
}

/* The value of a `<<` key: a mapping or a list of mappings. */
static void
merge_value(struct builder *b, struct frame *f, node_t *v,
            const struct mark *at)
{
	size_t i;

	if (v->kind == NODE_MAP) {
		merge_push(b, f, v);
		return;
	}
	if (v->kind != NODE_SEQ) {
		diag_error(b->dl, at, "wrong-type",
		           "a merge key ('<<') takes a mapping or a list of "
		           "mappings, not %s", node_kind_name(v));
		return;
	}
	/* Items that are aliases carry the mark of their anchor, far from
	 * here: point at the list and name the item instead. */
	for (i = 0; i < v->n; i++) {
		if (v->items[i]->kind == NODE_MAP)
			merge_push(b, f, v->items[i]);
		else
			diag_error(b->dl, at, "wrong-type",
			           "item %zu of the merge list is %s, not a "
			           "mapping", i + 1,
			           node_kind_name(v->items[i]));
	}
}

/*
 * Appends the pairs of f's merge sources whose keys are not present yet:
 * explicit keys win over merged ones, earlier sources over later ones.
 */
static void
map_merge(struct builder *b, struct frame *f)
{
	size_t i, j;

	for (i = 0; i < f->nmerges; i++) {
		const node_t *m = f->merges[i];

		for (j = 0; j < m->n; j++)
			if (map_find(b, f, m->pairs[j].key) == NULL)
				stack_push(b, m->pairs[j].key,
				           m->pairs[j].value, 1);
	}
}

/*
 * Hangs a finished node n, written at `at`, into the open collection (or
 * makes it the root). n is NULL after an unknown alias: the entry, or the
 * whole pair, is left out.
 */
static void
attach(struct builder *b, node_t *n, const struct mark *at)
{
	struct frame *f;

	if (b->nframes == 0) {
		b->root = n;
		return;
	}
	f = &b->frames[b->nframes - 1];
	if (f->node->kind == NODE_SEQ) {
		if (n != NULL)
			stack_push(b, NULL, n, 0);
		return;
	}
	if (!f->want_value) {
		map_key(b, f, n, at);
		return;
	}
	f->want_value = 0;
	if (f->skip_value || n == NULL)
		return;
	if (f->merge_value)
		merge_value(b, f, n, at);
	else
		stack_push(b, f->key, n, 0);
}

/* True when the next node completes a key of the open mapping. */
static int
in_key(const struct builder *b)
{
	const struct frame *f;

	if (b->nframes == 0)
		return 0;
	f = &b->frames[b->nframes - 1];
	return f->node->kind == NODE_MAP && !f->want_value;
}

static const char *
tag_copy(struct builder *b, const yaml_char_t *tag)
{
	return tag != NULL ? arena_strdup(b->a, (const char *)tag) : NULL;
}

/*
 * Sets the value of scalar n from the raw text. Values are interpolated,
 * keys are not (a key names a field; it never reads the environment). On
 * a bad reference the raw text stays, so the tree remains complete.
 */
static void
scalar_value(struct builder *b, node_t *n, const char *raw, size_t len,
             int interpolate)
{
	const char *out, *problem;
	size_t outlen;
	int unset;

	if (interpolate) {
		if (interp_expand(b->a, raw, len, &out, &outlen, &problem,
		    &unset) == 0) {
			n->value = out != raw ? out :
			    arena_strndup(b->a, raw, len);
			n->len = outlen;
			return;
		}
		diag_error(b->dl, &n->mark,
		           unset ? "unset-variable" : "invalid-value", "%s",
		           problem);
	}
	n->value = arena_strndup(b->a, raw, len);
	n->len = len;
}

static void
on_scalar(struct builder *b, const yaml_event_t *ev)
{
	struct mark at = mark_at(b, ev->start_mark);
	node_t *n;

	if (doc_count(b, 1, &at) == -1)
		return;
	n = arena_alloc(b->a, sizeof(*n));
	n->kind = NODE_SCALAR;
	n->mark = at;
	n->tag = tag_copy(b, ev->data.scalar.tag);
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	scalar_value(b, n, (const char *)ev->data.scalar.value,
	             ev->data.scalar.length, !in_key(b));
	anchor_define(b, (const char *)ev->data.scalar.anchor, n, 1, 0);
	attach(b, n, &at);
}

static void
on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct mark at = mark_at(b, ev->start_mark);
	struct anchor *an = anchor_find(b, name);
	node_t *n;

	if (an == NULL) {
		diag_error(b->dl, &at, "yaml-syntax", "unknown anchor '%s'",
		           name);
		attach(b, NULL, &at);
		return;
	}
	if (an->open) {
		diag_error(b->dl, &at, "yaml-limit",
		           "alias '%s' refers to a node that contains it; the "
		           "document would expand without limit", name);
		b->dropped = 1;
		return;
	}
	if (doc_count(b, an->size, &at) == -1)
		return;
	/*
	 * The alias gets a node of its own, sharing the anchored node's
	 * children: what is said about the value as a whole (a duplicate
	 * listener, a bad mountPath, an unknown key) points where the alias
	 * is written, while the shared subtree is still never copied.
	 */
	n = arena_alloc(b->a, sizeof(*n));
	*n = *an->node;
	n->mark = at;
	attach(b, n, &at);
}

static void
on_open(struct builder *b, const yaml_event_t *ev, enum node_kind kind)
{
	struct mark at = mark_at(b, ev->start_mark);
	const yaml_char_t *tag, *anchor;
	struct frame *f;
	node_t *n;

	if (doc_count(b, 1, &at) == -1)
		return;
	if (kind == NODE_MAP) {
		tag = ev->data.mapping_start.tag;
		anchor = ev->data.mapping_start.anchor;
	} else {
		tag = ev->data.sequence_start.tag;
		anchor = ev->data.sequence_start.anchor;
	}
	n = arena_alloc(b->a, sizeof(*n));
	n->kind = kind;
	n->mark = at;
	n->tag = tag_copy(b, tag);

	b->frames = arena_grow(b->tmp, b->frames, sizeof(*b->frames),
	                       b->nframes, &b->fcap, b->nframes + 1);
	f = &b->frames[b->nframes++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	f->start = at;
	f->base = b->nstack;
	f->before = b->count - 1;
	f->anchor = anchor_define(b, (const char *)anchor, n, 0, 1);
}

static void
on_close(struct builder *b)
{
	struct frame *f = &b->frames[b->nframes - 1];
	node_t *n = f->node;
	struct mark at = f->start;
	size_t i, cnt;

	if (n->kind == NODE_MAP) {
		map_merge(b, f);
		cnt = b->nstack - f->base;
		if (cnt > 0) {
			n->pairs = arena_alloc(b->a, cnt * sizeof(*n->pairs));
			memcpy(n->pairs, b->stack + f->base,
			       cnt * sizeof(*n->pairs));
		}
		/* SPEC §5: a mapping is located at its first key. */
		if (f->have_first)
			n->mark = f->first;
	} else {
		cnt = b->nstack - f->base;
		if (cnt > 0)
			n->items = arena_alloc(b->a, cnt * sizeof(*n->items));
		for (i = 0; i < cnt; i++)
			n->items[i] = b->stack[f->base + i].value;
	}
	n->n = cnt;
	b->nstack = f->base;
	if (f->anchor != NULL)
		anchor_close(b, f->anchor, n, b->count - f->before);
	b->nframes--;
	attach(b, n, &at);
}

static void
doc_begin(struct builder *b)
{
	b->tmp = arena_new();
	if (b->tmp == NULL)
		oom();
	b->frames = NULL;
	b->nframes = b->fcap = 0;
	b->stack = NULL;
	b->nstack = b->scap = 0;
	b->anchors = NULL;
	b->nanchors = b->acap = 0;
	b->count = 0;
	b->dropped = 0;
	b->root = NULL;
}

/* Ends the current document; keep says whether its root is wanted. */
static void
doc_end(struct builder *b, int keep)
{
	if (keep && !b->dropped && b->root != NULL && !node_is_null(b->root)) {
		b->docs = arena_grow(b->a, b->docs, sizeof(*b->docs), b->ndocs,
		                     &b->dcap, b->ndocs + 1);
		b->docs[b->ndocs++] = b->root;
	}
	arena_free(b->tmp);
	b->tmp = NULL;
}

static void
on_event(struct builder *b, const yaml_event_t *ev)
{
	if (ev->type == YAML_DOCUMENT_START_EVENT) {
		doc_begin(b);
		return;
	}
	if (ev->type == YAML_DOCUMENT_END_EVENT) {
		doc_end(b, 1);
		return;
	}
	if (b->tmp == NULL || b->dropped)
		return;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		on_scalar(b, ev);
		break;
	case YAML_ALIAS_EVENT:
		on_alias(b, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		on_open(b, ev, NODE_SEQ);
		break;
	case YAML_MAPPING_START_EVENT:
		on_open(b, ev, NODE_MAP);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_close(b);
		break;
	default:
		break;
	}
}

/*
 * Reader errors (bad UTF-8, control characters) carry a byte offset, not
 * a mark: count lines and characters up to it as libyaml would.
 */
static struct mark
offset_mark(const struct builder *b, const char *text, size_t len,
            size_t off)
{
	struct mark at = { b->src, 1, 1 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			at.line++;
			at.col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			at.col++;
		}
	}
	return at;
}

static void
report_syntax(struct builder *b, const yaml_parser_t *p, const char *text,
              size_t len)
{
	const char *problem = p->problem != NULL ? p->problem :
	    p->error == YAML_MEMORY_ERROR ? "out of memory" : "invalid YAML";
	struct mark at;

	if (p->error == YAML_READER_ERROR) {
		at = offset_mark(b, text, len, p->problem_offset);
		if (p->problem_value != -1) {
			diag_error(b->dl, &at, "yaml-syntax", "%s (#x%02X)",
			           problem, (unsigned)p->problem_value);
			return;
		}
	} else {
		at = mark_at(b, p->problem_mark);
	}
	if (p->context != NULL)
		diag_error(b->dl, &at, "yaml-syntax", "%s: %s", p->context,
		           problem);
	else
		diag_error(b->dl, &at, "yaml-syntax", "%s", problem);
}

size_t
yaml_parse(struct arena *a, const struct source *src, const char *text,
           size_t len, struct diag_list *dl, node_t ***docs, size_t *ndocs)
{
	struct builder b;
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t errors = dl->errors;
	int done = 0;

	memset(&b, 0, sizeof(b));
	b.a = a;
	b.dl = dl;
	b.src = src;
	if (!yaml_parser_initialize(&parser))
		oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)
	                             (text != NULL ? text : ""), len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			/* The partial document goes; earlier ones stay. */
			report_syntax(&b, &parser, text, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	if (b.tmp != NULL)
		doc_end(&b, 0);
	yaml_parser_delete(&parser);
	*docs = b.docs;
	*ndocs = b.ndocs;
	return dl->errors - errors;
}
