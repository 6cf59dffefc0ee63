/*
 * listeners.c - the product's listeners.
 *
 * Without `server.listen` a product gets one listener on 127.0.0.1:8080
 * serving public, user and admin, as nginx listens on port 80 without a
 * listen directive: a minimal product runs, and only on loopback.
 */
#include "graph/graph.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "graph/listen.h"
#include "util/arena.h"
#include "util/strmap.h"

#define DEFAULT_LISTEN_ADDRESS "127.0.0.1:8080"

unsigned
graph_scope_bit(const char *name)
{
	static const char *const names[] = {
		"public", "user", "admin", "internal"};
	unsigned i;

	for (i = 0; i < 4; i++)
		if (strcmp(names[i], name) == 0)
			return 1u << i;
	return 0;
}

static void
add_default_listener(struct graph *g, struct product *p)
{
	struct listener *l = arena_alloc(g->arena, sizeof(*l));

	if (p->server == NULL)
		p->server = arena_alloc(g->arena, sizeof(*p->server));
	l->address = DEFAULT_LISTEN_ADDRESS;
	listen_parse(g->arena, l);
	l->scopes = SCOPE_DEFAULT_LISTENER;
	p->server->listen.v = arena_alloc(g->arena, sizeof(void *));
	p->server->listen.v[0] = l;
	p->server->listen.n = 1;
}

/* Start-up reads the certificate and key: so does the check, so that a
 * configuration it passes cannot fail there for a missing file. */
static void
check_tls_file(struct graph *g, const struct tls_config *tls,
               const char *key, const char *path)
{
	if (path == NULL || access(path, R_OK) == 0)
		return;
	diag_error(g->dl, &node_get(tls->node, key)->mark, "invalid-value",
	           "cannot read TLS %s '%s': %s",
	           strcmp(key, "cert") == 0 ? "certificate" : "key", path,
	           strerror(errno));
}

static void
check_listener(struct graph *g, struct listener *l, struct strmap *seen)
{
	const char *why;
	struct listener *first;
	size_t i;

	l->scopes = 0;
	for (i = 0; i < l->scope_names.n; i++)
		l->scopes |= graph_scope_bit(l->scope_names.v[i]);
	if (l->scope_names.n == 0)
		l->scopes = SCOPE_DEFAULT_LISTENER;
	if (l->tls != NULL) {
		check_tls_file(g, l->tls, "cert", l->tls->cert);
		check_tls_file(g, l->tls, "key", l->tls->key);
	}
	if (l->address == NULL)
		return;
	why = listen_parse(g->arena, l);
	if (why != NULL) {
		diag_error(g->dl, &node_get(l->node, "address")->mark,
		           "invalid-listener", "listener address '%s' is not "
		           "valid: %s", l->address, why);
		l->normal = NULL;
		return;
	}
	/* Port 0 asks the kernel for a fresh port each time: never equal. */
	if (l->kind == LISTEN_TCP && l->port == 0)
		return;
	first = strmap_put(seen, l->normal, l);
	if (first != NULL) {
		struct diag *d = diag_error(g->dl, &l->node->mark,
		    "duplicate-listener", "listener '%s' is declared twice",
		    l->address);

		diag_note(g->dl, d, &first->node->mark, "'%s' is first "
		          "declared here", first->address);
	}
}

static int
is_wildcard(const struct listener *l)
{
	return strncmp(l->normal, "0.0.0.0:", 8) == 0 ||
	       strncmp(l->normal, "[::]:", 5) == 0;
}

/*
 * 0.0.0.0:8080 and 127.0.0.1:8080 are different texts but cannot both
 * bind: a wildcard takes its port on every address of its family. (IPv6
 * listeners are bound v6-only, so [::] leaves IPv4 alone.)
 */
static void
check_wildcard_overlaps(struct graph *g, const struct objlist *listen)
{
	size_t i, j;

	for (j = 0; j < listen->n; j++) {
		const struct listener *b = listen->v[j];

		if (b->normal == NULL || b->kind != LISTEN_TCP || b->port == 0)
			continue;
		for (i = 0; i < j; i++) {
			const struct listener *a = listen->v[i];
			struct diag *d;

			if (a->normal == NULL || a->kind != LISTEN_TCP ||
			    a->port != b->port ||
			    (a->normal[0] == '[') != (b->normal[0] == '[') ||
			    strcmp(a->normal, b->normal) == 0 ||
			    !(is_wildcard(a) || is_wildcard(b)))
				continue;
			d = diag_error(g->dl, &b->node->mark,
			    "duplicate-listener", "listener '%s' overlaps "
			    "'%s': both bind port %d", b->address,
			    a->address, b->port);
			diag_note(g->dl, d, &a->node->mark, "'%s' is "
			          "declared here", a->address);
			break;
		}
	}
}

void
graph_listeners(struct graph *g)
{
	struct product *p = g->cfg->product;
	struct strmap *seen;
	size_t i;

	if (p == NULL)
		return;
	if (p->server == NULL || p->server->listen.n == 0) {
		/* An explicitly empty list was reported by the decoder. */
		if (p->server == NULL || node_get(p->server->node,
		                                  "listen") == NULL)
			add_default_listener(g, p);
		return;
	}
	seen = strmap_new(g->arena);
	for (i = 0; i < p->server->listen.n; i++)
		check_listener(g, p->server->listen.v[i], seen);
	check_wildcard_overlaps(g, &p->server->listen);
}
