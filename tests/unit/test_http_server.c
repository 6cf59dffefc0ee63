/*
 * test_http_server.c - the HTTP server (src/http/server.c) over real
 * sockets.
 *
 * Each test starts a server on 127.0.0.1:0 on its own event base and runs
 * the loop in the test's thread, while a client thread speaks HTTP with
 * plain blocking sockets. The client only records what it saw (check's
 * assertions are not for other threads); the test asserts once the client
 * is done and joined. The handler, the timers and every server call run
 * on the loop's thread.
 */
#include "unit.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http/problem.h"
#include "http/server.h"
/* The streamed-response test reads the connection's queue itself. */
#include "http/server_int.h"
#include "http/tls.h"

#define NRESP 8
#define RESP_MAX 32768
#define BIG_LEN (16 * 1024 * 1024)

/* A body larger than the socket buffers: byte i is i % 251. */
static unsigned char big[BIG_LEN];

struct harness {
	struct event_base *base;
	struct http_server *srv;
	int port;
	int wake[2];
	pthread_t thread;
	void (*client)(struct harness *);
	int timed_out;

	/* the loop's side */
	int handled;
	int completes;
	int releases;
	int hooked;
	int completed_inside;
	int late;                   /* answers after the server's 504 */
	int releases_at_late;       /* H.releases when the last came */
	size_t conns_seen;
	int last_status;

	/* the client's side, read after the join */
	int status[NRESP];
	char resp[NRESP][RESP_MAX];
	int eof[NRESP];
	long ms[NRESP];
	int refused;
	int count;
};

static struct harness H;

/* big[] as a file, for http_respond_file(). */
static char file_path[64];

struct client {
	int fd;
	size_t len;
	char buf[65536];
};

/* --- the client thread's tools ----------------------------------------- */

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
cl_timeout(struct client *c, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int
cl_connect(struct client *c, int port)
{
	struct sockaddr_in sin;

	memset(c, 0, sizeof(*c));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	cl_timeout(c, 5000);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void
cl_send_n(struct client *c, const void *s, size_t n)
{
	const char *p = s;
	ssize_t w;

	while (n > 0 && (w = send(c->fd, p, n, MSG_NOSIGNAL)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

static void
cl_send(struct client *c, const char *s)
{
	cl_send_n(c, s, strlen(s));
}

static int
cl_fill(struct client *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return -1;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

/*
 * Reads one response (head and Content-Length body; no body if no_body)
 * into out; returns its status, or -1 on EOF, error or timeout.
 */
static int
cl_response(struct client *c, char *out, int no_body)
{
	char *end, *cl;
	size_t head, body = 0, total;
	int status = -1;

	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (cl_fill(c) == -1)
			return -1;
	head = (size_t)(end - c->buf) + 4;
	cl = memmem(c->buf, head, "\r\nContent-Length: ", 18);
	if (cl != NULL && !no_body)
		body = strtoul(cl + 18, NULL, 10);
	while (c->len < head + body)
		if (cl_fill(c) == -1)
			return -1;
	total = head + body;
	if (out != NULL) {
		size_t n = total < RESP_MAX - 1 ? total : RESP_MAX - 1;

		memcpy(out, c->buf, n);
		out[n] = '\0';
	}
	if (sscanf(c->buf, "HTTP/1.1 %d ", &status) != 1)
		status = -1;
	memmove(c->buf, c->buf + total, c->len - total);
	c->len -= total;
	return status;
}

/*
 * Reads a response whose body is want bytes of big[], checking them as
 * they stream in; returns the status, or -1 if anything differed.
 */
static int
cl_big_response(struct client *c, size_t want)
{
	char *end, *cl;
	size_t head, got = 0, n;
	int status = -1;

	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (cl_fill(c) == -1)
			return -1;
	head = (size_t)(end - c->buf) + 4;
	cl = memmem(c->buf, head, "\r\nContent-Length: ", 18);
	if (cl == NULL || strtoul(cl + 18, NULL, 10) != want ||
	    sscanf(c->buf, "HTTP/1.1 %d ", &status) != 1)
		return -1;
	memmove(c->buf, c->buf + head, c->len - head);
	c->len -= head;
	while (got < want) {
		if (c->len == 0 && cl_fill(c) == -1)
			return -1;
		n = c->len < want - got ? c->len : want - got;
		if (memcmp(c->buf, big + got, n) != 0)
			return -1;
		got += n;
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
	}
	return status;
}

/* 1 if the server closed the connection (within ms), else 0. */
static int
cl_eof(struct client *c, long ms)
{
	char b;
	ssize_t n;

	if (c->len > 0)
		return 0;
	cl_timeout(c, ms);
	n = recv(c->fd, &b, 1, 0);
	return n == 0 || (n == -1 && errno == ECONNRESET);
}

static void
cl_close(struct client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static void
record(struct harness *h, int i, struct client *c, int no_body)
{
	long t0 = now_ms();

	h->status[i] = cl_response(c, h->resp[i], no_body);
	h->ms[i] = now_ms() - t0;
}

/* --- the server's side ------------------------------------------------- */

static void
on_done(struct http_exchange *ex, void *arg)
{
	struct harness *h = arg;

	h->completes++;
	h->last_status = http_status(ex);
}

static void
on_release(void *data)
{
	((struct harness *)data)->releases++;
}

struct later {
	struct event *ev;
	struct http_exchange *ex;
};

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;
	int before = H.completes;

	(void)fd;
	(void)what;
	if (http_timed_out(l->ex)) {
		H.late++;
		H.releases_at_late = H.releases;
	}
	http_add_header(l->ex, "Content-Type", "text/plain");
	http_respond(l->ex, 200, "async", 5);
	/* never completed inside http_respond(), orphan or not */
	if (H.completes != before)
		H.completed_inside++;
	event_free(l->ev);
	free(l);
}

/* Answers ex after ms, from a timer: the asynchronous handler. */
static void
respond_later(struct harness *h, struct http_exchange *ex, long ms)
{
	struct later *l = calloc(1, sizeof(*l));
	struct timeval tv = { 0, ms * 1000 };

	ck_assert_ptr_nonnull(l);
	l->ex = ex;
	l->ev = evtimer_new(h->base, later_cb, l);
	evtimer_add(l->ev, &tv);
}

static void
echo(struct http_exchange *ex)
{
	const unsigned char *body;
	const char *name, *value, *q = http_query(ex);
	char count[16];
	size_t len, i;

	for (i = 0; http_header_at(ex, i, &name, &value); i++)
		;
	snprintf(count, sizeof(count), "%zu", i);
	http_add_header(ex, "X-Method", http_method(ex));
	http_add_header(ex, "X-Target", http_target(ex));
	http_add_header(ex, "X-Path", http_path(ex));
	http_add_header(ex, "X-Raw-Path", http_path_raw(ex));
	http_add_header(ex, "X-Query", q != NULL ? q : "-");
	http_add_header(ex, "X-Peer", http_peer(ex));
	http_add_header(ex, "X-Fields", count);
	http_add_header(ex, "X-Evil", "a\r\nInjected: yes");
	body = http_body(ex, &len);
	http_respond(ex, 200, body, len);
}

/* A body of n chains of 1000 bytes each: big[0..1000) n times. */
static void
respond_chains(struct http_exchange *ex, int n)
{
	struct evbuffer *b = evbuffer_new();
	int i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < n; i++)
		evbuffer_add_reference(b, big, 1000, NULL, NULL);
	http_respond_buffer(ex, 200, b);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/*
 * /file: big[] whole from the file; /file/part: 5000 bytes from 1000;
 * /file/empty: none of it; /file/short: 100000 bytes more than the file
 * has (the connection must be cut).
 */
static void
respond_file(struct http_exchange *ex, const char *what)
{
	int fd = open(file_path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	http_add_header(ex, "Content-Type", "application/octet-stream");
	if (strcmp(what, "/part") == 0)
		http_respond_file(ex, 206, fd, 1000, 5000);
	else if (strcmp(what, "/empty") == 0)
		http_respond_file(ex, 200, fd, 0, 0);
	else if (strcmp(what, "/short") == 0)
		http_respond_file(ex, 200, fd, 0, BIG_LEN + 100000);
	else
		http_respond_file(ex, 200, fd, 0, BIG_LEN);
}

static void stream_route(struct http_exchange *ex, const char *what);
static void upload_route(struct http_exchange *ex, const char *what);

static void
handler(struct http_exchange *ex, void *arg)
{
	struct harness *h = arg;
	const char *path = http_path(ex);

	h->handled++;
	h->conns_seen = http_server_connections(h->srv);
	http_on_complete(ex, on_done, h);
	http_set_data(ex, h, on_release);
	if (strcmp(path, "/hello") == 0) {
		http_add_header(ex, "Content-Type", "text/plain");
		http_respond(ex, 200, "hello", 5);
	} else if (strncmp(path, "/echo", 5) == 0) {
		echo(ex);
	} else if (strcmp(path, "/async") == 0) {
		respond_later(h, ex, 50);
	} else if (strcmp(path, "/slow") == 0) {
		respond_later(h, ex, 300);
	} else if (strcmp(path, "/late") == 0) {
		respond_later(h, ex, 700);
	} else if (strcmp(path, "/drain") == 0) {
		http_server_drain(h->srv);
		http_respond(ex, 200, "draining", 8);
	} else if (strcmp(path, "/problem") == 0) {
		problem_send(ex, 404, NULL, "bad \"x\"\n\xff\x01", "req-1");
	} else if (strcmp(path, "/nocontent") == 0) {
		http_respond(ex, 204, "ignored", 7);
	} else if (strcmp(path, "/big") == 0) {
		http_respond(ex, 200, big, BIG_LEN);
	} else if (strncmp(path, "/file", 5) == 0) {
		respond_file(ex, path + 5);
	} else if (strncmp(path, "/stream", 7) == 0) {
		stream_route(ex, path + 7);
	} else if (strncmp(path, "/upload", 7) == 0) {
		upload_route(ex, path + 7);
	} else if (strcmp(path, "/chains") == 0 ||
	           strcmp(path, "/buf") == 0) {
		respond_chains(ex, path[1] == 'c' ? 20 : 1);
	} else {
		problem_send(ex, 404, NULL, NULL, NULL);
	}
}

static void
error_hook(struct http_exchange *ex, int status, const char *code,
           const char *detail, void *arg)
{
	struct harness *h = arg;

	h->hooked++;
	http_on_complete(ex, on_done, h);
	problem_send(ex, status, code, detail, "hooked");
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	H.timed_out = 1;
	event_base_loopbreak(arg);
}

static void *
client_main(void *arg)
{
	struct harness *h = arg;
	char b = 0;

	h->client(h);
	if (write(h->wake[1], &b, 1) != 1)
		abort();
	return NULL;
}

static int
listen_socket(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static struct http_limits
limits_default(void)
{
	struct http_limits l = {
		.max_header_bytes = 4096,
		.max_body_bytes = 65536,
		.request_timeout_ms = 5000,
		.idle_timeout_ms = 5000,
		.max_connections = 64,
	};

	return l;
}

/* Writes big[] to file_path once. */
static void
write_file(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	if (file_path[0] != '\0')
		return;
	snprintf(file_path, sizeof(file_path), "%s/aster-file-XXXXXX",
	         tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	fd = mkstemp(file_path);
	ck_assert_int_ge(fd, 0);
	ck_assert(write(fd, big, BIG_LEN) == BIG_LEN);
	close(fd);
}

static void
start_hooked(const struct http_limits *l, http_error_fn hook)
{
	size_t i;

	/* as asterd does: a peer gone mid-write is an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < BIG_LEN; i++)
		big[i] = (unsigned char)(i % 251);
	write_file();
	memset(&H, 0, sizeof(H));
	H.base = event_base_new();
	ck_assert_ptr_nonnull(H.base);
	H.srv = http_server_new(H.base, listen_socket(&H.port), l, handler,
	                        hook, &H);
	ck_assert_ptr_nonnull(H.srv);
}

static void
start(const struct http_limits *l)
{
	start_hooked(l, NULL);
}

/* Runs the loop while the client runs; asserts it did not hang. */
static void
run(void (*client)(struct harness *))
{
	struct event *wake, *guard;
	struct timeval tv = { 20, 0 };

	ck_assert_int_eq(pipe(H.wake), 0);
	wake = event_new(H.base, H.wake[0], EV_READ, wake_cb, H.base);
	guard = evtimer_new(H.base, guard_cb, H.base);
	event_add(wake, NULL);
	evtimer_add(guard, &tv);
	H.client = client;
	ck_assert_int_eq(pthread_create(&H.thread, NULL, client_main, &H), 0);
	event_base_dispatch(H.base);
	ck_assert_msg(!H.timed_out, "the client did not finish");
	pthread_join(H.thread, NULL);
	event_free(wake);
	event_free(guard);
	close(H.wake[0]);
	close(H.wake[1]);
}

/* Lets the loop run for ms more (timers, closes). */
static void
settle(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(H.base, &tv);
	event_base_dispatch(H.base);
}

static void
stop(void)
{
	http_server_free(H.srv);
	event_base_free(H.base);
}

/* The body of a response text, after the empty line. */
static const char *
body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	return p != NULL ? p + 4 : "";
}

/* 1 if the head of resp holds the line "line". */
static int
has_line(const char *resp, const char *line)
{
	const char *end = strstr(resp, "\r\n\r\n"), *p = resp;
	size_t n = strlen(line);

	while ((p = strstr(p, "\r\n")) != NULL && p < end) {
		p += 2;
		if (strncmp(p, line, n) == 0 && p[n] == '\r')
			return 1;
	}
	return 0;
}

/* --- tests ------------------------------------------------------------- */

static void
client_get(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	cl_close(&c);
}

START_TEST(test_simple_get)
{
	struct http_limits l = limits_default();
	const char *r;

	start(&l);
	run(client_get);
	settle(50);
	r = H.resp[0];
	ck_assert_int_eq(H.status[0], 200);
	ck_assert(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	ck_assert(has_line(r, "Content-Length: 5"));
	ck_assert(has_line(r, "Content-Type: text/plain"));
	ck_assert_ptr_nonnull(strstr(r, "\r\nDate: "));
	ck_assert(strstr(r, " GMT\r\n") != NULL);
	ck_assert_ptr_null(strstr(r, "Connection:"));
	ck_assert_str_eq(body_of(r), "hello");
	ck_assert_int_eq(H.handled, 1);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.releases, 1);
	ck_assert_int_eq(H.last_status, 200);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

static void
client_keepalive(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	cl_send(&c, "GET /echo/x?y=1 HTTP/1.1\r\nHost: t\r\nA: b\r\n\r\n");
	record(h, 1, &c, 0);
	/* HTTP/1.0 keeps the connection only when asked to */
	cl_send(&c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	record(h, 2, &c, 0);
	cl_send(&c, "GET /hello HTTP/1.0\r\n\r\n");
	record(h, 3, &c, 0);
	h->eof[3] = cl_eof(&c, 2000);
	cl_close(&c);
}

START_TEST(test_keepalive)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_keepalive);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert(has_line(H.resp[1], "X-Method: GET"));
	ck_assert(has_line(H.resp[1], "X-Target: /echo/x?y=1"));
	ck_assert(has_line(H.resp[1], "X-Path: /echo/x"));
	ck_assert(has_line(H.resp[1], "X-Query: y=1"));
	ck_assert(has_line(H.resp[1], "X-Peer: 127.0.0.1"));
	ck_assert(has_line(H.resp[1], "X-Fields: 2"));
	/* a value with CR LF is dropped, not sent */
	ck_assert_ptr_null(strstr(H.resp[1], "Injected"));
	ck_assert_ptr_null(strstr(H.resp[1], "X-Evil"));
	ck_assert_int_eq(H.status[2], 200);
	ck_assert(has_line(H.resp[2], "Connection: keep-alive"));
	ck_assert_int_eq(H.status[3], 200);
	ck_assert(has_line(H.resp[3], "Connection: close"));
	ck_assert(H.eof[3]);
	/* one connection throughout */
	ck_assert_uint_eq(H.conns_seen, 1);
	ck_assert_int_eq(H.completes, 4);
	stop();
}
END_TEST

static void
client_pipeline(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	/* the slow one in the middle must not be overtaken */
	cl_send(&c, "GET /echo/1 HTTP/1.1\r\nHost: t\r\n\r\n"
	        "GET /async HTTP/1.1\r\nHost: t\r\n\r\n"
	        "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"
	        "POST /echo/3 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n"
	        "abc"
	        "GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n"
	        "GET /echo/5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	        "GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	record(h, 1, &c, 0);
	record(h, 2, &c, 1);
	record(h, 3, &c, 0);
	record(h, 4, &c, 1);
	record(h, 5, &c, 0);
	h->eof[5] = cl_eof(&c, 2000);
	cl_close(&c);
}

START_TEST(test_pipelining)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_pipeline);
	settle(50);
	ck_assert(has_line(H.resp[0], "X-Path: /echo/1"));
	ck_assert_str_eq(body_of(H.resp[1]), "async");
	ck_assert_int_eq(H.status[2], 200);
	ck_assert(has_line(H.resp[2], "Content-Length: 5"));
	ck_assert_str_eq(body_of(H.resp[2]), "");
	ck_assert(has_line(H.resp[3], "X-Path: /echo/3"));
	ck_assert_str_eq(body_of(H.resp[3]), "abc");
	ck_assert_int_eq(H.status[4], 204);
	ck_assert_ptr_null(strstr(H.resp[4], "Content-Length"));
	ck_assert(has_line(H.resp[5], "X-Path: /echo/5"));
	ck_assert(has_line(H.resp[5], "Connection: close"));
	ck_assert(H.eof[5]);
	/* the request after "Connection: close" is never handled */
	ck_assert_int_eq(H.handled, 6);
	ck_assert_int_eq(H.completes, 6);
	stop();
}
END_TEST

/*
 * Input that arrives while a request is handled is kept and served after
 * it, in order: a request sent later, then a pipelined run larger than
 * what the server keeps (it stops reading, then goes on).
 */
#define FLOOD 2500

static void
client_while_handling(struct harness *h)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
	static char flood[FLOOD * (sizeof(req) - 1) + 64];
	struct client c;
	size_t n = 0;
	int i;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /async HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(10000);
	cl_send(&c, "GET /echo/2 HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	record(h, 1, &c, 0);
	n += (size_t)snprintf(flood, sizeof(flood),
	                      "GET /async HTTP/1.1\r\nHost: t\r\n\r\n");
	for (i = 0; i < FLOOD; i++) {
		memcpy(flood + n, req, sizeof(req) - 1);
		n += sizeof(req) - 1;
	}
	cl_send_n(&c, flood, n);
	record(h, 2, &c, 0);
	for (i = 0; i < FLOOD; i++)
		if (cl_response(&c, NULL, 0) == 200)
			h->count++;
	cl_close(&c);
}

START_TEST(test_input_while_handling)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_while_handling);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_str_eq(body_of(H.resp[0]), "async");
	ck_assert_int_eq(H.status[1], 200);
	ck_assert(has_line(H.resp[1], "X-Path: /echo/2"));
	ck_assert_int_eq(H.status[2], 200);
	ck_assert_str_eq(body_of(H.resp[2]), "async");
	ck_assert_int_eq(H.count, FLOOD);
	ck_assert_int_eq(H.handled, FLOOD + 3);
	ck_assert_int_eq(H.completes, FLOOD + 3);
	stop();
}
END_TEST

/* A body larger than one read of the server. */
static void
client_long_body(struct harness *h)
{
	static char body[60000];
	char head[128];
	struct client c;

	memset(body, 'x', sizeof(body));
	if (cl_connect(&c, h->port) == -1)
		return;
	snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: t\r\n"
	         "Content-Length: %zu\r\n\r\n", sizeof(body));
	cl_send(&c, head);
	cl_send_n(&c, body, sizeof(body));
	record(h, 0, &c, 0);
	h->eof[0] = strspn(body_of(h->resp[0]), "x") ==
	    strlen(body_of(h->resp[0]));
	cl_close(&c);
}

START_TEST(test_long_body)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_long_body);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert(has_line(H.resp[0], "Content-Length: 60000"));
	ck_assert(H.eof[0]);
	stop();
}
END_TEST

static void
client_bodies(struct harness *h)
{
	struct client c;
	char cont[64];

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
	        "Content-Length: 11\r\n\r\nhello world");
	record(h, 0, &c, 0);
	cl_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
	        "Transfer-Encoding: chunked\r\n\r\n"
	        "5\r\nhello\r\n6;ext=1\r\n wor");
	usleep(20000);
	cl_send(&c, "ld\r\n0\r\nTrailer: x\r\n\r\n");
	record(h, 1, &c, 0);
	/* 100 Continue first, then the body */
	cl_send(&c, "PUT /echo HTTP/1.1\r\nHost: t\r\n"
	        "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n");
	if (cl_response(&c, cont, 1) == 100)
		h->status[2] = 100;
	cl_send(&c, "data");
	record(h, 3, &c, 0);
	cl_close(&c);
}

START_TEST(test_bodies)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_bodies);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_str_eq(body_of(H.resp[0]), "hello world");
	ck_assert_int_eq(H.status[1], 200);
	ck_assert_str_eq(body_of(H.resp[1]), "hello world");
	ck_assert_int_eq(H.status[2], 100);
	ck_assert_int_eq(H.status[3], 200);
	ck_assert(has_line(H.resp[3], "X-Method: PUT"));
	ck_assert_str_eq(body_of(H.resp[3]), "data");
	stop();
}
END_TEST

static void
client_431(struct harness *h)
{
	struct client c;
	char big[1200];

	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
	cl_send(&c, big);
	/* no end of line yet: the bound alone decides */
	record(h, 0, &c, 0);
	h->eof[0] = cl_eof(&c, 3000);
	cl_close(&c);
}

START_TEST(test_431)
{
	struct http_limits l = limits_default();
	const char *r;

	l.max_header_bytes = 512;
	start_hooked(&l, error_hook);
	run(client_431);
	settle(50);
	r = H.resp[0];
	ck_assert_int_eq(H.status[0], 431);
	ck_assert(strncmp(r, "HTTP/1.1 431 Request Header Fields Too Large\r\n",
	                  46) == 0);
	ck_assert(has_line(r, "Content-Type: application/problem+json"));
	ck_assert(has_line(r, "Connection: close"));
	ck_assert_str_eq(body_of(r), "{\"type\":\"about:blank\","
	    "\"title\":\"Request Header Fields Too Large\",\"status\":431,"
	    "\"detail\":\"request line and headers too large\","
	    "\"code\":\"headers-too-large\",\"requestId\":\"hooked\"}");
	ck_assert(H.eof[0]);
	ck_assert_int_eq(H.handled, 0);
	ck_assert_int_eq(H.hooked, 1);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.last_status, 431);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

static void
client_413(struct harness *h)
{
	struct client c;
	char body[4096];

	memset(body, 'b', sizeof(body));
	/* decided from Content-Length, before any body */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
	        "Content-Length: 4096\r\n\r\n");
	record(h, 0, &c, 0);
	h->eof[0] = cl_eof(&c, 3000);
	cl_close(&c);
	/* the client sends its body anyway: it must still read the 413 */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
	        "Content-Length: 4096\r\n\r\n");
	cl_send_n(&c, body, sizeof(body));
	record(h, 1, &c, 0);
	cl_close(&c);
	/* chunks that add up past the bound */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
	        "Transfer-Encoding: chunked\r\n\r\n200\r\n");
	cl_send_n(&c, body, 0x200);
	cl_send(&c, "\r\n200\r\n");
	record(h, 2, &c, 0);
	cl_close(&c);
}

START_TEST(test_413)
{
	struct http_limits l = limits_default();

	l.max_body_bytes = 1000;
	start(&l);
	run(client_413);
	settle(50);
	ck_assert_int_eq(H.status[0], 413);
	ck_assert(has_line(H.resp[0], "Connection: close"));
	ck_assert(has_line(H.resp[0],
	                   "Content-Type: application/problem+json"));
	ck_assert_ptr_nonnull(strstr(body_of(H.resp[0]),
	                             "\"code\":\"payload-too-large\""));
	ck_assert_ptr_null(strstr(H.resp[0], "requestId"));
	ck_assert(H.eof[0]);
	ck_assert_int_eq(H.status[1], 413);
	ck_assert_int_eq(H.status[2], 413);
	ck_assert_int_eq(H.handled, 0);
	stop();
}
END_TEST

static void
client_408(struct harness *h)
{
	struct client c;
	long t0;

	if (cl_connect(&c, h->port) == -1)
		return;
	t0 = now_ms();
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n");
	h->status[0] = cl_response(&c, h->resp[0], 0);
	h->ms[0] = now_ms() - t0;
	h->eof[0] = cl_eof(&c, 3000);
	cl_close(&c);
	/* idle keep-alive: closed quietly */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	t0 = now_ms();
	h->eof[1] = cl_eof(&c, 3000);
	h->ms[1] = now_ms() - t0;
	cl_close(&c);
}

START_TEST(test_408_and_idle)
{
	struct http_limits l = limits_default();

	l.request_timeout_ms = 200;
	l.idle_timeout_ms = 300;
	start(&l);
	run(client_408);
	settle(50);
	ck_assert_int_eq(H.status[0], 408);
	ck_assert_int_ge(H.ms[0], 150);
	ck_assert_ptr_nonnull(strstr(body_of(H.resp[0]),
	                             "\"code\":\"request-timeout\""));
	ck_assert(has_line(H.resp[0], "Connection: close"));
	ck_assert(H.eof[0]);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert(H.eof[1]);
	ck_assert_int_ge(H.ms[1], 200);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	stop();
}
END_TEST

/* The idle deadline, moved by each of many requests, still closes the
 * connection in time (not before), and so does the first one. */
static void
client_idle_after_burst(struct harness *h)
{
	struct client c;
	long t0;
	int i;

	if (cl_connect(&c, h->port) == -1)
		return;
	for (i = 0; i < 200; i++) {
		cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
		if (cl_response(&c, NULL, 0) == 200)
			h->count++;
	}
	t0 = now_ms();
	h->eof[0] = cl_eof(&c, 3000);
	h->ms[0] = now_ms() - t0;
	cl_close(&c);
	/* a connection that never sends */
	if (cl_connect(&c, h->port) == -1)
		return;
	t0 = now_ms();
	h->eof[1] = cl_eof(&c, 3000);
	h->ms[1] = now_ms() - t0;
	cl_close(&c);
}

START_TEST(test_idle_after_burst)
{
	struct http_limits l = limits_default();

	l.request_timeout_ms = 200;
	l.idle_timeout_ms = 300;
	start(&l);
	run(client_idle_after_burst);
	settle(50);
	ck_assert_int_eq(H.count, 200);
	ck_assert(H.eof[0]);
	ck_assert_int_ge(H.ms[0], 280);
	ck_assert_int_lt(H.ms[0], 2000);
	ck_assert(H.eof[1]);
	ck_assert_int_ge(H.ms[1], 280);
	ck_assert_int_lt(H.ms[1], 2000);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	stop();
}
END_TEST

static void
client_bad(struct harness *h)
{
	static const char *const reqs[] = {
		/* overlong-encoded "..": not UTF-8 (SPEC §7.1) */
		"GET /%C0%AE%C0%AE/etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n",
		"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n",
		("POST /echo HTTP/1.1\r\nHost: t\r\n"
		 "Transfer-Encoding: br\r\n\r\n"),
		"GET /a\r\n folded: x\r\n\r\n",
	};
	struct client c;
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		if (cl_connect(&c, h->port) == -1)
			return;
		cl_send(&c, reqs[i]);
		record(h, (int)i, &c, 0);
		h->eof[i] = cl_eof(&c, 3000);
		cl_close(&c);
	}
}

START_TEST(test_bad_requests)
{
	struct http_limits l = limits_default();
	static const int want[] = { 400, 505, 501, 400 };
	size_t i;

	start(&l);
	run(client_bad);
	settle(50);
	for (i = 0; i < 4; i++) {
		ck_assert_msg(H.status[i] == want[i], "request %zu: %d", i,
		              H.status[i]);
		ck_assert(has_line(H.resp[i], "Connection: close"));
		ck_assert(has_line(H.resp[i],
		                   "Content-Type: application/problem+json"));
		ck_assert(H.eof[i]);
	}
	ck_assert_ptr_nonnull(strstr(H.resp[0], "\"code\":\"bad-request\""));
	ck_assert_int_eq(H.handled, 0);
	stop();
}
END_TEST

static void
client_decode(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /echo/a%252F/./b//c/..?q=%2F HTTP/1.1\r\n"
	        "Host: t\r\n\r\n");
	record(h, 0, &c, 0);
	cl_send(&c, "GET http://t/echo/abs HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	cl_send(&c, "GET /problem HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 2, &c, 0);
	cl_close(&c);
}

START_TEST(test_path_decoding)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_decode);
	settle(50);
	ck_assert(has_line(H.resp[0], "X-Path: /echo/a%2F/b/"));
	ck_assert(has_line(H.resp[0], "X-Raw-Path: /echo/a%252F/b/"));
	ck_assert(has_line(H.resp[0],
	                   "X-Target: /echo/a%252F/./b//c/..?q=%2F"));
	ck_assert(has_line(H.resp[0], "X-Query: q=%2F"));
	ck_assert(has_line(H.resp[1], "X-Path: /echo/abs"));
	ck_assert(has_line(H.resp[1], "X-Raw-Path: /echo/abs"));
	/* a handler's problem: escaped, and the connection stays */
	ck_assert_int_eq(H.status[2], 404);
	ck_assert_str_eq(body_of(H.resp[2]), "{\"type\":\"about:blank\","
	    "\"title\":\"Not Found\",\"status\":404,"
	    "\"detail\":\"bad \\\"x\\\"\\n\\ufffd\\u0001\","
	    "\"code\":\"route-not-found\",\"requestId\":\"req-1\"}");
	ck_assert_ptr_null(strstr(H.resp[2], "Connection:"));
	stop();
}
END_TEST

static void
client_maxconn(struct harness *h)
{
	struct client a, b;

	if (cl_connect(&a, h->port) == -1)
		return;
	cl_send(&a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &a, 0);
	/* the kernel takes b, the server does not yet */
	if (cl_connect(&b, h->port) == -1)
		return;
	cl_send(&b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	cl_timeout(&b, 300);
	h->status[1] = cl_response(&b, NULL, 0);
	cl_close(&a);
	cl_timeout(&b, 5000);
	record(h, 2, &b, 0);
	cl_close(&b);
}

START_TEST(test_max_connections)
{
	struct http_limits l = limits_default();

	l.max_connections = 1;
	start(&l);
	run(client_maxconn);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.status[1], -1);
	ck_assert_int_eq(H.status[2], 200);
	ck_assert_uint_eq(H.conns_seen, 1);
	ck_assert_int_eq(H.handled, 2);
	stop();
}
END_TEST

/* Reload: a lower max_connections pauses accepting at once. */
static void
client_limits(struct harness *h)
{
	struct client a, b;

	if (cl_connect(&a, h->port) == -1)
		return;
	cl_send(&a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &a, 0);
	if (cl_connect(&b, h->port) == -1)
		return;
	cl_send(&b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &b, 0);
	cl_close(&a);
	cl_close(&b);
}

static void
lower_limits(evutil_socket_t fd, short what, void *arg)
{
	struct http_limits l = limits_default();

	(void)fd;
	(void)what;
	(void)arg;
	l.max_connections = 2;
	http_server_set_limits(H.srv, &l);
}

START_TEST(test_set_limits)
{
	struct http_limits l = limits_default();
	struct timeval tv = { 0, 0 };

	l.max_connections = 1;
	start(&l);
	/* raised before the client starts: both are served at once */
	event_base_once(H.base, -1, EV_TIMEOUT, lower_limits, NULL, &tv);
	run(client_limits);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert_uint_eq(H.conns_seen, 2);
	stop();
}
END_TEST

static void
client_drain(struct harness *h)
{
	struct client a, b, c;

	if (cl_connect(&a, h->port) == -1 || cl_connect(&b, h->port) == -1)
		return;
	cl_send(&a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &a, 0);
	/* b is busy when the drain starts; a is idle */
	cl_send(&b, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(50000);
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /drain HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	h->eof[1] = cl_eof(&c, 3000);
	h->eof[0] = cl_eof(&a, 3000);
	record(h, 2, &b, 0);
	h->eof[2] = cl_eof(&b, 3000);
	h->refused = cl_connect(&c, h->port) == -1;
	cl_close(&a);
	cl_close(&b);
	cl_close(&c);
}

START_TEST(test_drain)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_drain);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert(has_line(H.resp[1], "Connection: close"));
	ck_assert(H.eof[1]);
	ck_assert(H.eof[0]);
	ck_assert_int_eq(H.status[2], 200);
	ck_assert_str_eq(body_of(H.resp[2]), "async");
	ck_assert(has_line(H.resp[2], "Connection: close"));
	ck_assert(H.eof[2]);
	ck_assert(H.refused);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

static void
client_async(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /async HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	cl_close(&c);
}

START_TEST(test_async_respond)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_async);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_str_eq(body_of(H.resp[0]), "async");
	ck_assert_int_ge(H.ms[0], 40);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert_int_eq(H.completes, 2);
	ck_assert_int_eq(H.releases, 2);
	ck_assert_int_eq(H.completed_inside, 0);
	stop();
}
END_TEST

static void
client_gone(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(50000);
	cl_close(&c);
}

START_TEST(test_disconnect_before_respond)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_gone);
	settle(100);
	/* the client is gone, the exchange is not */
	ck_assert_int_eq(H.handled, 1);
	ck_assert_int_eq(H.completes, 0);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 1);
	settle(400);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.releases, 1);
	ck_assert_int_eq(H.completed_inside, 0);
	ck_assert_int_eq(H.last_status, 200);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

static void
client_slow_kept(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(100000);
	h->eof[0] = cl_eof(&c, 3000);
	cl_close(&c);
}

static void
free_server(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	http_server_free(H.srv);
	H.srv = NULL;
}

/*
 * A handler that does not answer in time: 504 through the error hook,
 * the connection goes on (a request right after the 504, another after
 * the late answer, which never shows), and the timed-out exchange's data
 * is released only after its late answer.
 */
static void
client_timeout(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /late HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	usleep(800000);
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 2, &c, 0);
	cl_close(&c);
}

START_TEST(test_handler_timeout)
{
	struct http_limits l = limits_default();

	l.request_timeout_ms = 200;
	start_hooked(&l, error_hook);
	run(client_timeout);
	settle(50);
	ck_assert_int_eq(H.status[0], 504);
	ck_assert_int_ge(H.ms[0], 195);
	ck_assert_int_lt(H.ms[0], 600);
	ck_assert_ptr_nonnull(strstr(body_of(H.resp[0]),
	                             "\"code\":\"gateway-timeout\""));
	ck_assert_ptr_nonnull(strstr(body_of(H.resp[0]),
	                             "\"requestId\":\"hooked\""));
	ck_assert(!has_line(H.resp[0], "Connection: close"));
	ck_assert_int_eq(H.hooked, 1);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert_str_eq(body_of(H.resp[1]), "hello");
	ck_assert_int_eq(H.status[2], 200);
	ck_assert_str_eq(body_of(H.resp[2]), "hello");
	ck_assert_int_eq(H.handled, 3);
	ck_assert_int_eq(H.late, 1);
	/* when the late answer came, only the first /hello was released */
	ck_assert_int_eq(H.releases_at_late, 1);
	ck_assert_int_eq(H.completes, 3);
	ck_assert_int_eq(H.releases, 3);
	ck_assert_int_eq(H.completed_inside, 0);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

/* The client takes its 504 and goes before the late answer, which then
 * frees the exchange. */
static void
client_timeout_gone(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /late HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	cl_close(&c);
}

START_TEST(test_handler_timeout_gone)
{
	struct http_limits l = limits_default();

	l.request_timeout_ms = 200;
	start(&l);
	run(client_timeout_gone);
	settle(100);
	ck_assert_int_eq(H.status[0], 504);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.releases, 0);
	settle(800);
	ck_assert_int_eq(H.late, 1);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.last_status, 504);
	ck_assert_int_eq(H.releases, 1);
	ck_assert_int_eq(H.completed_inside, 0);
	stop();
}
END_TEST

/* Freed after the 504 and before the late answer: the exchange is still
 * the handler's, and its answer frees it. */
START_TEST(test_free_after_timeout)
{
	struct http_limits l = limits_default();

	l.request_timeout_ms = 200;
	start(&l);
	run(client_timeout_gone);
	settle(50);
	ck_assert_int_eq(H.status[0], 504);
	http_server_free(H.srv);
	H.srv = NULL;
	ck_assert_int_eq(H.releases, 0);
	settle(800);
	ck_assert_int_eq(H.late, 1);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.releases, 1);
	ck_assert_int_eq(H.completed_inside, 0);
	event_base_free(H.base);
}
END_TEST

/* Freed while a handler holds an exchange: answering it later is safe. */
START_TEST(test_free_with_pending)
{
	struct http_limits l = limits_default();
	struct timeval tv = { 0, 100000 };

	start(&l);
	event_base_once(H.base, -1, EV_TIMEOUT, free_server, NULL, &tv);
	run(client_slow_kept);
	settle(400);
	ck_assert_ptr_null(H.srv);
	ck_assert(H.eof[0]);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.releases, 1);
	ck_assert_int_eq(H.completed_inside, 0);
	event_base_free(H.base);
}
END_TEST

/* A handler that frees the server from inside its callback. */
static void
freeing_handler(struct http_exchange *ex, void *arg)
{
	(void)arg;
	http_on_complete(ex, on_done, &H);
	http_respond(ex, 200, "bye", 3);
	http_server_free(H.srv);
	H.srv = NULL;
}

static void
client_free_inside(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\n");
	h->status[0] = cl_response(&c, h->resp[0], 0);
	h->eof[0] = cl_eof(&c, 3000);
	cl_close(&c);
}

START_TEST(test_free_inside_handler)
{
	struct http_limits l = limits_default();

	signal(SIGPIPE, SIG_IGN);
	memset(&H, 0, sizeof(H));
	H.base = event_base_new();
	H.srv = http_server_new(H.base, listen_socket(&H.port), &l,
	                        freeing_handler, NULL, NULL);
	ck_assert_ptr_nonnull(H.srv);
	run(client_free_inside);
	ck_assert_ptr_null(H.srv);
	/* cut off before it was written: completed all the same */
	ck_assert_int_eq(H.completes, 1);
	ck_assert(H.eof[0]);
	event_base_free(H.base);
}
END_TEST

static void
client_big(struct harness *h)
{
	struct client c;
	int i;

	if (cl_connect(&c, h->port) == -1)
		return;
	/* the socket buffers fill before the client reads: the rest is
	 * queued and written as the client drains it */
	cl_send(&c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(200000);
	h->status[0] = cl_big_response(&c, BIG_LEN);
	cl_send(&c, "GET /chains HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	cl_send(&c, "GET /buf HTTP/1.1\r\nHost: t\r\n\r\n"
	        "HEAD /big HTTP/1.1\r\nHost: t\r\n\r\n"
	        "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 2, &c, 0);
	record(h, 3, &c, 1);
	h->status[4] = cl_big_response(&c, BIG_LEN);
	h->eof[4] = 1;
	for (i = 0; i < 20 && h->eof[4]; i++)
		h->eof[4] = memcmp(body_of(h->resp[1]) + i * 1000, big,
		                   1000) == 0;
	cl_close(&c);
}

START_TEST(test_big_responses)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_big);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert(has_line(H.resp[1], "Content-Length: 20000"));
	ck_assert(H.eof[4]);
	ck_assert_int_eq(H.status[2], 200);
	ck_assert_int_eq(memcmp(body_of(H.resp[2]), big, 1000), 0);
	ck_assert_int_eq(H.status[3], 200);
	ck_assert(has_line(H.resp[3], "Content-Length: 16777216"));
	ck_assert_int_eq(H.status[4], 200);
	ck_assert_int_eq(H.completes, 5);
	stop();
}
END_TEST

/* This process's open fds (the server runs in it). */
static int
fd_count(void)
{
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;               /* the DIR's own */
}

static void
client_file(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	/* The socket fills before the client reads: the rest of the file
	 * goes on the write event. */
	cl_send(&c, "GET /file HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(200000);
	h->status[0] = cl_big_response(&c, BIG_LEN);
	/* Pipelined behind file bodies: answered in order. */
	cl_send(&c, "GET /file/part HTTP/1.1\r\nHost: t\r\n\r\n"
	        "HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"
	        "GET /file/empty HTTP/1.1\r\nHost: t\r\n\r\n"
	        "GET /file HTTP/1.1\r\nHost: t\r\n\r\n"
	        "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	record(h, 2, &c, 1);
	record(h, 3, &c, 0);
	h->status[4] = cl_big_response(&c, BIG_LEN);
	record(h, 5, &c, 0);
	cl_close(&c);
}

START_TEST(test_file_responses)
{
	struct http_limits l = limits_default();
	int fds;

	start(&l);
	fds = fd_count();
	run(client_file);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.status[1], 206);
	ck_assert(has_line(H.resp[1], "Content-Length: 5000"));
	ck_assert(has_line(H.resp[1], "Content-Type: application/octet-stream"));
	ck_assert_int_eq(memcmp(body_of(H.resp[1]), big + 1000, 5000), 0);
	/* HEAD: the length announced, no body (the next response parsed) */
	ck_assert_int_eq(H.status[2], 200);
	ck_assert(has_line(H.resp[2], "Content-Length: 16777216"));
	ck_assert_int_eq(H.status[3], 200);
	ck_assert(has_line(H.resp[3], "Content-Length: 0"));
	ck_assert_int_eq(H.status[4], 200);
	ck_assert_int_eq(H.status[5], 200);
	ck_assert_str_eq(body_of(H.resp[5]), "hello");
	ck_assert_int_eq(H.completes, 6);
	/* every file closed, and the connection */
	ck_assert_int_eq(fd_count(), fds);
	stop();
}
END_TEST

/* A file shorter than announced: the body is cut and the connection
 * closed; a client gone mid-file: its file closed. */
static void
client_file_cut(struct harness *h)
{
	struct client c;
	size_t got = 0;
	ssize_t n;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /file/short HTTP/1.1\r\nHost: t\r\n\r\n");
	while ((n = recv(c.fd, c.buf, sizeof(c.buf), 0)) > 0)
		got += (size_t)n;
	/* the head, then BIG_LEN bytes of the file, and the end (not a
	 * timeout) */
	h->count = n == 0 && got > BIG_LEN && got < BIG_LEN + 1000;
	cl_close(&c);
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /file HTTP/1.1\r\nHost: t\r\n\r\n");
	h->status[0] = cl_response(&c, NULL, 1);
	cl_fill(&c);
	cl_close(&c);
}

START_TEST(test_file_cut_and_gone)
{
	struct http_limits l = limits_default();
	int fds;

	start(&l);
	fds = fd_count();
	run(client_file_cut);
	settle(200);
	ck_assert_msg(H.count, "the short file's body was not cut at its "
	              "end");
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.completes, 2);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	ck_assert_int_eq(fd_count(), fds);
	stop();
}
END_TEST

/* A client that shuts its side down after the request still reads a
 * response that takes many writes; then the server closes. */
static void
client_half_close(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	shutdown(c.fd, SHUT_WR);
	usleep(100000);
	h->status[0] = cl_big_response(&c, BIG_LEN);
	h->eof[0] = cl_eof(&c, 3000);
	cl_close(&c);
}

START_TEST(test_half_close)
{
	struct http_limits l = limits_default();

	start(&l);
	run(client_half_close);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert(H.eof[0]);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	stop();
}
END_TEST

static void
client_stall(struct harness *h)
{
	struct client c;

	(void)h;
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	/* never reads: the server gives up after its write timeout */
	usleep(1000000);
	cl_close(&c);
}

START_TEST(test_write_timeout)
{
	struct http_limits l = limits_default();

	l.request_timeout_ms = 300;
	start(&l);
	run(client_stall);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

static char unix_path[108];

static void
client_unix(struct harness *h)
{
	struct sockaddr_un sun;
	struct client c;

	memset(&c, 0, sizeof(c));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, unix_path);
	if ((c.fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return;
	cl_timeout(&c, 5000);
	if (connect(c.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		cl_close(&c);
		return;
	}
	cl_send(&c, "GET /echo/u HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	cl_close(&c);
}

START_TEST(test_unix_socket)
{
	struct http_limits l = limits_default();
	struct sockaddr_un sun;
	char dir[] = "/tmp/test_http_server.XXXXXX";
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(unix_path, sizeof(unix_path), "%s/s", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, unix_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	start(&l);
	/* the TCP server start() made is not used here */
	http_server_free(H.srv);
	H.srv = http_server_new(H.base, fd, &l, handler, NULL, &H);
	ck_assert_ptr_nonnull(H.srv);
	run(client_unix);
	settle(50);
	unlink(unix_path);
	rmdir(dir);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert(has_line(H.resp[0], "X-Peer: unix"));
	ck_assert(has_line(H.resp[0], "X-Path: /echo/u"));
	stop();
}
END_TEST

START_TEST(test_problem_codes)
{
	static const struct {
		int status;
		const char *code;
	} codes[] = {
		{ 400, "bad-request" }, { 401, "unauthorized" },
		{ 403, "forbidden" }, { 404, "route-not-found" },
		{ 405, "method-not-allowed" }, { 408, "request-timeout" },
		{ 409, "conflict" }, { 412, "precondition-failed" },
		{ 413, "payload-too-large" }, { 422, "validation-failed" },
		{ 429, "rate-limited" }, { 431, "headers-too-large" },
		{ 500, "internal" }, { 502, "bad-gateway" },
		{ 503, "unavailable" }, { 504, "gateway-timeout" },
		{ 418, "error" }, { 505, "error" },
	};
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_str_eq(problem_code(codes[i].status), codes[i].code);
	ck_assert_str_eq(http_reason(404), "Not Found");
	ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	ck_assert_str_eq(http_reason(799), "Unknown");
}
END_TEST

/* --- streamed responses and bodies ------------------------------------ */

#define PIECE (16 * 1024)

/* A handler's streamed response of len bytes of big[], written in
 * pieces until a write says 0, then again from the drain hook. */
struct streamer {
	size_t off;
	size_t len;             /* SIZE_MAX: until the client is gone */
	size_t burst;           /* written since the last 0 */
	size_t max_burst;       /* of the bursts after the first */
	size_t max_queued;      /* the connection's queue after a write */
	size_t sndbuf;          /* the socket's send buffer */
	int zeros;
	int gone;               /* a write returned -1 */
	int abandoned;          /* the abandon hook ran */
	int write_after;        /* what a write said in the hook */
	int tls;                /* http_is_tls() */
};

static struct streamer ST;

static void
streamer_pump(struct http_exchange *ex, void *arg)
{
	struct streamer *st = arg;
	size_t n, q;
	int r;

	st->burst = 0;
	while (st->off < st->len) {
		n = st->len - st->off < PIECE ? st->len - st->off : PIECE;
		/* forever: big[] round and round */
		r = http_stream_write(ex, big + (st->len == SIZE_MAX ?
		                      st->off % (BIG_LEN - PIECE) : st->off), n);
		if (r == -1) {
			st->gone++;
			http_stream_end(ex);
			return;
		}
		st->off += n;
		st->burst += n;
		q = ex->conn != NULL && ex->conn->out != NULL ?
		    evbuffer_get_length(ex->conn->out) : 0;
		if (q > st->max_queued)
			st->max_queued = q;
		if (r == 0) {
			if (st->zeros++ > 0 && st->burst > st->max_burst)
				st->max_burst = st->burst;
			return;
		}
	}
	http_stream_end(ex);
}

/* The client is gone: writes fail, and the handler ends its stream. */
static void
streamer_abandon(struct http_exchange *ex, void *arg)
{
	struct streamer *st = arg;

	st->abandoned++;
	st->write_after = http_stream_write(ex, "x", 1);
	http_stream_end(ex);
}

/* An event that calls a function of ex later. */
struct ex_timer {
	struct event *ev;
	struct http_exchange *ex;
	void (*fn)(struct http_exchange *ex);
};

static void
ex_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ex_timer *t = arg;

	(void)fd;
	(void)what;
	t->fn(t->ex);
	event_free(t->ev);
	free(t);
}

static void
ex_later(struct http_exchange *ex, long ms,
         void (*fn)(struct http_exchange *ex))
{
	struct ex_timer *t = calloc(1, sizeof(*t));
	struct timeval tv = { 0, ms * 1000 };

	ck_assert_ptr_nonnull(t);
	t->ex = ex;
	t->fn = fn;
	t->ev = evtimer_new(H.base, ex_timer_cb, t);
	evtimer_add(t->ev, &tv);
}

static void
start_forever(struct http_exchange *ex)
{
	http_stream_begin(ex, 200, -1);
	streamer_pump(ex, &ST);
}

/* The raw socket of a detached tunnel, echoing. */
struct tunnel {
	struct event *ev;
	evutil_socket_t fd;
	int conns_after;
};

static struct tunnel TUN;

static void
tunnel_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n > 0) {
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			n = -1;
		else
			return;
	}
	if (n == -1 && errno == EAGAIN)
		return;
	event_free(t->ev);
	close(fd);
	t->fd = -1;
}

static void
tunnel(struct http_exchange *ex)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();

	http_add_header(ex, "Upgrade", "echo");
	ck_assert_int_eq(http_stream_begin(ex, 101, -1), 0);
	TUN.fd = http_detach(ex, in, out);
	ck_assert_int_ge(TUN.fd, 0);
	TUN.conns_after = (int)http_server_connections(H.srv);
	/* The head went out whole; what the client sent early is here. */
	while (evbuffer_get_length(out) > 0)
		ck_assert_int_gt(evbuffer_write(out, TUN.fd), 0);
	while (evbuffer_get_length(in) > 0)
		ck_assert_int_gt(evbuffer_write(in, TUN.fd), 0);
	TUN.ev = event_new(H.base, TUN.fd, EV_READ | EV_PERSIST, tunnel_cb,
	                   &TUN);
	event_add(TUN.ev, NULL);
	evbuffer_free(in);
	evbuffer_free(out);
}

static int interim_10;          /* http_send_interim() to HTTP/1.0 */

static void
stream_route(struct http_exchange *ex, const char *what)
{
	static const char *const names[] = { "Link", "Bad\r\nName" };
	static const char *const values[] = { "</a.css>; rel=preload", "x" };
	int sock;
	socklen_t len = sizeof(int);

	if (strcmp(what, "/big") == 0) {
		/* a small send buffer, so that the bursts tell the queue */
		sock = 32 * 1024;
		setsockopt(ex->conn->fd, SOL_SOCKET, SO_SNDBUF, &sock, len);
		getsockopt(ex->conn->fd, SOL_SOCKET, SO_SNDBUF, &sock, &len);
		ST.sndbuf = (size_t)sock;
		ST.tls = http_is_tls(ex);
		ST.len = BIG_LEN;
		http_stream_on_drain(ex, streamer_pump, &ST);
		ck_assert_int_eq(http_stream_begin(ex, 200, BIG_LEN), 0);
		streamer_pump(ex, &ST);
	} else if (strcmp(what, "/chunked") == 0) {
		ck_assert_int_eq(http_stream_begin(ex, 200, -1), 0);
		ck_assert_int_eq(http_stream_write(ex, "hello", 5), 1);
		http_stream_trailer(ex, "X-Sum", "11");
		http_stream_trailer(ex, "X-Bad", "a\r\nb");
		ck_assert_int_eq(http_stream_write(ex, " world", 6), 1);
		/* the begun stream takes no second answer */
		ck_assert_int_eq(http_stream_begin(ex, 200, -1), -1);
		http_stream_end(ex);
	} else if (strcmp(what, "/sized") == 0) {
		ck_assert_int_eq(http_stream_begin(ex, 200, 11), 0);
		http_stream_write(ex, "hello", 5);
		http_stream_write(ex, " world, and more", 16);
		http_stream_end(ex);
	} else if (strcmp(what, "/abort") == 0) {
		ck_assert_int_eq(http_stream_begin(ex, 200, 100), 0);
		http_stream_write(ex, "0123456789", 10);
		http_stream_abort(ex);
	} else if (strcmp(what, "/hints") == 0) {
		if (http_send_interim(ex, 103, names, values, 2) == -1)
			interim_10++;
		ck_assert_int_eq(http_send_interim(ex, 101, NULL, NULL, 0), -1);
		http_respond(ex, 200, "ok", 2);
	} else if (strcmp(what, "/forever") == 0) {
		ST.len = SIZE_MAX;
		http_on_abandon(ex, streamer_abandon, &ST);
		http_stream_on_drain(ex, streamer_pump, &ST);
		/* begun later, from a timer: the 504 must not follow */
		ex_later(ex, 10, start_forever);
	} else if (strcmp(what, "/tunnel") == 0) {
		tunnel(ex);
	} else {
		problem_send(ex, 404, NULL, NULL, NULL);
	}
}

/* Reads until the connection closes (or buf is full); returns bytes. */
static size_t
cl_read_all(struct client *c)
{
	while (cl_fill(c) == 0)
		;
	return c->len;
}

/* Reads until buf holds s; 0 if it never came. */
static int
cl_wait_for(struct client *c, const char *s)
{
	while (memmem(c->buf, c->len, s, strlen(s)) == NULL)
		if (cl_fill(c) == -1)
			return 0;
	return 1;
}

static void
client_stream_big(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /stream/big HTTP/1.1\r\nHost: t\r\n\r\n");
	/* a slow reader at first, so that the server must wait */
	usleep(300000);
	h->status[0] = cl_big_response(&c, BIG_LEN);
	cl_send(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 0);
	cl_close(&c);
}

START_TEST(test_stream_big)
{
	struct http_limits l = limits_default();

	start(&l);
	memset(&ST, 0, sizeof(ST));
	run(client_stream_big);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.status[1], 200);
	ck_assert_uint_eq(ST.off, BIG_LEN);
	ck_assert_int_gt(ST.zeros, 2);
	ck_assert_int_eq(ST.tls, 0);
	/* the queue never held more than the high-water mark and a piece
	 * (what a burst wrote says less: the client reads meanwhile) */
	ck_assert_uint_le(ST.max_queued, STREAM_HIGH + PIECE);
	ck_assert_uint_gt(ST.max_queued, STREAM_HIGH - PIECE);
	ck_assert_int_eq(H.completes, 2);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

static void
client_stream_framing(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	/* chunked with trailers to 1.1, then the connection is reused */
	cl_send(&c, "GET /stream/chunked HTTP/1.1\r\nHost: t\r\n\r\n");
	cl_wait_for(&c, "X-Sum: 11\r\n\r\n");
	memcpy(h->resp[0], c.buf, c.len);
	h->resp[0][c.len] = '\0';
	c.len = 0;
	cl_send(&c, "HEAD /stream/sized HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 1, &c, 1);
	cl_send(&c, "GET /stream/sized HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 2, &c, 0);
	cl_send(&c, "GET /stream/hints HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 3, &c, 1);
	record(h, 4, &c, 0);
	cl_close(&c);
	/* close-delimited to 1.0 */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /stream/chunked HTTP/1.0\r\n\r\n");
	cl_read_all(&c);
	memcpy(h->resp[5], c.buf, c.len);
	h->resp[5][c.len] = '\0';
	cl_close(&c);
	/* no interim to 1.0 */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /stream/hints HTTP/1.0\r\n\r\n");
	record(h, 6, &c, 0);
	cl_close(&c);
	/* abort: the body is cut and the connection closed */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /stream/abort HTTP/1.1\r\nHost: t\r\n\r\n");
	h->count = (int)cl_read_all(&c);
	memcpy(h->resp[7], c.buf, c.len);
	h->resp[7][c.len] = '\0';
	cl_close(&c);
}

START_TEST(test_stream_framing)
{
	struct http_limits l = limits_default();
	const char *r;

	start(&l);
	interim_10 = 0;
	run(client_stream_framing);
	settle(50);
	r = H.resp[0];
	ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
	ck_assert(has_line(r, "Transfer-Encoding: chunked"));
	ck_assert_ptr_null(strstr(r, "Content-Length"));
	ck_assert_str_eq(body_of(r),
	                 "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n");
	/* HEAD keeps the length, sends no body, keeps the connection */
	ck_assert_int_eq(H.status[1], 200);
	ck_assert(has_line(H.resp[1], "Content-Length: 11"));
	ck_assert_str_eq(body_of(H.resp[1]), "");
	/* writes past the length are dropped */
	ck_assert_int_eq(H.status[2], 200);
	ck_assert_str_eq(body_of(H.resp[2]), "hello world");
	/* 103 then 200 */
	ck_assert_msg(strncmp(H.resp[3], "HTTP/1.1 103 Early Hints\r\n", 26) == 0,
	              "%s", H.resp[3]);
	ck_assert(has_line(H.resp[3], "Link: </a.css>; rel=preload"));
	ck_assert_ptr_null(strstr(H.resp[3], "Bad"));
	ck_assert_int_eq(H.status[4], 200);
	ck_assert_str_eq(body_of(H.resp[4]), "ok");
	/* HTTP/1.0: the close ends the body */
	r = H.resp[5];
	ck_assert(has_line(r, "Connection: close"));
	ck_assert_ptr_null(strstr(r, "Transfer-Encoding"));
	ck_assert_ptr_null(strstr(r, "Content-Length"));
	ck_assert_str_eq(body_of(r), "hello world");
	ck_assert_int_eq(H.status[6], 200);
	ck_assert_int_eq(interim_10, 1);
	/* abort: 10 of 100 bytes, then the close */
	ck_assert(has_line(H.resp[7], "Content-Length: 100"));
	ck_assert_str_eq(body_of(H.resp[7]), "0123456789");
	ck_assert_int_eq(H.completes, 7);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	stop();
}
END_TEST

static void
client_stream_gone(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /stream/forever HTTP/1.1\r\nHost: t\r\n\r\n");
	h->status[0] = cl_wait_for(&c, "HTTP/1.1 200 OK\r\n") ? 200 : -1;
	/* past the handler deadline: the head is out, no 504 */
	usleep(400000);
	cl_fill(&c);
	h->count = memmem(c.buf, c.len, "504", 3) != NULL;
	cl_close(&c);
}

START_TEST(test_stream_client_gone)
{
	struct http_limits l = limits_default();

	l.request_timeout_ms = 200;
	start(&l);
	memset(&ST, 0, sizeof(ST));
	run(client_stream_gone);
	settle(300);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_int_eq(H.count, 0);
	ck_assert_int_eq(H.hooked, 0);
	/* the handler waited for a drain: the hook tells it */
	ck_assert_int_eq(ST.abandoned, 1);
	ck_assert_int_eq(ST.write_after, -1);
	ck_assert_int_eq(ST.gone, 0);
	ck_assert_int_eq(H.completes, 1);
	ck_assert_int_eq(H.releases, 1);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	ck_assert_uint_eq(http_server_connections(H.srv), 0);
	stop();
}
END_TEST

static void
client_tunnel(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "GET /stream/tunnel HTTP/1.1\r\nHost: t\r\n"
	        "Connection: Upgrade\r\nUpgrade: echo\r\n\r\nearly:");
	record(h, 0, &c, 1);
	if (cl_wait_for(&c, "early:"))
		h->count++;
	c.len = 0;
	cl_send(&c, "ping");
	if (cl_wait_for(&c, "ping"))
		h->count++;
	cl_close(&c);
	usleep(50000);
}

START_TEST(test_stream_detach)
{
	struct http_limits l = limits_default();

	start(&l);
	memset(&TUN, 0, sizeof(TUN));
	run(client_tunnel);
	settle(50);
	ck_assert_int_eq(H.status[0], 101);
	ck_assert(has_line(H.resp[0], "Upgrade: echo"));
	ck_assert(has_line(H.resp[0], "Connection: Upgrade"));
	ck_assert_int_eq(H.count, 2);
	ck_assert_int_eq(TUN.conns_after, 0);
	ck_assert_int_eq(TUN.fd, -1);      /* the echo saw the close */
	ck_assert_int_eq(H.completes, 1);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	stop();
}
END_TEST

/* --- streamed request bodies --- */

struct upload {
	struct evbuffer *got;   /* /upload/echo */
	size_t count;
	int order_bad;
	int pauses;
	int fails;
	int ends;
};

static struct upload UP;

static void
resume(struct http_exchange *ex)
{
	http_body_pause(ex, 0);
}

static void
on_piece(struct http_exchange *ex, const void *data, size_t len, int end,
         void *arg)
{
	struct upload *u = arg;
	char text[64];
	size_t before = u->count;

	if (end != 0) {
		u->ends++;
		if (end < 0) {
			u->fails++;
			http_respond(ex, 413, "failed", 6);
			return;
		}
		if (u->got != NULL) {
			http_respond_buffer(ex, 200, u->got);
			return;
		}
		snprintf(text, sizeof(text), "%zu", u->count);
		http_respond(ex, 200, text, strlen(text));
		return;
	}
	if (u->got != NULL) {
		evbuffer_add(u->got, data, len);
		return;
	}
	if (memcmp(data, big + u->count, len) != 0)
		u->order_bad++;
	u->count += len;
	/* a pause every MiB, resumed a little later */
	if (before / (1024 * 1024) != u->count / (1024 * 1024)) {
		u->pauses++;
		http_body_pause(ex, 1);
		ex_later(ex, 5, resume);
	}
}

static int
head_hook(struct http_exchange *ex, void *arg)
{
	(void)arg;
	return strncmp(http_path(ex), "/upload", 7) == 0;
}

static void
upload_route(struct http_exchange *ex, const char *what)
{
	ck_assert(http_body_streamed(ex));
	http_body_stream(ex, on_piece, &UP);
	(void)what;
}

static void
client_upload_big(struct harness *h)
{
	struct client c;
	size_t off;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "POST /upload HTTP/1.1\r\nHost: t\r\n"
	        "Content-Length: 16777216\r\n\r\n");
	for (off = 0; off < BIG_LEN; off += 100000)
		cl_send_n(&c, big + off, BIG_LEN - off < 100000 ?
		          BIG_LEN - off : 100000);
	record(h, 0, &c, 0);
	cl_close(&c);
}

START_TEST(test_upload_big)
{
	struct http_limits l = limits_default();

	l.max_body_bytes = BIG_LEN;
	start(&l);
	http_server_set_head_hook(H.srv, head_hook);
	memset(&UP, 0, sizeof(UP));
	run(client_upload_big);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_str_eq(body_of(H.resp[0]), "16777216");
	ck_assert_uint_eq(UP.count, BIG_LEN);
	ck_assert_int_eq(UP.order_bad, 0);
	ck_assert_int_eq(UP.pauses, 16);
	ck_assert_int_eq(UP.ends, 1);
	ck_assert_int_eq(H.completes, 1);
	stop();
}
END_TEST

static void
client_upload_chunked(struct harness *h)
{
	struct client c;

	if (cl_connect(&c, h->port) == -1)
		return;
	/* a chunked body and a pipelined request behind it */
	cl_send(&c, "POST /upload/echo HTTP/1.1\r\nHost: t\r\n"
	        "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n"
	        "6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
	        "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	record(h, 0, &c, 0);
	record(h, 1, &c, 0);
	/* 100-continue comes when the handler asks for the body */
	cl_send(&c, "POST /upload/echo HTTP/1.1\r\nHost: t\r\n"
	        "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	record(h, 2, &c, 1);
	cl_send(&c, "abc");
	record(h, 3, &c, 0);
	cl_close(&c);
	/* over the limit */
	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "POST /upload/echo HTTP/1.1\r\nHost: t\r\n"
	        "Transfer-Encoding: chunked\r\n\r\n8000\r\n");
	cl_send_n(&c, big, 0x8000);
	cl_send(&c, "\r\n8001\r\n");
	record(h, 4, &c, 0);
	h->eof[4] = cl_eof(&c, 1000);
	cl_close(&c);
}

START_TEST(test_upload_chunked)
{
	struct http_limits l = limits_default();

	start(&l);
	http_server_set_head_hook(H.srv, head_hook);
	memset(&UP, 0, sizeof(UP));
	UP.got = evbuffer_new();
	run(client_upload_chunked);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_str_eq(body_of(H.resp[0]), "hello world");
	ck_assert_int_eq(H.status[1], 200);
	ck_assert_str_eq(body_of(H.resp[1]), "hello");
	ck_assert_msg(strncmp(H.resp[2], "HTTP/1.1 100 Continue\r\n", 23) == 0,
	              "%s", H.resp[2]);
	ck_assert_int_eq(H.status[3], 200);
	ck_assert_str_eq(body_of(H.resp[3]), "abc");
	/* 32768 + 32769 > 65536: the handler heard -1 and answered */
	ck_assert_int_eq(H.status[4], 413);
	ck_assert_int_eq(H.eof[4], 1);
	ck_assert_int_eq(UP.fails, 1);
	ck_assert_int_eq(UP.ends, 3);
	ck_assert_int_eq(H.completes, 4);
	ck_assert_uint_eq(http_server_in_flight(H.srv), 0);
	evbuffer_free(UP.got);
	stop();
}
END_TEST

static void
client_upload_slow(struct harness *h)
{
	struct client c;
	char b[2] = { 0, 0 };
	int i;

	if (cl_connect(&c, h->port) == -1)
		return;
	cl_send(&c, "POST /upload/echo HTTP/1.1\r\nHost: t\r\n"
	        "Content-Length: 10\r\n\r\n");
	for (i = 0; i < 10; i++) {
		usleep(100000);
		b[0] = (char)('0' + i);
		cl_send(&c, b);
	}
	record(h, 0, &c, 0);
	cl_close(&c);
}

START_TEST(test_upload_slow)
{
	struct http_limits l = limits_default();

	/* the upload takes 1 s, each byte within 100 ms of the last */
	l.request_timeout_ms = 300;
	start(&l);
	http_server_set_head_hook(H.srv, head_hook);
	memset(&UP, 0, sizeof(UP));
	UP.got = evbuffer_new();
	run(client_upload_slow);
	settle(50);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_str_eq(body_of(H.resp[0]), "0123456789");
	ck_assert_int_eq(H.hooked, 0);
	evbuffer_free(UP.got);
	stop();
}
END_TEST

/* --- a streamed response over TLS --- */

static char tls_dir[64];

/* A self-signed certificate and its key into tls_dir. */
static void
tls_make_cert(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	char path[128];
	FILE *f;

	ck_assert(k != NULL && x != NULL);
	ck_assert(X509_set_version(x, 2) == 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	ck_assert(X509_set_pubkey(x, k) == 1);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"t", -1, -1, 0);
	ck_assert(X509_set_issuer_name(x, name) == 1);
	ck_assert(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/crt", tls_dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert(PEM_write_X509(f, x) == 1);
	fclose(f);
	snprintf(path, sizeof(path), "%s/key", tls_dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Reads over ssl until buf holds a head and want body bytes of big[]
 * (checked as they come); the status, or -1. */
static int
tls_big_response(SSL *ssl, size_t want)
{
	static char buf[65536];
	size_t len = 0, head = 0, got = 0, n;
	char *end, *cl;
	int r, status = -1;

	while (head == 0) {
		if ((r = SSL_read(ssl, buf + len, (int)(sizeof(buf) - len))) <= 0)
			return -1;
		len += (size_t)r;
		if ((end = memmem(buf, len, "\r\n\r\n", 4)) != NULL)
			head = (size_t)(end - buf) + 4;
	}
	cl = memmem(buf, head, "\r\nContent-Length: ", 18);
	if (cl == NULL || strtoul(cl + 18, NULL, 10) != want ||
	    sscanf(buf, "HTTP/1.1 %d ", &status) != 1)
		return -1;
	memmove(buf, buf + head, len - head);
	len -= head;
	while (got < want) {
		if (len == 0) {
			if ((r = SSL_read(ssl, buf, sizeof(buf))) <= 0)
				return -1;
			len = (size_t)r;
		}
		n = len < want - got ? len : want - got;
		if (memcmp(buf, big + got, n) != 0)
			return -1;
		got += n;
		memmove(buf, buf + n, len - n);
		len -= n;
	}
	return status;
}

static void
client_stream_tls(struct harness *h)
{
	static const char req[] = "GET /stream/big HTTP/1.1\r\nHost: t\r\n\r\n";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct client c;
	SSL *ssl;

	if (ctx == NULL || cl_connect(&c, h->port) == -1)
		return;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, c.fd);
	if (SSL_connect(ssl) == 1 &&
	    SSL_write(ssl, req, sizeof(req) - 1) == (int)sizeof(req) - 1) {
		usleep(300000);
		h->status[0] = tls_big_response(ssl, BIG_LEN);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	cl_close(&c);
}

START_TEST(test_stream_tls)
{
	struct http_limits l = limits_default();
	struct ssl_ctx_st *ctx;
	char err[256], path[128];

	snprintf(tls_dir, sizeof(tls_dir), "/tmp/test_http_tls.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tls_dir));
	tls_make_cert();
	snprintf(path, sizeof(path), "%s/crt", tls_dir);
	snprintf(err, sizeof(err), "%s/key", tls_dir);
	ctx = tls_context_new(path, err, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	start(&l);
	http_server_set_tls(H.srv, ctx);
	tls_context_free(ctx);
	memset(&ST, 0, sizeof(ST));
	run(client_stream_tls);
	settle(50);
	unlink(path);
	snprintf(path, sizeof(path), "%s/key", tls_dir);
	unlink(path);
	rmdir(tls_dir);
	ck_assert_int_eq(H.status[0], 200);
	ck_assert_uint_eq(ST.off, BIG_LEN);
	ck_assert_int_eq(ST.tls, 1);
	/* drains came from the TLS write path */
	ck_assert_int_gt(ST.zeros, 2);
	ck_assert_uint_le(ST.max_queued, STREAM_HIGH + PIECE);
	ck_assert_int_eq(H.completes, 1);
	stop();
}
END_TEST

static Suite *
http_server_suite(void)
{
	Suite *s = suite_create("http_server");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_simple_get);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_pipelining);
	tcase_add_test(tc, test_input_while_handling);
	tcase_add_test(tc, test_bodies);
	tcase_add_test(tc, test_long_body);
	tcase_add_test(tc, test_431);
	tcase_add_test(tc, test_413);
	tcase_add_test(tc, test_408_and_idle);
	tcase_add_test(tc, test_idle_after_burst);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_path_decoding);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_set_limits);
	tcase_add_test(tc, test_drain);
	tcase_add_test(tc, test_async_respond);
	tcase_add_test(tc, test_disconnect_before_respond);
	tcase_add_test(tc, test_free_with_pending);
	tcase_add_test(tc, test_handler_timeout);
	tcase_add_test(tc, test_handler_timeout_gone);
	tcase_add_test(tc, test_free_after_timeout);
	tcase_add_test(tc, test_free_inside_handler);
	tcase_add_test(tc, test_big_responses);
	tcase_add_test(tc, test_file_responses);
	tcase_add_test(tc, test_file_cut_and_gone);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_write_timeout);
	tcase_add_test(tc, test_unix_socket);
	tcase_add_test(tc, test_problem_codes);
	suite_add_tcase(s, tc);
	tc = tcase_create("stream");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stream_big);
	tcase_add_test(tc, test_stream_tls);
	tcase_add_test(tc, test_stream_framing);
	tcase_add_test(tc, test_stream_client_gone);
	tcase_add_test(tc, test_stream_detach);
	tcase_add_test(tc, test_upload_big);
	tcase_add_test(tc, test_upload_chunked);
	tcase_add_test(tc, test_upload_slow);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(http_server_suite)
