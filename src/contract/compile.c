/*
 * compile.c - a configuration's request schemas as trees to check bodies
 * against (contract.h).
 *
 * The configuration has passed the check (config/jsonschema.c, and
 * graph/schemas.c for every $ref), so compiling only reads: each keyword
 * typed as the check typed it, each schema node compiled once however
 * many aliases and $refs reach it (a table on the node's address), each
 * distinct pattern once.
 *
 * $refs are resolved after the schema holding them is compiled, from a
 * work list, so a long chain of named schemas never deepens the C stack,
 * and recursive schemas (a tree whose children are trees) simply point
 * back. A cycle made of $refs alone (A is {$ref: B}, B is {$ref: A})
 * would apply the same keywords to the same value forever; since
 * applying a schema twice adds nothing, each schema records how many
 * distinct schemas its $ref chain holds, and a check follows that many.
 *
 * Only routes' request schemas and what they reach are compiled: named
 * schemas no request uses cost nothing at a reload.
 */
#include "contract/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/jsonschema.h"
#include "config/manifest.h"
#include "util/arena.h"

#define CHAIN_OPEN UINT32_MAX   /* on the path being measured */
#define TEXT_MAX 120            /* enum and const values in messages */

struct route_entry {
	const struct route *route;  /* NULL: free slot */
	const struct contract_schema *schema;
};

/* Compiled schemas by the address of their YAML node. */
struct memo_entry {
	const node_t *node;
	struct contract_schema *schema;
};

/* A $ref still to resolve. */
struct pending {
	struct contract_schema *from;
	const node_t *ref;
	const struct module *in;    /* the module whose schema holds it */
};

struct compiler {
	const struct config *cfg;
	struct contract *c;
	struct arena *a;
	struct memo_entry *memo;
	size_t memo_mask, nmemo;
	struct pending *pending;
	size_t npending, pending_cap;
	struct contract_schema **all;   /* every schema compiled */
	size_t nall, all_cap;
	int failed;                     /* out of memory */
};

static const char *const type_names[] = {
	"null", "boolean", "object", "array", "number", "integer", "string",
};

static struct contract_schema *compile_schema(struct compiler *cc,
                                              const node_t *n,
                                              const struct module *m);

/* --- hashing addresses ---------------------------------------------------- */

static size_t
address_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p;

	h ^= h >> 29;
	h *= UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 32);
}

static struct memo_entry *
memo_slot(struct memo_entry *table, size_t mask, const node_t *n)
{
	size_t i = address_hash(n) & mask;

	while (table[i].node != NULL && table[i].node != n)
		i = (i + 1) & mask;
	return &table[i];
}

static void
memo_put(struct compiler *cc, const node_t *n, struct contract_schema *s)
{
	if ((cc->nmemo + 1) * 2 > cc->memo_mask + 1) {
		size_t cap = (cc->memo_mask + 1) * 2, i;
		struct memo_entry *t = arena_alloc(cc->a, cap * sizeof(*t));

		for (i = 0; cc->memo != NULL && i <= cc->memo_mask; i++)
			if (cc->memo[i].node != NULL)
				*memo_slot(t, cap - 1, cc->memo[i].node) =
				    cc->memo[i];
		cc->memo = t;
		cc->memo_mask = cap - 1;
	}
	memo_slot(cc->memo, cc->memo_mask, n)->node = n;
	memo_slot(cc->memo, cc->memo_mask, n)->schema = s;
	cc->nmemo++;
}

/* --- property names ---------------------------------------------------- */

uint32_t
property_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

const struct property *
schema_property(const struct contract_schema *s, const char *name,
                size_t len)
{
	uint32_t h = property_hash(name, len), i, slot;

	for (i = h & s->slot_mask; (slot = s->slots[i]) != 0;
	     i = (i + 1) & s->slot_mask) {
		const struct property *p = &s->props[slot - 1];

		if (p->hash == h && p->len == len &&
		    memcmp(p->name, name, len) == 0)
			return p;
	}
	return NULL;
}

/*
 * The property named name[0..len) of s, added (with no schema and not
 * required) when absent; *added says which. The slot table is sized for
 * every name the schema can have, so it never grows.
 */
static struct property *
property_slot(struct contract_schema *s, const char *name, uint32_t len,
              int *added)
{
	uint32_t h = property_hash(name, len), k;
	struct property *p;

	for (k = h & s->slot_mask; s->slots[k] != 0;
	     k = (k + 1) & s->slot_mask) {
		p = &s->props[s->slots[k] - 1];
		if (p->hash == h && p->len == len &&
		    memcmp(p->name, name, len) == 0) {
			*added = 0;
			return p;
		}
	}
	p = &s->props[s->nprops];
	p->name = name;
	p->len = len;
	p->hash = h;
	p->required = -1;
	s->slots[k] = ++s->nprops;
	*added = 1;
	return p;
}

/*
 * properties and required of one schema as one table: each property with
 * its schema, then each required name that has none, each knowing its
 * index in required. Names repeat only through a merge key (the explicit
 * one, first, wins) or a repeated required entry (refused by the check).
 */
static void
compile_properties(struct compiler *cc, struct contract_schema *s,
                   const struct module *m, const node_t *props,
                   const node_t *required)
{
	uint32_t nprops = props != NULL && props->kind == NODE_MAP ?
	                  props->n : 0;
	uint32_t nrequired = required != NULL && required->kind == NODE_SEQ ?
	                     required->n : 0;
	uint32_t i, slots = 8;
	struct property *p;
	int added;

	while (slots < (nprops + nrequired) * 2)
		slots *= 2;
	s->slots = arena_alloc(cc->a, slots * sizeof(*s->slots));
	s->slot_mask = slots - 1;
	s->props = arena_alloc(cc->a, (nprops + nrequired + 1) *
	                       sizeof(*s->props));
	s->required = arena_alloc(cc->a, (nrequired + 1) *
	                          sizeof(*s->required));
	for (i = 0; i < nprops; i++) {
		const node_t *key = props->pairs[i].key;

		p = property_slot(s, key->value, key->len, &added);
		if (added)
			p->schema = compile_schema(cc, props->pairs[i].value,
			                           m);
	}
	for (i = 0; i < nrequired; i++) {
		const node_t *name = required->items[i];

		if (name->kind != NODE_SCALAR)
			continue;
		p = property_slot(s, name->value, name->len, &added);
		if (p->required >= 0)
			continue;
		p->required = (int)s->nrequired;
		s->required[s->nrequired++] = p;
	}
	s->has |= HAS_PROPERTIES;
}

/* --- keywords ----------------------------------------------------------- */

static unsigned
type_bit(const node_t *n)
{
	size_t i;

	for (i = 0; n->kind == NODE_SCALAR &&
	     i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(n->value, type_names[i]) == 0)
			return 1u << i;
	return 0;
}

static void
compile_type(struct contract_schema *s, const node_t *v)
{
	uint32_t i;

	if (v->kind == NODE_SCALAR)
		s->types = type_bit(v);
	for (i = 0; v->kind == NODE_SEQ && i < v->n; i++)
		s->types |= type_bit(v->items[i]);
}

static void
compile_enum(struct compiler *cc, struct contract_schema *s, const node_t *v)
{
	char *text;
	size_t i, used = 0;

	if (v->kind != NODE_SEQ)
		return;
	s->enums = arena_alloc(cc->a, (v->n + 1) * sizeof(*s->enums));
	text = arena_alloc(cc->a, TEXT_MAX + 8);
	for (i = 0; i < v->n; i++) {
		const struct value *e = value_from_yaml(cc->a, v->items[i]);
		const char *t = value_text(cc->a, e, TEXT_MAX);
		size_t tl = strlen(t);

		s->enums[s->nenums++] = e;
		if (used >= TEXT_MAX)
			continue;
		if (i > 0) {
			memcpy(text + used, ", ", 2);
			used += 2;
		}
		if (used + tl > TEXT_MAX) {
			memcpy(text + used, "...", 3);
			used = TEXT_MAX;
			continue;
		}
		memcpy(text + used, t, tl);
		used += tl;
	}
	s->enum_text = text;
	s->has |= HAS_ENUM;
}

static void
compile_count(const node_t *v, unsigned long long *out, struct
              contract_schema *s, unsigned bit)
{
	if (jsonschema_count(v, out) == 0)
		s->has |= bit;
}

static void
compile_number(const node_t *v, struct number *out, struct contract_schema *s,
               unsigned bit)
{
	if (value_number(v, out) == 0)
		s->has |= bit;
}

static void
compile_pattern(struct compiler *cc, struct contract_schema *s,
                const node_t *v)
{
	char err[200];

	if (v->kind != NODE_SCALAR)
		return;
	s->pattern = pattern_get(cc->c->patterns, v->value, v->len, err,
	                         sizeof(err));
	/* The check compiled it with the same options: only memory can
	 * fail here, and then nothing may pass. */
	if (s->pattern == NULL)
		cc->failed = 1;
}

static void
compile_format(struct contract_schema *s, const node_t *v)
{
	if (v->kind != NODE_SCALAR)
		return;
	if (strcmp(v->value, "uuid") == 0)
		s->format = FORMAT_UUID;
	else if (strcmp(v->value, "date-time") == 0)
		s->format = FORMAT_DATE_TIME;
	else if (strcmp(v->value, "email") == 0)
		s->format = FORMAT_EMAIL;
}

static void
add_pending(struct compiler *cc, struct contract_schema *from,
            const node_t *ref, const struct module *m)
{
	if (ref->kind != NODE_SCALAR)
		return;
	cc->pending = arena_grow(cc->a, cc->pending, sizeof(*cc->pending),
	                         cc->npending, &cc->pending_cap,
	                         cc->npending + 1);
	cc->pending[cc->npending].from = from;
	cc->pending[cc->npending].ref = ref;
	cc->pending[cc->npending].in = m;
	cc->npending++;
}

static void
compile_const(struct compiler *cc, struct contract_schema *s,
              const node_t *v)
{
	s->konst = value_from_yaml(cc->a, v);
	s->const_text = value_text(cc->a, s->konst, TEXT_MAX);
	s->has |= HAS_CONST;
}

/* A keyword whose value is a schema: additionalProperties, items. */
static void
compile_subschema(struct compiler *cc, const struct contract_schema **out,
                  struct contract_schema *s, unsigned bit, const node_t *v,
                  const struct module *m)
{
	*out = compile_schema(cc, v, m);
	s->has |= bit;
}

/* One keyword (not properties or required) of the mapping schema s. */
static void
compile_keyword(struct compiler *cc, struct contract_schema *s,
                const struct module *m, const char *k, const node_t *v)
{
	if (strcmp(k, "type") == 0)
		compile_type(s, v);
	else if (strcmp(k, "additionalProperties") == 0)
		compile_subschema(cc, &s->additional, s, HAS_ADDITIONAL, v, m);
	else if (strcmp(k, "items") == 0)
		compile_subschema(cc, &s->items, s, HAS_ITEMS, v, m);
	else if (strcmp(k, "enum") == 0)
		compile_enum(cc, s, v);
	else if (strcmp(k, "const") == 0)
		compile_const(cc, s, v);
	else if (strcmp(k, "minLength") == 0)
		compile_count(v, &s->min_length, s, HAS_MIN_LENGTH);
	else if (strcmp(k, "maxLength") == 0)
		compile_count(v, &s->max_length, s, HAS_MAX_LENGTH);
	else if (strcmp(k, "minItems") == 0)
		compile_count(v, &s->min_items, s, HAS_MIN_ITEMS);
	else if (strcmp(k, "maxItems") == 0)
		compile_count(v, &s->max_items, s, HAS_MAX_ITEMS);
	else if (strcmp(k, "minimum") == 0)
		compile_number(v, &s->minimum, s, HAS_MINIMUM);
	else if (strcmp(k, "maximum") == 0)
		compile_number(v, &s->maximum, s, HAS_MAXIMUM);
	else if (strcmp(k, "exclusiveMinimum") == 0)
		compile_number(v, &s->excl_minimum, s, HAS_EXCL_MINIMUM);
	else if (strcmp(k, "exclusiveMaximum") == 0)
		compile_number(v, &s->excl_maximum, s, HAS_EXCL_MAXIMUM);
	else if (strcmp(k, "pattern") == 0)
		compile_pattern(cc, s, v);
	else if (strcmp(k, "format") == 0)
		compile_format(s, v);
	else if (strcmp(k, "$ref") == 0)
		add_pending(cc, s, v, m);
	/* Annotations (title, description, $comment, default, examples,
	 * deprecated, readOnly, writeOnly) do not validate. */
}

/* Whether an earlier pair of map is named like pair i: only a merged
 * key can be (the loader refuses other duplicates), behind an explicit
 * one or an earlier merge. */
static int
repeated_key(const node_t *map, uint32_t i)
{
	uint32_t j;

	if (!map->pairs[i].merged)
		return 0;
	for (j = 0; j < i; j++)
		if (map->pairs[j].key->len == map->pairs[i].key->len &&
		    strcmp(map->pairs[j].key->value,
		           map->pairs[i].key->value) == 0)
			return 1;
	return 0;
}

static void
remember(struct compiler *cc, struct contract_schema *s)
{
	cc->all = arena_grow(cc->a, cc->all, sizeof(*cc->all), cc->nall,
	                     &cc->all_cap, cc->nall + 1);
	cc->all[cc->nall++] = s;
}

/* The schema at n, a schema of module m, compiled once. */
static struct contract_schema *
compile_schema(struct compiler *cc, const node_t *n, const struct module *m)
{
	struct memo_entry *e = cc->memo != NULL ?
	                       memo_slot(cc->memo, cc->memo_mask, n) : NULL;
	const node_t *props = NULL, *required = NULL;
	struct contract_schema *s;
	int flag = 0;
	uint32_t i;

	if (e != NULL && e->node == n)
		return e->schema;
	s = arena_alloc(cc->a, sizeof(*s));
	memo_put(cc, n, s);
	remember(cc, s);
	s->chain = 1;
	if (n->kind != NODE_MAP) {
		/* true or false; anything else cannot pass the check, and
		 * would refuse everything here. */
		s->boolean = (signed char)(jsonschema_bool(n, &flag) == 0 &&
		                           flag);
		return s;
	}
	s->boolean = -1;
	for (i = 0; i < n->n; i++) {
		const char *k = n->pairs[i].key->value;
		const node_t *v = n->pairs[i].value;

		if (repeated_key(n, i))
			continue;
		if (strcmp(k, "properties") == 0)
			props = v;
		else if (strcmp(k, "required") == 0)
			required = v;
		else
			compile_keyword(cc, s, m, k, v);
	}
	if (props != NULL || required != NULL)
		compile_properties(cc, s, m, props, required);
	return s;
}

/* --- $ref ---------------------------------------------------------------- */

/* The named schema ref names from module in ("Name" or "module.Name"). */
static const node_t *
named_schema(struct compiler *cc, const node_t *ref, const struct module *in,
             const struct module **owner)
{
	const char *dot = strrchr(ref->value, '.');
	const struct module *m = in;
	const char *name = ref->value;

	if (dot != NULL) {
		const char *id = arena_strndup(cc->a, ref->value,
		                               (size_t)(dot - ref->value));

		m = config_find_module(cc->cfg, id);
		name = dot + 1;
	}
	*owner = m;
	return m != NULL ? node_get(m->schemas, name) : NULL;
}

static void
resolve_refs(struct compiler *cc)
{
	static const node_t never = {.kind = NODE_SCALAR, .value = "false",
	                             .len = 5};
	size_t i;

	for (i = 0; i < cc->npending; i++) {
		struct pending p = cc->pending[i];
		const struct module *owner = NULL;
		const node_t *target = named_schema(cc, p.ref, p.in, &owner);

		/* The check resolved every $ref; should one not resolve,
		 * it refuses every value rather than none. */
		p.from->ref = compile_schema(cc, target != NULL ? target :
		                             &never, owner);
	}
}

/* How many distinct schemas the $ref chain of each schema holds (the
 * chains form a functional graph: one way out of every schema). */
static void
measure_chains(struct compiler *cc)
{
	struct contract_schema **path;
	size_t i, n, k;

	path = arena_alloc(cc->a, (cc->nall + 1) * sizeof(*path));
	for (i = 0; i < cc->nall; i++)
		cc->all[i]->chain = 0;
	for (i = 0; i < cc->nall; i++) {
		struct contract_schema *x = cc->all[i];
		uint32_t base = 0;

		for (n = 0; x != NULL && x->chain == 0;
		     x = (struct contract_schema *)x->ref) {
			x->chain = CHAIN_OPEN;
			path[n++] = x;
		}
		if (x != NULL && x->chain == CHAIN_OPEN) {
			/* A cycle from x to the end of the path. */
			for (k = 0; path[k] != x; k++)
				;
			for (base = (uint32_t)(n - k); n > k; n--)
				path[n - 1]->chain = base;
		} else if (x != NULL) {
			base = x->chain;
		}
		while (n > 0)
			path[--n]->chain = ++base;
	}
}

/* --- routes -------------------------------------------------------------- */

static struct route_entry *
route_slot(struct route_entry *table, size_t mask, const struct route *r)
{
	size_t i = address_hash(r) & mask;

	while (table[i].route != NULL && table[i].route != r)
		i = (i + 1) & mask;
	return &table[i];
}

static size_t
count_request_schemas(const struct config *cfg)
{
	size_t i, j, n = 0;

	for (i = 0; i < cfg->nmembers; i++)
		for (j = 0; j < cfg->members[i]->routes.n; j++) {
			const struct route *r = cfg->members[i]->routes.v[j];

			n += r->request != NULL && r->request->schema != NULL;
		}
	return n;
}

static void
compile_routes(struct compiler *cc)
{
	const struct config *cfg = cc->cfg;
	struct contract *c = cc->c;
	size_t i, j, cap = 8;

	while (cap < count_request_schemas(cfg) * 2)
		cap *= 2;
	c->routes = arena_alloc(cc->a, cap * sizeof(*c->routes));
	c->route_mask = cap - 1;
	for (i = 0; i < cfg->nmembers; i++) {
		const struct module *m = cfg->members[i];

		for (j = 0; j < m->routes.n; j++) {
			const struct route *r = m->routes.v[j];
			struct route_entry *e;

			if (r->request == NULL || r->request->schema == NULL)
				continue;
			e = route_slot(c->routes, c->route_mask, r);
			e->route = r;
			e->schema = compile_schema(cc, r->request->schema, m);
			c->nroutes++;
		}
	}
}

struct contract *
contract_compile(const struct config *cfg)
{
	struct contract *c = calloc(1, sizeof(*c));
	struct compiler cc;

	if (c == NULL)
		return NULL;
	c->arena = arena_new();
	c->patterns = pattern_set_new();
	if (c->arena == NULL || c->patterns == NULL) {
		contract_free(c);
		return NULL;
	}
	memset(&cc, 0, sizeof(cc));
	cc.cfg = cfg;
	cc.c = c;
	cc.a = c->arena;
	compile_routes(&cc);
	resolve_refs(&cc);
	measure_chains(&cc);
	if (cc.failed) {
		contract_free(c);
		return NULL;
	}
	return c;
}

void
contract_free(struct contract *c)
{
	if (c == NULL)
		return;
	scratch_release(&c->scratch);
	pattern_set_free(c->patterns);
	arena_free(c->arena);
	free(c);
}

const struct contract_schema *
contract_request_schema(const struct contract *c, const struct route *r)
{
	const struct route_entry *e;

	if (c == NULL || c->nroutes == 0 || r->request == NULL ||
	    r->request->schema == NULL)
		return NULL;
	e = route_slot(c->routes, c->route_mask, r);
	return e->route == r ? e->schema : NULL;
}

size_t
contract_count(const struct contract *c)
{
	return c != NULL ? c->nroutes : 0;
}
