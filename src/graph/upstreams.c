/*
 * upstreams.c - modules' `upstreams` and the proxy handlers that name them
 * (SPEC §3.2, §5, §7.7).
 *
 * Everything here is check-time only: URLs are parsed, never resolved or
 * connected to. Validation fills every default into the structs, so the
 * proxy reads plain values and never asks whether a key was written. An
 * inline URL on a proxy handler becomes a one-target upstream of its own,
 * so forwarding knows a single kind of upstream.
 */
#include "graph/graph.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "graph/target.h"
#include "util/arena.h"

#define DEFAULT_KEEPALIVE 32
#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_HEALTH_INTERVAL_MS 2000
#define DEFAULT_HEALTH_TIMEOUT_MS 1000
#define DEFAULT_HEALTHY 2
#define DEFAULT_UNHEALTHY 3
#define DEFAULT_EJECT_FAILURES 5
#define DEFAULT_EJECT_BASE_MS 30000
#define DEFAULT_PROXY_TIMEOUT_MS 30000
#define DEFAULT_PROXY_RETRIES 1

static const char *const scheme_names[] = {"http", "https", "unix"};

/* --- upstream entries ------------------------------------------------- */

static int
check_target(struct graph *g, struct upstream_target *t, const char *owner)
{
	const char *why = target_parse(g->arena, t);

	if (why == NULL)
		return 0;
	diag_error(g->dl, &t->node->mark, "invalid-value",
	           "%s target '%s' is not http://host[:port][/base], "
	           "https://... or unix:PATH: %s", owner, t->url, why);
	return -1;
}

static void
fill_defaults(struct upstream_conf *u)
{
	if (u->balance == NULL)
		u->balance = "round-robin";
	u->least_request = strcmp(u->balance, "least-request") == 0;
	if (node_get(u->node, "keepalive") == NULL)
		u->keepalive = DEFAULT_KEEPALIVE;
	if (u->connect_timeout_ms == 0)
		u->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (u->health != NULL) {
		struct upstream_health *h = u->health;

		h->interval_ms = h->interval_ms ? h->interval_ms :
		                 DEFAULT_HEALTH_INTERVAL_MS;
		h->timeout_ms = h->timeout_ms ? h->timeout_ms :
		                DEFAULT_HEALTH_TIMEOUT_MS;
		h->healthy = h->healthy ? h->healthy : DEFAULT_HEALTHY;
		h->unhealthy = h->unhealthy ? h->unhealthy : DEFAULT_UNHEALTHY;
	}
	if (u->eject != NULL) {
		u->eject->consecutive_failures =
		    u->eject->consecutive_failures ?
		    u->eject->consecutive_failures : DEFAULT_EJECT_FAILURES;
		u->eject->base_ms = u->eject->base_ms ? u->eject->base_ms :
		                    DEFAULT_EJECT_BASE_MS;
	}
	if (u->tls != NULL && !u->tls->has_verify)
		u->tls->verify = 1;
}

/* An https upstream without `tls` gets the defaults: system CAs, the
 * target's host as the name, verification on. */
static void
default_tls(struct graph *g, struct upstream_conf *u, const node_t *at)
{
	u->tls = arena_alloc(g->arena, sizeof(*u->tls));
	u->tls->node = at;
	u->tls->verify = 1;
}

/* Every target shares the scheme of the first one that parsed. Returns
 * -1 (reported) when one differs. */
static int
check_schemes(struct graph *g, struct upstream_conf *u, const int *parsed)
{
	const struct upstream_target *first = NULL;
	size_t i;

	for (i = 0; i < u->targets.n; i++) {
		const struct upstream_target *t = u->targets.v[i];

		if (!parsed[i])
			continue;
		if (first == NULL) {
			first = t;
			u->scheme = t->scheme;
			continue;
		}
		if (t->scheme != first->scheme) {
			struct diag *d = diag_error(g->dl, &t->node->mark,
			    "invalid-value", "upstream '%s' mixes schemes: "
			    "target '%s' is %s, the first one is %s: all "
			    "targets of an upstream share one scheme",
			    u->name, t->url, scheme_names[t->scheme],
			    scheme_names[first->scheme]);

			diag_note(g->dl, d, &first->node->mark, "'%s' is the "
			          "first target", first->url);
			return -1;
		}
	}
	return first != NULL ? 0 : -1;
}

static int
check_health(struct graph *g, const struct upstream_conf *u)
{
	const char *p = u->health->path;

	if (p == NULL)
		return -1;      /* missing-key was reported */
	if (p[0] == '/' && !target_has_bad_char(p) && strchr(p, '#') == NULL)
		return 0;
	diag_error(g->dl, node_mark_of(u->health->node, "path"),
	           "invalid-value", "upstream '%s' health 'path' must start "
	           "with '/' and hold no spaces or '#', got '%s'", u->name, p);
	return -1;
}

/* `tls` applies to https targets; its CA file is read at start-up, so the
 * check reads it too (as listener certificates are checked). */
static int
check_tls(struct graph *g, struct upstream_conf *u)
{
	const struct upstream_tls *tls = u->tls;
	const char *sn = tls->server_name;

	if (u->scheme != TARGET_HTTPS) {
		diag_error(g->dl, &node_key(u->node, "tls")->mark,
		           "invalid-value", "upstream '%s' has 'tls', but its "
		           "targets are %s: tls applies to https targets only",
		           u->name, scheme_names[u->scheme]);
		return -1;
	}
	if (sn != NULL && !target_is_host_name(sn, 0)) {
		diag_error(g->dl, node_mark_of(tls->node, "server_name"),
		           "invalid-value", "upstream '%s' tls 'server_name' "
		           "'%s' is not a host name", u->name, sn);
		return -1;
	}
	if (tls->ca != NULL && access(tls->ca, R_OK) < 0) {
		diag_error(g->dl, node_mark_of(tls->node, "ca"),
		           "invalid-value", "cannot read upstream '%s' CA file "
		           "'%s': %s", u->name, tls->ca, strerror(errno));
		return -1;
	}
	return 0;
}

/* The node of the name an entry of m's `upstreams` was written under. */
static const node_t *
name_node(const struct module *m, size_t i)
{
	return m->upstreams_node->pairs[i].key;
}

static void
check_upstream(struct graph *g, struct module *m, size_t i)
{
	struct upstream_conf *u = m->upstreams.v[i];
	int *parsed, bad = 0, any = 0;
	size_t j;

	u->module = m;
	u->key = arena_printf(g->arena, "%s.%s", m->id, u->name);
	if (!is_service_id(u->name)) {
		diag_error(g->dl, &name_node(m, i)->mark, "invalid-id",
		           "upstream name '%s' is not valid (lower-case "
		           "letters, digits and '-', starting with a letter, "
		           "no dots)", u->name);
		bad = 1;
	}
	if (u->node->kind != NODE_MAP || u->targets.n == 0)
		return;         /* reported by the decoder */
	parsed = arena_alloc(g->arena, u->targets.n * sizeof(*parsed));
	for (j = 0; j < u->targets.n; j++) {
		parsed[j] = check_target(g, u->targets.v[j],
		    arena_printf(g->arena, "upstream '%s'", u->name)) == 0;
		bad |= !parsed[j];
		any |= parsed[j];
	}
	bad |= check_schemes(g, u, parsed) < 0;
	fill_defaults(u);
	if (u->health != NULL)
		bad |= check_health(g, u) < 0;
	/* With no target understood, the scheme tls depends on is unknown. */
	if (u->tls != NULL && any)
		bad |= check_tls(g, u) < 0;
	if (u->tls == NULL && u->scheme == TARGET_HTTPS)
		default_tls(g, u, u->node);
	u->ok = !bad;
}

void
graph_upstreams(struct graph *g)
{
	size_t i, j;

	for (i = 0; i < g->cfg->nmodules; i++) {
		struct module *m = g->cfg->modules[i];

		if (!m->unique || m->upstreams_node == NULL ||
		    m->upstreams_node->kind != NODE_MAP)
			continue;
		for (j = 0; j < m->upstreams.n; j++)
			check_upstream(g, m, j);
	}
}

/* --- proxy handlers --------------------------------------------------- */

static int
is_inline_url(const char *s)
{
	return strstr(s, "://") != NULL || strncmp(s, "unix:", 5) == 0;
}

/*
 * A proxy's `upstream: URL` is a one-target upstream of the route's
 * module. Its key is the URL (a unix: path resolved), so two routes
 * naming one URL share the pool and the health of one upstream.
 */
static struct upstream_conf *
inline_upstream(struct graph *g, struct module *m, struct proxy_handler *p,
                const node_t *at)
{
	struct upstream_conf *u = arena_alloc(g->arena, sizeof(*u));
	struct upstream_target *t = arena_alloc(g->arena, sizeof(*t));

	t->node = at;
	t->url = p->upstream;
	u->node = at;
	u->module = m;
	u->inline_url = 1;
	u->targets.v = arena_alloc(g->arena, sizeof(void *));
	u->targets.v[0] = t;
	u->targets.n = 1;
	if (check_target(g, t, "proxy") < 0) {
		u->name = p->upstream;
		u->key = arena_printf(g->arena, "url:%s", p->upstream);
		return u;
	}
	if (t->scheme == TARGET_UNIX)
		p->upstream = arena_printf(g->arena, "unix:%s", t->path);
	u->name = p->upstream;
	u->key = arena_printf(g->arena, "url:%s", p->upstream);
	u->scheme = t->scheme;
	fill_defaults(u);
	if (u->scheme == TARGET_HTTPS)
		default_tls(g, u, at);
	u->ok = 1;
	return u;
}

static struct upstream_conf *
find_upstream(const struct module *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->upstreams.n; i++) {
		struct upstream_conf *u = m->upstreams.v[i];

		if (strcmp(u->name, name) == 0)
			return u;
	}
	return NULL;
}

/* Every name m's proxies may use: its own upstreams bare, those of the
 * modules it requires directly as module.name. */
static struct names
upstream_names(struct graph *g, const struct module *m)
{
	struct names l = {0};
	size_t i, j;

	for (i = 0; i < m->upstreams.n; i++)
		names_add(g->arena, &l,
		          ((struct upstream_conf *)m->upstreams.v[i])->name);
	for (i = 0; i < m->requires.n; i++) {
		const struct module *r = config_find_module(g->cfg,
		                                            m->requires.v[i].id);

		for (j = 0; r != NULL && j < r->upstreams.n; j++)
			names_add(g->arena, &l, arena_printf(g->arena, "%s.%s",
			          r->id, ((struct upstream_conf *)
			                  r->upstreams.v[j])->name));
	}
	return l;
}

/* The module a qualified name points into: m itself or one it requires
 * directly; NULL otherwise. */
static struct module *
reachable(struct graph *g, struct module *m, const char *id)
{
	size_t i;

	if (m->id != NULL && strcmp(m->id, id) == 0)
		return m;
	for (i = 0; i < m->requires.n; i++)
		if (strcmp(m->requires.v[i].id, id) == 0)
			return config_find_module(g->cfg, id);
	return NULL;
}

static struct upstream_conf *
named_upstream(struct graph *g, struct module *m, const char *name,
               const node_t *at)
{
	const char *dot = strrchr(name, '.'), *mid = NULL;
	const struct module *owner = m;
	struct upstream_conf *u = NULL;
	struct names l;
	struct diag *d;

	if (dot != NULL) {
		mid = arena_strndup(g->arena, name, (size_t)(dot - name));
		owner = reachable(g, m, mid);
		name = dot + 1;
	}
	if (owner != NULL)
		u = find_upstream(owner, name);
	if (u != NULL)
		return u;
	if (owner == NULL)
		d = diag_error(g->dl, &at->mark, "unknown-upstream",
		               "proxy names upstream '%s', but module '%s' "
		               "does not require module '%s'", at->value,
		               m->id, mid);
	else
		d = diag_error(g->dl, &at->mark, "unknown-upstream",
		               "proxy names upstream '%s', but module '%s' "
		               "defines no upstream '%s'", at->value,
		               owner->id, name);
	l = upstream_names(g, m);
	diag_suggest(g->dl, d, at->value, l.v, l.n);
	return NULL;
}

static void
proxy_defaults(struct graph *g, struct proxy_handler *p)
{
	if (!p->has_timeout)
		p->timeout_ms = DEFAULT_PROXY_TIMEOUT_MS;
	if (!p->has_retries)
		p->retries = DEFAULT_PROXY_RETRIES;
	if (!p->has_try_timeout) {
		p->try_timeout_ms = p->timeout_ms;
		return;
	}
	if (p->try_timeout_ms > p->timeout_ms)
		diag_error(g->dl, node_mark_of(p->node, "try_timeout_ms"),
		           "invalid-value", "proxy 'try_timeout_ms' (%lld) is "
		           "longer than 'timeout_ms' (%lld%s), which bounds "
		           "every attempt", p->try_timeout_ms, p->timeout_ms,
		           p->has_timeout ? "" : ", the default");
}

void
graph_proxy(struct graph *g, struct module *m, struct route *r)
{
	struct proxy_handler *p = r->handler->proxy;
	const node_t *at;

	proxy_defaults(g, p);
	if (p->upstream == NULL)
		return;         /* missing-key was reported */
	at = node_get(p->node, "upstream");
	if (is_inline_url(p->upstream))
		p->resolved = inline_upstream(g, m, p, at);
	else
		p->resolved = named_upstream(g, m, p->upstream, at);
}
