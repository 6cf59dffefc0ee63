/*
 * credential.c - the product's auth service and the credentials it
 * answers with, as the runtime keeps them.
 *
 * The auth service is a started service of the module that provides
 * `auth`, found in a generation like the state store is. A credential is
 * copied out of the service's answer into one allocation, for the
 * handlers (whoami) and the rate limiter. The control socket uses this
 * file too, without the request path.
 */
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>

#include <aster/auth.h>
#include <aster/provider.h>

struct module_run *
runtime_auth_run(struct generation *g)
{
	return g->auth_run != NULL ? module_run_live(g->auth_run) : NULL;
}

int
runtime_auth_of(struct generation *g, struct auth_handle *out)
{
	struct module_run *run = runtime_auth_run(g);
	size_t i;

	if (run == NULL || run->state != MODULE_RUNNING)
		return -1;
	for (i = 0; i < run->nservices; i++) {
		const struct aster_provider *p = run->services[i].service->impl;

		if (run->services[i].started && p != NULL && p->auth != NULL) {
			out->ops = p->auth;
			out->self = run->services[i].state;
			return 0;
		}
	}
	return -1;
}

/* --- the credential, copied --------------------------------------------- */

static size_t
text_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static char *
put_text(char **at, const char *s)
{
	char *r = *at;
	size_t n = text_size(s);

	if (s == NULL)
		return NULL;
	memcpy(r, s, n);
	*at += n;
	return r;
}

struct request_credential *
runtime_credential_copy(const struct aster_credential *c)
{
	size_t size = sizeof(struct request_credential) +
	              c->nspaces * sizeof(char *);
	struct request_credential *r;
	char *at;
	size_t i;

	size += text_size(c->kind) + text_size(c->id) + text_size(c->name) +
	        text_size(c->role);
	for (i = 0; i < c->nspaces; i++)
		size += text_size(c->spaces[i]);
	if ((r = calloc(1, size)) == NULL)
		return NULL;
	r->spaces = (const char **)(r + 1);
	at = (char *)(r->spaces + c->nspaces);
	r->kind = put_text(&at, c->kind != NULL ? c->kind : "unknown");
	r->id = put_text(&at, c->id != NULL ? c->id : "");
	r->name = put_text(&at, c->name);
	r->role = put_text(&at, c->role != NULL ? c->role : "user");
	for (i = 0; i < c->nspaces; i++)
		r->spaces[i] = put_text(&at, c->spaces[i]);
	r->nspaces = c->nspaces;
	r->expires_at = c->expires_at;
	return r;
}
