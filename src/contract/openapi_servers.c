/*
 * openapi_servers.c - server URLs of a product's listeners, for the
 * OpenAPI document's `servers`.
 */
#include "contract/openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/manifest.h"

int
openapi_server_set(struct openapi_server *s, int tls, const char *host,
                   int port, unsigned scopes)
{
	const char *scheme = tls ? "https" : "http";
	int bracket = strchr(host, ':') != NULL && host[0] != '[';
	int n;

	n = snprintf(s->url, sizeof(s->url), "%s://%s%s%s:%d", scheme,
	             bracket ? "[" : "", host, bracket ? "]" : "", port);
	s->scopes = scopes;
	return n >= 0 && (size_t)n < sizeof(s->url) ? 0 : -1;
}

/* The host of a Host header into out (len bytes); 0, or -1 when it is
 * no plain host name or address literal, or too long. */
static int
header_host(const char *header, char *out, size_t len)
{
	size_t n;

	if (header == NULL)
		return -1;
	if (header[0] == '[') {
		n = strspn(header + 1, "0123456789abcdefABCDEF:.");
		if (header[n + 1] != ']')
			return -1;
		n += 2;
	} else {
		n = strspn(header, "abcdefghijklmnopqrstuvwxyz"
		           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
	}
	if (n == 0 || n >= len || (header[n] != '\0' && header[n] != ':'))
		return -1;
	memcpy(out, header, n);
	out[n] = '\0';
	return 0;
}

int
openapi_server_bound(struct openapi_server *s, int tls, const char *bound,
                     const char *request_host, unsigned scopes)
{
	const char *colon = strrchr(bound, ':');
	char host[OPENAPI_URL_MAX], *end;
	size_t n;
	long port;

	if (colon == NULL || (n = (size_t)(colon - bound)) == 0 ||
	    n >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		return -1;
	memcpy(host, bound, n);
	host[n] = '\0';
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0)
		(void)header_host(request_host, host, sizeof(host));
	return openapi_server_set(s, tls, host, (int)port, scopes);
}

size_t
openapi_config_servers(const struct config *cfg, struct openapi_server *out,
                       size_t max)
{
	const struct server *srv = cfg->product != NULL ?
	                           cfg->product->server : NULL;
	size_t i, n = 0;

	for (i = 0; srv != NULL && i < srv->listen.n && n < max; i++) {
		const struct listener *l = srv->listen.v[i];

		if (l->kind != LISTEN_TCP || l->host == NULL || l->port == 0)
			continue;
		if (openapi_server_set(&out[n], l->tls != NULL, l->host,
		                       l->port, l->scopes) == 0)
			n++;
	}
	return n;
}
