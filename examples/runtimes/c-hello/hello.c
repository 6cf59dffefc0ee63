/*
 * hello.c - an example asterd runtime in C, on libevent's evhttp.
 *
 * asterd starts it for a module with `runtime:` (SPEC §10) and forwards
 * the module's `handler: {runtime: {}}` routes to it, path unchanged.
 * It serves HTTP/1.1 (keep-alive) on the Unix socket ASTER_RUNTIME_SOCKET
 * and answers GET and HEAD on every path with
 *
 *   {"message":"hello from c","module":"<ASTER_MODULE_ID>"}
 *
 * (other methods: 405). Once it listens it sends READY=1 to NOTIFY_SOCKET
 * (the systemd notify protocol; a name starting with '@' is abstract).
 * SIGTERM or SIGINT: it leaves its loop and exits 0. Each answer is
 * queued by the callback that received the request, so none waits on
 * the program; asterd stops a runtime only once the requests in flight
 * to it are done (SPEC §10).
 *
 * HELLO_TCP=HOST:PORT makes it listen on that TCP address too (port 0:
 * an ephemeral one; it prints `hello: listening on tcp HOST:PORT`). This
 * is a benchmark aid: bench/runtime.sh reaches the very same server
 * directly and through asterd's proxy. With HELLO_TCP set,
 * ASTER_RUNTIME_SOCKET may be left unset.
 *
 * The answer is built once at start; a request costs evhttp's parsing
 * and one write, and nothing is logged per request, as this is the
 * program asterd's runtime benchmark measures.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define MODULE_ID_MAX 256
/* Longer than asterd keeps an idle pooled connection (60 s), so asterd
 * is the side that closes one, never this end under a request. */
#define IDLE_TIMEOUT_S 120

static char body[128 + 6 * MODULE_ID_MAX];
static size_t body_len;

/* s as the inside of a JSON string into out (6 * strlen(s) + 1 bytes at
 * least): quotation mark, backslash and control characters escaped. */
static void
json_escape(const char *s, char *out)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*out++ = '\\';
			*out++ = (char)c;
		} else if (c < 0x20) {
			out += sprintf(out, "\\u%04x", c);
		} else {
			*out++ = (char)c;
		}
	}
	*out = '\0';
}

static int
build_body(const char *module_id)
{
	char escaped[6 * MODULE_ID_MAX + 1];
	int n;

	if (strlen(module_id) > MODULE_ID_MAX) {
		fprintf(stderr, "hello: ASTER_MODULE_ID is longer than %d "
		        "bytes\n", MODULE_ID_MAX);
		return -1;
	}
	json_escape(module_id, escaped);
	n = snprintf(body, sizeof(body),
	             "{\"message\":\"hello from c\",\"module\":\"%s\"}\n",
	             escaped);
	body_len = (size_t)n;
	return 0;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);

	(void)arg;
	if (!(evhttp_request_get_command(req) &
	      (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))) {
		evhttp_add_header(headers, "Allow", "GET, HEAD");
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return;
	}
	evhttp_add_header(headers, "Content-Type", "application/json");
	/* The body is static: evbuffer refers to it, no copy. */
	evbuffer_add_reference(out, body, body_len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* A socket file left by an earlier run would make bind() fail; anything
 * else at that path is left alone (bind() then says why). */
static void
remove_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}

/* Binds and listens on the Unix socket path; the descriptor, or -1. */
static int
listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hello: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	remove_stale_socket(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1024) < 0) {
		fprintf(stderr, "hello: cannot listen on %s: %s\n", path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* HELLO_TCP=HOST:PORT: listens there too and prints the address. */
static int
listen_tcp(struct evhttp *http, const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host) ||
	    colon == spec) {
		fprintf(stderr, "hello: HELLO_TCP is HOST:PORT, not '%s'\n",
		        spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 0 ||
	    port > 65535) {
		fprintf(stderr, "hello: HELLO_TCP port is 0 to 65535, not "
		        "'%s'\n", colon + 1);
		return -1;
	}
	bound = evhttp_bind_socket_with_handle(http, host, (unsigned short)port);
	if (bound == NULL ||
	    getsockname(evhttp_bound_socket_get_fd(bound),
	                (struct sockaddr *)&ss, &len) < 0) {
		fprintf(stderr, "hello: cannot listen on tcp %s\n", spec);
		return -1;
	}
	if (ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	printf("hello: listening on tcp %s:%ld\n", host, port);
	fflush(stdout);
	return 0;
}

/* READY=1 to NOTIFY_SOCKET, when it is set. A failure is reported and
 * not fatal: asterd then takes the first connection as ready. */
static void
notify_ready(void)
{
	const char *addr = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (addr == NULL || addr[0] == '\0')
		return;
	len = strlen(addr);
	if (len >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hello: NOTIFY_SOCKET too long\n");
		return;
	}
	memcpy(sa.sun_path, addr, len);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		fprintf(stderr, "hello: READY=1 to %s: %s\n", addr,
		        strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(void)
{
	const char *sock_path = getenv("ASTER_RUNTIME_SOCKET");
	const char *tcp = getenv("HELLO_TCP");
	const char *module_id = getenv("ASTER_MODULE_ID");
	struct event_base *base;
	struct evhttp *http;
	struct event *term, *intr;
	int fd;

	if ((sock_path == NULL || sock_path[0] == '\0') &&
	    (tcp == NULL || tcp[0] == '\0')) {
		fprintf(stderr, "hello: ASTER_RUNTIME_SOCKET is not set; this "
		        "program is started by asterd (SPEC §10)\n");
		return 2;
	}
	if (build_body(module_id != NULL ? module_id : "c-hello") < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	http = base != NULL ? evhttp_new(base) : NULL;
	if (http == NULL) {
		fprintf(stderr, "hello: out of memory\n");
		return 1;
	}
	/* Every method reaches on_request, which answers 405 itself
	 * (evhttp would answer 501 for a method it was told to refuse). */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	                           EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                           EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	                           EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, on_request, NULL);
	evhttp_set_timeout(http, IDLE_TIMEOUT_S);
	if (sock_path != NULL && sock_path[0] != '\0') {
		fd = listen_unix(sock_path);
		if (fd < 0 || evhttp_accept_socket_with_handle(http, fd) == NULL)
			return 1;
	}
	if (tcp != NULL && tcp[0] != '\0' && listen_tcp(http, tcp) < 0)
		return 1;
	term = evsignal_new(base, SIGTERM, on_stop_signal, base);
	intr = evsignal_new(base, SIGINT, on_stop_signal, base);
	if (term == NULL || intr == NULL || evsignal_add(term, NULL) < 0 ||
	    evsignal_add(intr, NULL) < 0) {
		fprintf(stderr, "hello: cannot watch SIGTERM\n");
		return 1;
	}
	notify_ready();
	event_base_dispatch(base);
	/* The socket file stays: asterd owns its directory, and may have
	 * started the next process on the same path already. */
	evhttp_free(http);
	event_free(term);
	event_free(intr);
	event_base_free(base);
	return 0;
}
