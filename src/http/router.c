/*
 * router.c - the route table of a generation, as a trie of path segments.
 *
 * Each node stands for one segment of some mount path. Literal children sit
 * in a sorted array searched by bisection, so a level of 10,000 siblings
 * costs some fourteen comparisons; the {param} child, whatever its name, is
 * one pointer more (names belong to routes: /a/{x} and /a/{y} share a
 * node). A route hangs on the node of its last segment, exact and prefix
 * routes apart, with the scope and methods it declares.
 *
 * Matching walks the path depth first: at each node the literal child,
 * then the param child, then the node's own prefix routes. So at the first
 * segment where two candidates differ the literal one wins, an exact route
 * beats a prefix route on the same node, a deeper prefix beats a shallower
 * one, and a literal branch that dead-ends gives way to a param branch
 * that goes through. A candidate that does not serve the method does not
 * end the walk, because a less specific route may (GET /a/new beside
 * PATCH /a/{id}, as Go's ServeMux resolves it); only when no candidate
 * serves the method is the answer 405, and Allow names what every
 * candidate serves, since each of those methods would succeed. A node is
 * reached by one sequence of segments only, so a walk enters it at most
 * once, and never enters a subtree holding no route of the listener's
 * scopes.
 *
 * Building sorts the routes by their segments: the routes below any node
 * are then one run of that order, and each child's routes a run within it,
 * so the trie is made in one recursive pass with every array allocated at
 * its final size, in O(n log n) for n routes.
 */
#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/manifest.h"
#include "http/parse.h"
#include "util/arena.h"

/* A route on its node. */
struct rentry {
	const struct route *route;
	unsigned methods;           /* as declared */
	unsigned scope;
	const char **names;         /* its {param} names, in path order */
};

struct rchild {
	const char *seg;            /* decoded, not NUL-terminated */
	size_t len;
	struct rnode *node;
};

struct rnode {
	struct rchild *kids;        /* sorted by seg_order() */
	size_t nkids;
	struct rnode *param;
	struct rentry *exact;
	struct rentry *prefix;
	size_t nexact, nprefix;
	unsigned scopes;            /* of every route at or below */
};

struct router {
	struct rnode *root;
	size_t count;
};

/* --- methods ------------------------------------------------------------ */

static const struct {
	const char *name;
	unsigned bit;
} method_names[] = {
	{"GET", METHOD_GET},
	{"HEAD", METHOD_HEAD},
	{"POST", METHOD_POST},
	{"PUT", METHOD_PUT},
	{"PATCH", METHOD_PATCH},
	{"DELETE", METHOD_DELETE},
	{"OPTIONS", METHOD_OPTIONS},
};

#define NMETHODS (sizeof(method_names) / sizeof(method_names[0]))

unsigned
router_method_bit(const char *method)
{
	size_t i;

	if (method == NULL)
		return 0;
	for (i = 0; i < NMETHODS; i++)
		if (strcmp(method, method_names[i].name) == 0)
			return method_names[i].bit;
	return 0;
}

const char *
router_allow_text(unsigned methods, char *buf, size_t len)
{
	size_t i, used = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < NMETHODS; i++) {
		int n;

		if (!(methods & method_names[i].bit))
			continue;
		n = snprintf(buf + used, len - used, "%s%s",
		             used > 0 ? ", " : "", method_names[i].name);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';    /* whole names only */
			break;
		}
		used += (size_t)n;
	}
	return buf;
}

/* HEAD goes with GET; OPTIONS is always answered. */
static unsigned
allow_set(unsigned methods)
{
	if (methods & METHOD_GET)
		methods |= METHOD_HEAD;
	return methods | METHOD_OPTIONS;
}

/* --- building ----------------------------------------------------------- */

struct rseg {
	const char *s;              /* literal bytes, or the param name */
	size_t len;
	int param;
};

/* A route with its mount path cut into segments, for sorting. */
struct rkey {
	const struct route *route;
	struct rseg *segs;
	size_t nsegs, cap;
	unsigned methods;
};

static int
seg_order(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Params sort before literals, and every param is equal to every other:
 * a param child is one node whatever the name. */
static int
seg_compare(const struct rseg *x, const struct rseg *y)
{
	if (x->param || y->param)
		return y->param - x->param;
	return seg_order(x->s, x->len, y->s, y->len);
}

static int
key_compare(const void *pa, const void *pb)
{
	const struct rkey *a = pa, *b = pb;
	size_t i, n = a->nsegs < b->nsegs ? a->nsegs : b->nsegs;
	int c;

	for (i = 0; i < n; i++)
		if ((c = seg_compare(&a->segs[i], &b->segs[i])) != 0)
			return c;
	return a->nsegs < b->nsegs ? -1 : a->nsegs > b->nsegs;
}

static void
key_push(struct arena *tmp, struct rkey *k, const char *s, size_t len,
         int param)
{
	k->segs = arena_grow(tmp, k->segs, sizeof(*k->segs), k->nsegs,
	                     &k->cap, k->nsegs + 1);
	k->segs[k->nsegs].s = s;
	k->segs[k->nsegs].len = len;
	k->segs[k->nsegs].param = param;
	k->nsegs++;
}

/*
 * A literal segment of a mount path, percent-decoded once as request
 * segments are (SPEC §7.1), so "/%68ealth" and "/health" name the same
 * route. It stays one segment whatever it decodes to: a validated mount
 * path has no "%2F" in a literal (graph/mount.c), and a literal holding
 * '/' would match only a request segment that decodes to the same bytes.
 */
static void
key_literal(struct arena *a, struct arena *tmp, struct rkey *k,
            const char *raw, size_t len)
{
	char *d = arena_alloc(a, len + 1);

	key_push(tmp, k, d, http_segment_decode(d, raw, len), 0);
}

/* Cuts a validated mount path ("/" has no segment) into k. */
static void
key_segments(struct arena *a, struct arena *tmp, struct rkey *k,
             const char *path)
{
	const char *s = path + 1, *e;

	if (*path != '/' || *s == '\0')
		return;
	for (;;) {
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		if (*s == '{' && e - s >= 2 && e[-1] == '}')
			key_push(tmp, k, arena_strndup(a, s + 1,
			         (size_t)(e - s) - 2), (size_t)(e - s) - 2, 1);
		else
			key_literal(a, tmp, k, s, (size_t)(e - s));
		if (*e == '\0')
			break;
		s = e + 1;
	}
}

static unsigned
methods_of(const struct route *r)
{
	unsigned bits = 0;
	size_t i;

	for (i = 0; i < r->methods.n; i++)
		bits |= router_method_bit(r->methods.v[i]);
	return bits;
}

static void
fill_entry(struct arena *a, struct rentry *e, const struct rkey *k)
{
	size_t i, n = 0;

	e->route = k->route;
	e->methods = k->methods;
	e->scope = k->route->scope;
	for (i = 0; i < k->nsegs; i++)
		n += k->segs[i].param;
	if (n == 0)
		return;
	e->names = arena_alloc(a, n * sizeof(*e->names));
	for (i = 0, n = 0; i < k->nsegs; i++)
		if (k->segs[i].param)
			e->names[n++] = k->segs[i].s;
}

/* The routes of keys[lo, hi) that end at depth d, split exact/prefix. */
static void
build_entries(struct arena *a, struct rnode *n, const struct rkey *keys,
              size_t lo, size_t hi)
{
	size_t i, ne = 0, np = 0;

	for (i = lo; i < hi; i++) {
		if (keys[i].route->prefix)
			np++;
		else
			ne++;
	}
	if (ne > 0)
		n->exact = arena_alloc(a, ne * sizeof(*n->exact));
	if (np > 0)
		n->prefix = arena_alloc(a, np * sizeof(*n->prefix));
	for (i = lo; i < hi; i++) {
		if (keys[i].route->prefix)
			fill_entry(a, &n->prefix[n->nprefix++], &keys[i]);
		else
			fill_entry(a, &n->exact[n->nexact++], &keys[i]);
	}
}

/*
 * The node for keys[lo, hi), which all share their first d segments and
 * are sorted: those with d segments end here and come first; then the
 * ones whose segment d is a param; then one run per literal.
 */
static struct rnode *
build_node(struct arena *a, const struct rkey *keys, size_t lo, size_t hi,
           size_t d)
{
	struct rnode *n = arena_alloc(a, sizeof(*n));
	size_t i, j, runs;

	for (i = lo; i < hi; i++)
		n->scopes |= keys[i].route->scope;
	for (i = lo; i < hi && keys[i].nsegs == d; i++)
		;
	build_entries(a, n, keys, lo, i);
	for (j = i; j < hi && keys[j].segs[d].param; j++)
		;
	if (j > i)
		n->param = build_node(a, keys, i, j, d + 1);
	for (i = j, runs = 0; i < hi; i++)
		runs += i == j || seg_compare(&keys[i].segs[d],
		                              &keys[i - 1].segs[d]) != 0;
	if (runs == 0)
		return n;
	n->kids = arena_alloc(a, runs * sizeof(*n->kids));
	for (i = j; i < hi; i = j) {
		struct rchild *c = &n->kids[n->nkids++];

		for (j = i + 1; j < hi && seg_compare(&keys[j].segs[d],
		     &keys[i].segs[d]) == 0; j++)
			;
		c->seg = keys[i].segs[d].s;
		c->len = keys[i].segs[d].len;
		c->node = build_node(a, keys, i, j, d + 1);
	}
	return n;
}

struct router *
router_build(struct arena *a, const struct config *cfg)
{
	struct router *r = arena_alloc(a, sizeof(*r));
	struct arena *tmp = arena_new();
	struct rkey *keys;
	size_t i, j, n = 0;

	if (tmp == NULL)
		return NULL;
	for (i = 0; i < cfg->nmembers; i++)
		n += cfg->members[i]->routes.n;
	keys = arena_alloc(tmp, (n + 1) * sizeof(*keys));
	for (i = 0, n = 0; i < cfg->nmembers; i++) {
		const struct module *m = cfg->members[i];

		for (j = 0; j < m->routes.n; j++) {
			const struct route *rt = m->routes.v[j];

			/* A planned configuration has none of these; such
			 * a route could never be served anyway. */
			if (rt->mount_path == NULL || rt->scope == 0 ||
			    rt->methods.n == 0)
				continue;
			keys[n].route = rt;
			keys[n].methods = methods_of(rt);
			key_segments(a, tmp, &keys[n], rt->mount_path);
			n++;
		}
	}
	qsort(keys, n, sizeof(*keys), key_compare);
	r->root = build_node(a, keys, 0, n, 0);
	r->count = n;
	arena_free(tmp);
	return r;
}

size_t
router_count(const struct router *r)
{
	return r != NULL ? r->count : 0;
}

/* --- matching ----------------------------------------------------------- */

/*
 * The path is raw (http_path_raw): split on '/', and a segment is decoded
 * only to be compared, and only when it holds a '%' (most do not, and are
 * compared where they lie). Decoded bytes go into the caller's buffer at
 * the offset of the raw segment: decoding never lengthens, so a segment
 * and its NUL fit in the room of the raw segment and the '/' after it,
 * and every segment has its own place there, whichever branches the walk
 * tries. fill_match() puts param values in those places too.
 */
struct walk {
	const char *path;
	char *buf;
	unsigned scopes;
	unsigned want;              /* the method's bit; 0: unknown */
	unsigned allowed;           /* of every candidate seen */
	const struct rentry *hit;
	size_t rest;                /* offset of the rest in path */
	size_t np;
	size_t at[ROUTER_MAX_PARAMS];   /* offset of a param's raw segment */
	size_t len[ROUTER_MAX_PARAMS];  /* and its raw length */
};

static const struct rnode *
find_kid(const struct rnode *n, const char *s, size_t len)
{
	size_t lo = 0, hi = n->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = seg_order(n->kids[mid].seg, n->kids[mid].len, s, len);

		if (c == 0)
			return n->kids[mid].node;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Offers one candidate, a node's exact or prefix routes. Only routes of
 * the listener's scopes count. An explicit HEAD route answers HEAD before
 * a GET route does. Returns 1 when a route serves the method.
 */
static int
offer(struct walk *w, const struct rentry *e, size_t n, size_t rest)
{
	const struct rentry *hit = NULL, *get = NULL;
	unsigned methods = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(e[i].scope & w->scopes))
			continue;
		methods |= e[i].methods;
		if (hit == NULL && (e[i].methods & w->want))
			hit = &e[i];
		if (get == NULL && (e[i].methods & METHOD_GET))
			get = &e[i];
	}
	if (hit == NULL && w->want == METHOD_HEAD)
		hit = get;
	if (hit == NULL) {
		w->allowed |= methods;
		return 0;
	}
	w->hit = hit;
	w->allowed = methods;
	w->rest = rest;
	return 1;
}

/* Matches the path from offset p (at a '/' or the end) below node n. */
static int
walk(struct walk *w, const struct rnode *n, size_t p)
{
	const char *path = w->path, *seg = path + p + 1;
	const struct rnode *kid;
	size_t q, len;

	if (!(n->scopes & w->scopes))
		return 0;
	if (path[p] == '\0')
		return offer(w, n->exact, n->nexact, p) ||
		       offer(w, n->prefix, n->nprefix, p);
	q = p + 1 + strcspn(seg, "/%");
	len = q - p - 1;
	if (path[q] == '%') {
		q += strcspn(path + q, "/");
		len = http_segment_decode(w->buf + p + 1, seg, q - p - 1);
		seg = w->buf + p + 1;
	}
	kid = find_kid(n, seg, len);
	if (kid != NULL && walk(w, kid, q))
		return 1;
	/* A param stands for a whole, non-empty segment. */
	if (n->param != NULL && q > p + 1 && w->np < ROUTER_MAX_PARAMS) {
		w->at[w->np] = p + 1;
		w->len[w->np++] = q - p - 1;
		if (walk(w, n->param, q))
			return 1;
		w->np--;
	}
	return offer(w, n->prefix, n->nprefix, p);
}

/*
 * Param values are decoded into buf, each one byte left of its segment,
 * over the '/' that precedes it, so that its NUL lands at most on its own
 * last byte: nothing after a param segment is touched, and the rest,
 * which follows every param, is copied raw into its place whole.
 */
static void
fill_match(const struct walk *w, const char *path, char *buf,
           struct route_match *m)
{
	size_t i;

	m->route = w->hit->route;
	m->allowed = allow_set(w->allowed);
	m->nparams = w->np;
	for (i = 0; i < w->np; i++) {
		char *v = buf + w->at[i] - 1;

		http_segment_decode(v, path + w->at[i], w->len[i]);
		m->params[i].name = w->hit->names[i];
		m->params[i].value = v;
	}
	memcpy(buf + w->rest, path + w->rest, strlen(path + w->rest) + 1);
	m->rest = buf + w->rest;
}

int
router_match(const struct router *r, unsigned scopes, const char *method,
             const char *path, char *buf, struct route_match *m)
{
	struct walk w;

	m->route = NULL;
	m->allowed = 0;
	m->nparams = 0;
	m->rest = NULL;
	if (r == NULL || path == NULL || path[0] != '/')
		return 404;
	w.path = path;
	w.buf = buf;
	w.scopes = scopes;
	w.want = router_method_bit(method);
	w.allowed = 0;
	w.hit = NULL;
	w.rest = 0;
	w.np = 0;
	/* "/" is the path of no segment, the root itself. */
	if (walk(&w, r->root, path[1] == '\0' ? 1 : 0)) {
		fill_match(&w, path, buf, m);
		return 200;
	}
	if (w.allowed == 0)
		return 404;
	m->allowed = allow_set(w.allowed);
	return 405;
}
