/*
 * bind.c - opening the listening sockets of a product.
 *
 * Binding happens before the event loop runs and before any module
 * starts, so a busy port fails start-up at once (exit 69) with nothing
 * half started. At start-up host names resolve here, with a blocking
 * getaddrinfo(3): the loop does not run yet, so nothing waits on it, and
 * the C library's full lookup (nsswitch.conf) applies. A reload runs on
 * the loop: it looks the names of the listeners it adds up first, with
 * evdns (resolve.c), and binds the address found; here it only ever
 * hands getaddrinfo() an IP literal, which involves no lookup. A TLS
 * listener's certificate and key are loaded first: one that cannot be
 * read, parsed or paired fails start-up (or a reload) before anything is
 * bound.
 */
#include "runtime/runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/tls.h"

#define LISTEN_BACKLOG 511

static char *
sockaddr_text(const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN], *out = NULL;
	int len;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		len = asprintf(&out, "%s:%u", host, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		len = asprintf(&out, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
	return len < 0 ? NULL : out;
}

static int
listen_on(int fd, const char **err)
{
	if (listen(fd, LISTEN_BACKLOG) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		*err = strerror(errno);
		return -1;
	}
	return 0;
}

/* The address l names: an IP literal, or a host name looked up here
 * (blocking: start-up only). *res is the caller's to free. */
static int
lookup_blocking(const struct listener *l, struct addrinfo **res,
                const char **err)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* A literal is converted, never looked up (a reload relies on it). */
	if (!runtime_listener_needs_lookup(l))
		hints.ai_flags |= AI_NUMERICHOST;
	rc = getaddrinfo(l->host, "0", &hints, res);
	if (rc != 0) {
		*err = gai_strerror(rc);
		return -1;
	}
	return 0;
}

/* Binds and listens on sa (a copy gets the port: l's, or 0). */
static int
bind_tcp_at(const struct listener *l, const struct sockaddr *sa,
            socklen_t salen, int ephemeral, struct listener_run *run,
            const char **err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	in_port_t port = htons((in_port_t)(ephemeral ? 0 : l->port));
	int fd, one = 1;

	if (salen > sizeof(ss) || (sa->sa_family != AF_INET &&
	                           sa->sa_family != AF_INET6)) {
		*err = "not an IPv4 or IPv6 address";
		return -1;
	}
	memcpy(&ss, sa, salen);
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = port;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = port;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = strerror(errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] must not take IPv4's port: the check treats the families as
	 * separate, so the socket must too. */
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, salen) < 0 ||
	    listen_on(fd, err) < 0) {
		*err = strerror(errno);
		close(fd);
		return -1;
	}
	sslen = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	run->fd = fd;
	run->bound = sockaddr_text((struct sockaddr *)&ss);
	return 0;
}

static int
bind_tcp(const struct listener *l, const struct sockaddr *at,
         socklen_t atlen, int ephemeral, struct listener_run *run,
         const char **err)
{
	struct addrinfo *res = NULL;
	int rc;

	if (at != NULL)
		return bind_tcp_at(l, at, atlen, ephemeral, run, err);
	if (lookup_blocking(l, &res, err) < 0)
		return -1;
	rc = bind_tcp_at(l, res->ai_addr, res->ai_addrlen, ephemeral, run,
	                 err);
	freeaddrinfo(res);
	return rc;
}

int
runtime_listener_needs_lookup(const struct listener *l)
{
	struct in_addr a4;
	struct in6_addr a6;

	return l->kind == LISTEN_TCP && l->host != NULL &&
	       inet_pton(AF_INET, l->host, &a4) != 1 &&
	       inet_pton(AF_INET6, l->host, &a6) != 1;
}

/* A socket file left by a dead process is replaced; a live one is not. */
static int
clear_stale_socket(const struct sockaddr_un *sun, const char **err)
{
	struct stat st;
	int fd;

	if (lstat(sun->sun_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*err = "a file that is not a socket is in the way";
		return -1;
	}
	/* Non-blocking: a reload runs this on the loop, and a connect to
	 * a live socket whose backlog is full would wait (EAGAIN: alive). */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && (connect(fd, (const struct sockaddr *)sun,
	                        sizeof(*sun)) == 0 || errno == EAGAIN)) {
		close(fd);
		*err = "another process is listening on it";
		return -1;
	}
	if (fd >= 0)
		close(fd);
	unlink(sun->sun_path);
	return 0;
}

static int
bind_unix(const struct listener *l, struct listener_run *run,
          const char **err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->path);
	if (clear_stale_socket(&sun, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen_on(fd, err) < 0) {
		*err = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	run->fd = fd;
	run->bound = NULL;
	if (asprintf(&run->bound, "unix:%s", l->path) < 0)
		run->bound = NULL;
	return 0;
}

/* See runtime.h. The reason lives in a static buffer: start-up and
 * reloads run on the one thread of the loop, and use it at once. */
int
runtime_load_tls(const struct listener *l, struct ssl_ctx_st **ctx,
                 const char **err)
{
	static char why[2 * PATH_MAX + 256];

	*ctx = NULL;
	*err = NULL;
	if (l->tls == NULL)
		return 0;
	*ctx = tls_context_new(l->tls->cert, l->tls->key, why, sizeof(why));
	if (*ctx == NULL) {
		*err = why;
		return -1;
	}
	return 0;
}

int
runtime_bind(const struct listener *l, const struct sockaddr *at,
             socklen_t atlen, int ephemeral, struct listener_run *run,
             const char **err)
{
	struct ssl_ctx_st *tls;
	int rc;

	if (runtime_load_tls(l, &tls, err) < 0)
		return -1;
	*err = NULL;
	errno = 0;
	if (l->kind == LISTEN_UNIX)
		rc = bind_unix(l, run, err);
	else
		rc = bind_tcp(l, at, atlen, ephemeral, run, err);
	if (rc < 0) {
		tls_context_free(tls);
		return -1;
	}
	run->tls = tls;
	return 0;
}
