/*
 * proxy_head.c - the header sections a proxy rewrites (SPEC §7.7, §7.3,
 * §7.4): the forwarded request's, and which of an upstream's response
 * fields reach the client.
 *
 * The request head is built in two parts. What is the same for every
 * attempt (the client's fields that pass, X-Forwarded-*, Forwarded, Via,
 * X-Request-Id, the identity headers, the body's framing) is built once;
 * the request line (the target's base path), Host and traceparent (a
 * new parent id per attempt) are written per attempt in front of it.
 */
#include "http/proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "http/fields.h"
#include "http/server.h"

struct name {
	const char *s;
	size_t len;
};

#define NAME(lit) {lit, sizeof(lit) - 1}

/* Hop-by-hop fields (RFC 9110 §7.6.1), dropped both ways. */
static const struct name hop_by_hop[] = {
	NAME("Connection"), NAME("Keep-Alive"), NAME("Proxy-Authenticate"),
	NAME("Proxy-Authorization"), NAME("TE"), NAME("Trailer"),
	NAME("Transfer-Encoding"), NAME("Upgrade"), NAME("Proxy-Connection"),
	{NULL, 0},
};

/* Request fields asterd writes itself (or drops). */
static const struct name replaced[] = {
	NAME("Host"), NAME("Content-Length"), NAME("Expect"),
	NAME("X-Forwarded-For"), NAME("X-Forwarded-Proto"),
	NAME("X-Forwarded-Host"), NAME("Forwarded"), NAME("Via"),
	NAME("X-Request-Id"), NAME("traceparent"), {NULL, 0},
};

/* Every field of a request passes these: the length first, so most
 * names are turned away without a comparison. */
static int
in_list(const struct name *list, const char *name, size_t len)
{
	for (; list->s != NULL; list++)
		if (list->len == len && strcasecmp(list->s, name) == 0)
			return 1;
	return 0;
}

/* Is name named by any Connection field among fields? Looked at only
 * when there is one (has_connection), which HTTP/1.1 peers rarely
 * send. */
static int
connection_names(const struct http_field *fields, size_t n,
                 const char *name, int has_connection)
{
	size_t i;

	if (!has_connection)
		return 0;
	for (i = 0; i < n; i++)
		if (strcasecmp(fields[i].name, "Connection") == 0 &&
		    field_list_has(fields[i].value, name))
			return 1;
	return 0;
}

int
proxy_is_upgrade(struct http_exchange *ex)
{
	const char *conn = http_header(ex, "Connection");

	return http_header(ex, "Upgrade") != NULL && conn != NULL &&
	    field_list_has(conn, "upgrade");
}

/* The request's fields as a list (for connection_names()): in stack
 * (room for nstack) when they fit, else allocated. */
static size_t
request_fields(struct http_exchange *ex, struct http_field *stack,
               size_t nstack, struct http_field **out)
{
	const char *name, *value;
	struct http_field *v = stack;
	size_t n = 0, i;

	while (http_header_at(ex, n, &name, &value))
		n++;
	*out = stack;
	if (n > nstack && (v = malloc(n * sizeof(*v))) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		http_header_at(ex, i, &v[i].name, &v[i].value);
	*out = v;
	return n;
}

static int
passes(const struct proxy_request *pr, const struct http_field *all,
       size_t nall, const char *name, int has_connection)
{
	size_t len = strlen(name);

	if (in_list(hop_by_hop, name, len) || in_list(replaced, name, len))
		return 0;
	if (len > 8 && strncasecmp(name, "X-Aster-", 8) == 0)
		return 0;
	if (!pr->pass_authorization && len == 13 &&
	    strcasecmp(name, "Authorization") == 0)
		return 0;
	return !connection_names(all, nall, name, has_connection);
}

/* "a, b" of every field called name, or NULL. */
static char *
joined(const struct http_field *all, size_t nall, const char *name)
{
	struct evbuffer *b;
	char *out = NULL;
	size_t i, len;

	for (i = 0; i < nall; i++)
		if (strcasecmp(all[i].name, name) == 0)
			break;
	if (i == nall || (b = evbuffer_new()) == NULL)
		return NULL;
	for (; i < nall; i++) {
		if (strcasecmp(all[i].name, name) != 0)
			continue;
		if (evbuffer_get_length(b) > 0)
			evbuffer_add(b, ", ", 2);
		evbuffer_add(b, all[i].value, strlen(all[i].value));
	}
	len = evbuffer_get_length(b);
	if (len > 0 && (out = malloc(len + 1)) != NULL) {
		evbuffer_remove(b, out, len);
		out[len] = '\0';
	}
	evbuffer_free(b);
	return out;
}

/* The client as RFC 7239 writes a node: 192.0.2.1, "[2001:db8::1]", or
 * unknown (a Unix socket has no address to give). */
static void
forwarded_node(const char *peer, char *out, size_t len)
{
	if (strcmp(peer, "unix") == 0 || *peer == '\0')
		snprintf(out, len, "unknown");
	else if (*peer == '[')
		snprintf(out, len, "\"%s\"", peer);
	else
		snprintf(out, len, "%s", peer);
}

/* A Forwarded value needs quotes unless it is a token. */
static int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!field_is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

static void
add_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, s, strlen(s));
}

static void
add_field(struct evbuffer *b, const char *name, const char *value)
{
	evbuffer_add(b, name, strlen(name));
	evbuffer_add(b, ": ", 2);
	evbuffer_add(b, value, strlen(value));
	evbuffer_add(b, "\r\n", 2);
}

static void
add_forwarding(struct evbuffer *b, struct http_exchange *ex,
               const struct http_field *all, size_t nall)
{
	const char *peer = http_peer(ex);
	const char *host = http_header(ex, "Host");
	const char *proto = http_is_tls(ex) ? "https" : "http";
	char *prior, node[64];
	const char *xff_peer = strcmp(peer, "unix") == 0 ? "unknown" : peer;

	prior = joined(all, nall, "X-Forwarded-For");
	if (prior != NULL)
		evbuffer_add_printf(b, "X-Forwarded-For: %s, %s\r\n", prior,
		                    xff_peer);
	else
		add_field(b, "X-Forwarded-For", xff_peer);
	free(prior);
	add_field(b, "X-Forwarded-Proto", proto);
	if (host != NULL)
		add_field(b, "X-Forwarded-Host", host);
	forwarded_node(peer, node, sizeof(node));
	prior = joined(all, nall, "Forwarded");
	evbuffer_add_printf(b, "Forwarded: %s%sfor=%s", prior != NULL ?
	                    prior : "", prior != NULL ? ", " : "", node);
	free(prior);
	if (host != NULL)
		evbuffer_add_printf(b, is_token(host) ? ";host=%s" :
		                    ";host=\"%s\"", host);
	evbuffer_add_printf(b, ";proto=%s\r\n", proto);
	prior = joined(all, nall, "Via");
	evbuffer_add_printf(b, "Via: %s%s1.1 asterd\r\n", prior != NULL ?
	                    prior : "", prior != NULL ? ", " : "");
	free(prior);
}

/* The framing of the body as it will be forwarded. */
static void
add_framing(struct evbuffer *b, struct http_exchange *ex,
            const struct proxy_call_body *body)
{
	if (body->chunked)
		add_field(b, "Transfer-Encoding", "chunked");
	else if (body->length > 0 || http_header(ex, "Content-Length") !=
	         NULL || http_header(ex, "Transfer-Encoding") != NULL)
		evbuffer_add_printf(b, "Content-Length: %llu\r\n",
		                    (unsigned long long)body->length);
}

int
proxy_head_fixed(struct evbuffer *b, struct http_exchange *ex,
                 const struct proxy_request *pr,
                 const struct proxy_call_body *body, int upgrade)
{
	struct http_field stack[64], *all;
	size_t nall = request_fields(ex, stack, 64, &all), i;
	int has_connection = http_header(ex, "Connection") != NULL;

	for (i = 0; i < nall; i++)
		if (passes(pr, all, nall, all[i].name, has_connection))
			add_field(b, all[i].name, all[i].value);
	add_forwarding(b, ex, all, nall);
	if (all != stack)
		free(all);
	add_field(b, "X-Request-Id", pr->request_id);
	for (i = 0; i < pr->nadd; i++)
		add_field(b, pr->add[i].name, pr->add[i].value);
	if (upgrade) {
		add_field(b, "Connection", "upgrade");
		add_field(b, "Upgrade", http_header(ex, "Upgrade"));
	}
	add_framing(b, ex, body);
	return evbuffer_add(b, "\r\n", 2);
}

static void
hex16(char *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
}

int
proxy_head_attempt(struct evbuffer *b, struct http_exchange *ex,
                   const struct proxy_call *call, const struct uptarget *t)
{
	const char *query = http_query(ex);
	const char *host = call->preserve_host ? http_header(ex, "Host") :
	    NULL;
	char parent[17];
	uint64_t id;

	add_str(b, http_method(ex));
	evbuffer_add(b, " ", 1);
	add_str(b, t->base);
	add_str(b, call->path);
	if (query != NULL) {
		evbuffer_add(b, "?", 1);
		add_str(b, query);
	}
	evbuffer_add(b, " HTTP/1.1\r\n", 11);
	add_field(b, "Host", host != NULL ? host : t->authority);
	do
		id = upstream_random();
	while (id == 0);
	hex16(parent, id);
	/* "00-" trace id "-" parent "-" flags: the parent changes. */
	evbuffer_add(b, "traceparent: ", 13);
	evbuffer_add(b, call->traceparent, 36);
	evbuffer_add(b, parent, 16);
	evbuffer_add(b, call->traceparent + 52, 3);
	return evbuffer_add(b, "\r\n", 2);
}

/* --- the response's fields --------------------------------------------- */

int
proxy_response_field_passes(const struct http_response *r,
                            const char *name, int upgrade,
                            int has_connection)
{
	size_t len = strlen(name);

	if (upgrade && (strcasecmp(name, "Upgrade") == 0 ||
	                strcasecmp(name, "Connection") == 0))
		return 1;
	if (in_list(hop_by_hop, name, len) ||
	    (len == 14 && strcasecmp(name, "Content-Length") == 0) ||
	    (len == 12 && strcasecmp(name, "X-Request-Id") == 0))
		return 0;
	return !connection_names(r->fields, r->nfields, name,
	                         has_connection);
}
