/*
 * listen.c - listener addresses (SPEC §3.2).
 */
#include "graph/listen.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/decode.h"
#include "graph/target.h"
#include "util/arena.h"

/* Collapses "/./", "//" and "/x/../" so equal paths compare equal. */
static const char *
normalise_path(struct arena *a, const char *path)
{
	size_t len = strlen(path), n = 0, i;
	char *out = arena_alloc(a, len + 2);
	const char *p = path;

	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t seg = end ? (size_t)(end - p) : strlen(p);

		if (seg == 0 || (seg == 1 && p[0] == '.')) {
			/* nothing */
		} else if (seg == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			out[n++] = '/';
			for (i = 0; i < seg; i++)
				out[n++] = p[i];
		}
		p += seg;
		if (*p == '/')
			p++;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

static int
parse_port(const char *s, int *port)
{
	long v = 0;
	size_t i;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

static const char *
parse_unix(struct arena *a, struct listener *l)
{
	const char *rest = l->address + 5;
	const node_t *at = node_get(l->node, "address");

	if (*rest == '\0')
		return "a unix: address needs a path";
	l->kind = LISTEN_UNIX;
	l->path = normalise_path(a, decode_resolve_path(a, at, rest));
	if (l->path[0] != '/')
		l->path = rest;
	if (strlen(l->path) >= 108)
		return "the socket path is longer than 107 bytes";
	l->normal = arena_printf(a, "unix:%s", l->path);
	return NULL;
}

static const char *
parse_v6(struct arena *a, struct listener *l)
{
	const char *close = strchr(l->address, ']');
	struct in6_addr in6;
	char buf[INET6_ADDRSTRLEN];
	const char *host;

	if (close == NULL || close[1] != ':')
		return "an IPv6 address must be written [address]:port";
	host = arena_strndup(a, l->address + 1,
	                     (size_t)(close - l->address - 1));
	if (inet_pton(AF_INET6, host, &in6) != 1)
		return arena_printf(a, "'%s' is not an IPv6 address", host);
	if (parse_port(close + 2, &l->port) < 0)
		return arena_printf(a, "port '%s' is not a number from 0 to "
		                    "65535", close + 2);
	inet_ntop(AF_INET6, &in6, buf, sizeof(buf));
	l->kind = LISTEN_TCP;
	l->host = host;
	l->normal = arena_printf(a, "[%s]:%d", buf, l->port);
	return NULL;
}

static const char *
parse_v4_or_name(struct arena *a, struct listener *l)
{
	const char *colon = strrchr(l->address, ':');
	struct in_addr in4;
	char buf[INET_ADDRSTRLEN];
	char *host;
	size_t i;

	if (colon == NULL)
		return "an address must be host:port, [IPv6]:port or "
		       "unix:PATH";
	host = arena_strndup(a, l->address, (size_t)(colon - l->address));
	if (strchr(host, ':') != NULL)
		return "an IPv6 address must be written [address]:port";
	if (parse_port(colon + 1, &l->port) < 0)
		return arena_printf(a, "port '%s' is not a number from 0 to "
		                    "65535", colon + 1);
	l->kind = LISTEN_TCP;
	l->host = host;
	if (inet_pton(AF_INET, host, &in4) == 1) {
		inet_ntop(AF_INET, &in4, buf, sizeof(buf));
		l->normal = arena_printf(a, "%s:%d", buf, l->port);
		return NULL;
	}
	if (!target_is_host_name(host, 0))
		return arena_printf(a, "'%s' is not an IPv4 address or a "
		                    "host name", host);
	for (i = 0; host[i] != '\0'; i++)
		host[i] = (char)tolower((unsigned char)host[i]);
	l->normal = arena_printf(a, "%s:%d", host, l->port);
	return NULL;
}

const char *
listen_parse(struct arena *a, struct listener *l)
{
	if (strncmp(l->address, "unix:", 5) == 0)
		return parse_unix(a, l);
	if (l->address[0] == '[')
		return parse_v6(a, l);
	return parse_v4_or_name(a, l);
}
