/*
 * proxy.h - forwarding an exchange to an upstream (SPEC §7.7).
 *
 * The runtime decides what to forward (the upstream, the path after
 * strip_prefix, the caller's identity, the timeouts); the HTTP layer
 * does the rest: it picks a target, takes a pooled connection or opens
 * one, writes the request with the forwarding headers, retries as §7.7
 * allows, and streams the response back with back-pressure, or answers
 * 502, 503 or 504 as problem+json naming the upstream.
 */
#ifndef ASTER_HTTP_PROXY_H
#define ASTER_HTTP_PROXY_H

#include <stddef.h>

struct http_exchange;
struct upstream;

struct proxy_header {
	const char *name;
	const char *value;
};

struct proxy_request {
	struct upstream *upstream;
	/* The path to forward, still percent-encoded ("/v1/a%2Fb"), before
	 * the target's base path; the query is the client's. */
	const char *path;
	unsigned timeout_ms;        /* up to the response head, retries in */
	unsigned try_timeout_ms;    /* one attempt */
	unsigned retries;
	int preserve_host;
	int pass_authorization;
	const char *request_id;
	const char *traceparent;    /* the request's; a new parent id goes
	                               out with each attempt */
	/* Headers asterd adds (the identity of SPEC §7.4); client-sent
	 * X-Aster-* headers are dropped. */
	const struct proxy_header *add;
	size_t nadd;
};

/*
 * Forwards ex as req says. Everything req points to is copied: it may
 * go once this returns. ex is answered (or its stream ended) exactly
 * once, later, from the loop.
 */
void http_proxy(struct http_exchange *ex, const struct proxy_request *req);

#endif
