/*
 * target.c - an upstream target's URL (SPEC §3.2, §7.7): http://host
 * [:port][/base], https://... or unix:PATH, parsed into what forwarding
 * needs (host, port, socket path, base path, the Host it sends).
 */
#include "graph/target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "config/decode.h"
#include "util/arena.h"

#define UNIX_PATH_MAX_BYTES 107     /* sun_path holds 108 with the NUL */

int
target_is_host_name(const char *h, int allow_underscore)
{
	size_t label = 0;

	if (*h == '\0' || strlen(h) > 253)
		return 0;
	for (; *h != '\0'; h++) {
		if (*h == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*h) &&
		    !(*h == '_' && allow_underscore) &&
		    !(*h == '-' && label > 0 && h[1] != '.' && h[1] != '\0'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* 1..65535, digits only. */
static int
parse_port(const char *s, size_t len, int *port)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
target_has_bad_char(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 1;
	return 0;
}

/* host[:port] or [v6][:port]; fills host and port. */
static const char *
parse_authority(struct arena *a, const char *s, size_t len,
                struct upstream_target *t)
{
	const char *port = NULL, *colon;
	size_t hostlen;
	char *host;

	if (len == 0)
		return "a host is required";
	if (memchr(s, '@', len) != NULL)
		return "user information ('@') is not allowed";
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		struct in6_addr in6;

		if (close == NULL)
			return "an IPv6 address must be written [address]";
		host = arena_strndup(a, s + 1, (size_t)(close - s - 1));
		if (inet_pton(AF_INET6, host, &in6) != 1)
			return arena_printf(a, "'%s' is not an IPv6 address",
			                    host);
		if (close + 1 < s + len && close[1] != ':')
			return "an IPv6 address must be written "
			       "[address]:port";
		port = close + 1 < s + len ? close + 2 : NULL;
	} else {
		colon = memchr(s, ':', len);
		hostlen = colon != NULL ? (size_t)(colon - s) : len;
		host = arena_strndup(a, s, hostlen);
		if (colon != NULL && memchr(colon + 1, ':',
		                            len - hostlen - 1) != NULL)
			return "an IPv6 address must be written [address]";
		for (char *c = host; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!target_is_host_name(host, 1))
			return arena_printf(a, "'%s' is not a host name or an "
			                    "IPv4 address", host);
		port = colon != NULL ? colon + 1 : NULL;
	}
	t->host = host;
	if (port != NULL && parse_port(port, (size_t)(s + len - port),
	                               &t->port) < 0)
		return arena_printf(a, "port '%.*s' is not a number from 1 "
		                    "to 65535", (int)(s + len - port), port);
	return NULL;
}

/* The base path: no query, fragment or '..'; trailing '/' dropped. */
static const char *
parse_base(struct arena *a, const char *path, struct upstream_target *t)
{
	size_t len = strlen(path);
	const char *p;

	for (p = path; *p != '\0'; ) {
		size_t seg;

		p += *p == '/';
		seg = strcspn(p, "/");
		if (seg == 2 && p[0] == '.' && p[1] == '.')
			return "the base path must not contain '..'";
		p += seg;
	}
	while (len > 0 && path[len - 1] == '/')
		len--;
	t->base = arena_strndup(a, path, len);
	return NULL;
}

static const char *
parse_tcp(struct arena *a, struct upstream_target *t, const char *rest)
{
	size_t alen = strcspn(rest, "/");
	const char *why;
	int dflt = t->scheme == TARGET_HTTPS ? 443 : 80;

	if (strpbrk(rest, "?#") != NULL)
		return "a target has no query or fragment";
	t->port = dflt;
	why = parse_authority(a, rest, alen, t);
	if (why != NULL)
		return why;
	why = parse_base(a, rest + alen, t);
	if (why != NULL)
		return why;
	if (strchr(t->host, ':') != NULL)
		t->authority = t->port == dflt ?
		    arena_printf(a, "[%s]", t->host) :
		    arena_printf(a, "[%s]:%d", t->host, t->port);
	else
		t->authority = t->port == dflt ? t->host :
		    arena_printf(a, "%s:%d", t->host, t->port);
	return NULL;
}

static const char *
parse_unix(struct arena *a, struct upstream_target *t, const char *path)
{
	if (*path == '\0')
		return "a unix: target needs a socket path";
	t->scheme = TARGET_UNIX;
	t->path = decode_resolve_path(a, t->node, path);
	if (strlen(t->path) > UNIX_PATH_MAX_BYTES)
		return "the socket path is longer than 107 bytes";
	t->base = "";
	t->authority = "localhost";
	return NULL;
}

const char *
target_parse(struct arena *a, struct upstream_target *t)
{
	const char *u = t->url;

	if (target_has_bad_char(u))
		return "it holds a space or a character outside printable "
		       "ASCII";
	if (strncmp(u, "unix:", 5) == 0)
		return parse_unix(a, t, u + 5);
	if (strncmp(u, "http://", 7) == 0) {
		t->scheme = TARGET_HTTP;
		return parse_tcp(a, t, u + 7);
	}
	if (strncmp(u, "https://", 8) == 0) {
		t->scheme = TARGET_HTTPS;
		return parse_tcp(a, t, u + 8);
	}
	return "the scheme must be http://, https:// or unix:";
}
