/*
 * routes.c - every rule about routes (SPEC §3.2, §5).
 *
 * Local rules (mount path, scope prefix, handler target) hold for every
 * module defined; product rules (unique ids, conflicts, the auth
 * capability, reachability) for the product's members only, since only
 * they serve. Conflicts are found through a hash of method, match and path
 * shape, so 50,000 routes cost 50,000 lookups.
 */
#include "graph/graph.h"

#include <string.h>

#include "aster/provider.h"
#include "graph/mount.h"
#include "util/arena.h"
#include "util/strmap.h"
#include "util/suggest.h"

static void
check_mount(struct graph *g, struct route *r)
{
	const node_t *at = node_get(r->node, "mountPath");
	const char *why = mount_check(g->arena, r->mount_path, &r->shape);
	int admin, internal;

	if (why != NULL) {
		diag_error(g->dl, &at->mark, "invalid-mount-path",
		           "mountPath '%s' of route '%s' is not valid: %s",
		           r->mount_path, r->id ? r->id : "?", why);
		r->shape = NULL;
		return;
	}
	if (r->scope == 0)
		return;
	admin = mount_under(r->mount_path, MOUNT_ADMIN_PREFIX);
	internal = mount_under(r->mount_path, MOUNT_INTERNAL_PREFIX);
	if (r->scope == SCOPE_INTERNAL && !internal)
		diag_error(g->dl, &at->mark, "scope-path-mismatch",
		           "route '%s' has scope internal, so its mountPath "
		           "must lie under %s/", r->id, MOUNT_INTERNAL_PREFIX);
	else if (r->scope == SCOPE_ADMIN && !admin)
		diag_error(g->dl, &at->mark, "scope-path-mismatch",
		           "route '%s' has scope admin, so its mountPath must "
		           "lie under %s/", r->id, MOUNT_ADMIN_PREFIX);
	else if (r->scope != SCOPE_INTERNAL && r->scope != SCOPE_ADMIN &&
	         (admin || internal))
		diag_error(g->dl, &at->mark, "scope-path-mismatch",
		           "route '%s' has scope %s, but %s/ holds only %s "
		           "routes", r->id, r->scope_name,
		           admin ? MOUNT_ADMIN_PREFIX : MOUNT_INTERNAL_PREFIX,
		           admin ? "admin" : "internal");
}

/* Is `id` the module itself or one it directly requires? */
static struct module *
reachable_module(struct graph *g, struct module *m, const char *id)
{
	size_t i;

	if (strcmp(m->id, id) == 0)
		return m;
	for (i = 0; i < m->requires.n; i++)
		if (strcmp(m->requires.v[i].id, id) == 0)
			return config_find_module(g->cfg, id);
	return NULL;
}

static struct service *
find_service(const struct module *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->services.n; i++) {
		struct service *s = m->services.v[i];

		if (s->id != NULL && strcmp(s->id, id) == 0)
			return s;
	}
	return NULL;
}

void
names_add(struct arena *a, struct names *l, const char *name)
{
	l->v = arena_grow(a, l->v, sizeof(*l->v), l->n, &l->cap, l->n + 1);
	l->v[l->n++] = name;
}

/* Every service name m's handlers may use: its own services bare, those
 * of the modules it requires directly as module.service. */
static struct names
service_names(struct graph *g, const struct module *m)
{
	struct names l = {0};
	size_t i, j;

	for (i = 0; i < m->services.n; i++) {
		const struct service *s = m->services.v[i];

		if (s->id != NULL)
			names_add(g->arena, &l, s->id);
	}
	for (i = 0; i < m->requires.n; i++) {
		const struct module *r = config_find_module(g->cfg,
		                                            m->requires.v[i].id);

		for (j = 0; r != NULL && j < r->services.n; j++) {
			const struct service *s = r->services.v[j];

			if (s->id != NULL)
				names_add(g->arena, &l, arena_printf(g->arena,
				          "%s.%s", r->id, s->id));
		}
	}
	return l;
}

static void
report_unknown_service(struct graph *g, const node_t *at, struct module *m,
                       const struct module *owner, const char *sid)
{
	struct names l = service_names(g, m);
	struct diag *d;

	if (owner == NULL)
		d = diag_error(g->dl, &at->mark, "unknown-service",
		               "handler names service '%s', but module '%s' "
		               "does not require module '%.*s'", at->value,
		               m->id, (int)(strrchr(at->value, '.') -
		               at->value), at->value);
	else
		d = diag_error(g->dl, &at->mark, "unknown-service",
		               "handler names service '%s', but module '%s' "
		               "defines no service '%s'", at->value, owner->id,
		               sid);
	diag_suggest(g->dl, d, at->value, l.v, l.n);
}

static void
check_operation(struct graph *g, struct route *r, struct service *s)
{
	const struct aster_operation *op;
	struct names l = {0};
	struct diag *d;

	if (s->impl == NULL)
		return;         /* unknown-provider was reported */
	for (op = s->impl->operations; op != NULL && op->name != NULL; op++) {
		if (strcmp(op->name, r->handler->operation) == 0)
			return;
		names_add(g->arena, &l, op->name);
	}
	d = diag_error(g->dl, &node_get(r->handler->node, "operation")->mark,
	               "unknown-operation", "provider '%s' (service '%s') "
	               "has no operation '%s'", s->impl->name, s->id,
	               r->handler->operation);
	diag_suggest(g->dl, d, r->handler->operation, l.v, l.n);
}

/* handler: {service, operation} names a service of the module or of a
 * module it requires directly (module.service, split at the last dot). */
static void
check_operation_handler(struct graph *g, struct module *m, struct route *r)
{
	struct handler *h = r->handler;
	const node_t *at = node_get(h->node, "service");
	const char *dot = strrchr(h->service, '.');
	struct module *owner = m;
	const char *sid = h->service;
	struct service *s;

	if (dot != NULL) {
		const char *mid = arena_strndup(g->arena, h->service,
		                                (size_t)(dot - h->service));

		sid = dot + 1;
		owner = reachable_module(g, m, mid);
	}
	s = owner != NULL ? find_service(owner, sid) : NULL;
	if (s == NULL) {
		report_unknown_service(g, at, m, owner, sid);
		return;
	}
	h->target = s;
	check_operation(g, r, s);
}

static void
check_handler(struct graph *g, struct module *m, struct route *r)
{
	struct handler *h = r->handler;

	switch (h->kind) {
	case HANDLER_OPERATION:
		if (h->service != NULL && h->operation != NULL)
			check_operation_handler(g, m, r);
		break;
	case HANDLER_RUNTIME:
		if (m->runtime == NULL && node_get(m->node, "runtime") == NULL)
			diag_error(g->dl, &node_key(h->node, "runtime")->mark,
			           "invalid-value", "route '%s' forwards to "
			           "the runtime, but module '%s' declares no "
			           "runtime", r->id, m->id);
		break;
	case HANDLER_PROXY:
		graph_proxy(g, m, r);
		break;
	case HANDLER_RESPOND:
	case HANDLER_STATIC:
		break;
	}
}

/* Checks that need only the module itself. */
static void
check_local(struct graph *g, struct module *m)
{
	size_t i;

	for (i = 0; i < m->routes.n; i++) {
		struct route *r = m->routes.v[i];

		r->module = m;
		r->scope = r->scope_name ? graph_scope_bit(r->scope_name) : 0;
		r->prefix = r->match != NULL && strcmp(r->match, "prefix") == 0;
		if (r->mount_path != NULL)
			check_mount(g, r);
		if (r->handler != NULL && r->handler->node != NULL &&
		    r->handler->node->kind == NODE_MAP)
			check_handler(g, m, r);
	}
}

static void
check_unique_id(struct graph *g, struct strmap *ids, struct route *r)
{
	struct route *first = strmap_put(ids, r->id, r);
	struct diag *d;

	if (first == NULL)
		return;
	d = diag_error(g->dl, node_mark_of(r->node, "id"),
	               "duplicate-route", "route id '%s' is used twice",
	               r->id);
	diag_note(g->dl, d, node_mark_of(first->node, "id"),
	          "'%s' is first used here", r->id);
}

/* One diagnostic per earlier route this one collides with, naming every
 * shared method. */
static void
check_conflicts(struct graph *g, struct strmap *shapes, struct route *r)
{
	struct route *earlier[16];
	const char *methods[16];
	size_t n = 0, i, j;

	for (i = 0; i < r->methods.n; i++) {
		const char *key = arena_printf(g->arena, "%s %s %s",
		    r->methods.v[i], r->prefix ? "prefix" : "exact", r->shape);
		struct route *other = strmap_put(shapes, key, r);

		if (other == NULL)
			continue;
		for (j = 0; j < n && earlier[j] != other; j++)
			;
		if (j == n) {
			if (n == 16)
				continue;
			earlier[n] = other;
			methods[n++] = r->methods.v[i];
		} else {
			methods[j] = arena_printf(g->arena, "%s, %s",
			                          methods[j], r->methods.v[i]);
		}
	}
	for (j = 0; j < n; j++) {
		struct diag *d = diag_error(g->dl, &r->node->mark,
		    "route-conflict", "route '%s' (%s %s) conflicts with "
		    "route '%s' (%s %s): same method and path shape",
		    r->id, methods[j], r->mount_path, earlier[j]->id,
		    methods[j], earlier[j]->mount_path);

		diag_note(g->dl, d, &earlier[j]->node->mark,
		          "'%s' is defined here", earlier[j]->id);
	}
}

static void
check_auth_rule(struct graph *g, struct route *r)
{
	const struct provision *p;
	const char *what;

	if (!(r->scope & (SCOPE_USER | SCOPE_ADMIN)))
		return;
	p = strmap_get(g->capabilities, "auth");
	if (p == NULL) {
		diag_error(g->dl, &r->node->mark,
		           "missing-capability", "route '%s' has scope %s, "
		           "which needs a module providing capability 'auth'",
		           r->id, r->scope_name);
		return;
	}
	if (p->n > 1) {
		what = arena_printf(g->arena, "route '%s' has scope %s and "
		                    "needs", r->id, r->scope_name);
		graph_report_ambiguous(g, p, "auth", r->node, what);
	}
}

static unsigned
served_scopes(const struct config *cfg)
{
	const struct server *s = cfg->product ? cfg->product->server : NULL;
	unsigned scopes = 0;
	size_t i;

	for (i = 0; s != NULL && i < s->listen.n; i++)
		scopes |= ((struct listener *)s->listen.v[i])->scopes;
	return scopes;
}

static void
check_product_route(struct graph *g, struct strmap *ids,
                    struct strmap *shapes, unsigned served, struct route *r)
{
	g->cfg->nroutes++;
	if (r->id != NULL)
		check_unique_id(g, ids, r);
	if (r->shape != NULL && r->methods.n > 0)
		check_conflicts(g, shapes, r);
	if (r->scope == 0)
		return;
	check_auth_rule(g, r);
	if (g->cfg->product != NULL && !(served & r->scope))
		diag_warning(g->dl, &r->node->mark,
		             "unreachable-route", "route '%s' has scope %s, "
		             "but no listener serves that scope", r->id,
		             r->scope_name);
}

void
graph_routes(struct graph *g)
{
	struct config *cfg = g->cfg;
	struct strmap *ids = strmap_new(g->arena);
	struct strmap *shapes = strmap_new(g->arena);
	unsigned served = served_scopes(cfg);
	size_t i, j;

	for (i = 0; i < cfg->nmodules; i++) {
		struct module *m = cfg->modules[i];

		if (!m->unique)
			continue;
		check_local(g, m);
		if (!m->in_product)
			continue;
		for (j = 0; j < m->routes.n; j++)
			check_product_route(g, ids, shapes, served,
			                    m->routes.v[j]);
	}
}
