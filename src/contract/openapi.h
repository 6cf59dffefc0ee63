/*
 * openapi.h - the OpenAPI 3.1 document of a product (SPEC §14).
 *
 * Built from a validated configuration alone, so `asterd --openapi`
 * (servers from the configured listeners) and GET
 * /gateway/v1/openapi.json (servers from the listeners as bound) share
 * one generator and differ only in the servers they pass.
 */
#ifndef ASTER_OPENAPI_H
#define ASTER_OPENAPI_H

#include <stddef.h>

struct config;

/* Long enough for https://, a 253-byte host name and :65535. */
#define OPENAPI_URL_MAX 272

/* A server the document names: an absolute URL, and the scopes (enum
 * scope bits) of the listener behind it. */
struct openapi_server {
	char url[OPENAPI_URL_MAX];
	unsigned scopes;
};

/*
 * The document of cfg's routes whose scope is among scopes (enum scope
 * bits; a route of scope internal only when scopes has SCOPE_INTERNAL),
 * as compact JSON text, malloc'ed; NULL when out of memory. cfg must be
 * validated (cfg->planned). servers lists where the product listens: the
 * document's `servers` are those serving one of scopes; an operation
 * whose scope fewer of them serve names its own. None: no `servers`.
 */
char *openapi_document(const struct config *cfg,
                       const struct openapi_server *servers, size_t nservers,
                       unsigned scopes);

/*
 * Fills s with scheme://host:port ("https" when tls) and scopes. host is
 * a name or an address literal; an IPv6 literal gets its brackets (and
 * may come with them). Returns 0, or -1 when the URL would not fit.
 */
int openapi_server_set(struct openapi_server *s, int tls, const char *host,
                       int port, unsigned scopes);

/*
 * Fills s for a listener bound at bound ("host:port" or "[v6]:port", as
 * the runtime reports it): scheme as for openapi_server_set(). A
 * wildcard address (0.0.0.0, [::]) is no address a client can use: its
 * host is replaced by the host of request_host, the Host header the
 * client reached the product by ("name", "name:port", "[v6]:port"),
 * when that is a plain host name or address literal (else kept).
 * Returns 0, or -1 when bound is malformed or the URL would not fit.
 */
int openapi_server_bound(struct openapi_server *s, int tls, const char *bound,
                         const char *request_host, unsigned scopes);

/*
 * The servers of cfg's listeners as configured, in order, into out (up
 * to max; returns how many): TCP listeners only, as host:port written
 * (host names lower-cased), https for a TLS listener. A Unix socket is
 * no URL and port 0 is only known once bound, so both are left out.
 */
size_t openapi_config_servers(const struct config *cfg,
                              struct openapi_server *out, size_t max);

#endif
