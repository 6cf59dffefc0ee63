/*
 * testrt.c - a runtime process (SPEC §10) for asterd's tests, whose
 * behaviour its environment chooses (a manifest sets it in runtime.env).
 *
 * It serves HTTP/1.1 with keep-alive on the Unix socket
 * ASTER_RUNTIME_SOCKET (a socket file left there is removed first) with
 * libevent's evhttp. What a request gets, by its path and query:
 *
 *   any path      200 application/json: {"pid": N, "module":
 *                 ASTER_MODULE_ID, "method": "GET", "path": the path as
 *                 received (still percent-encoded), "query": the query
 *                 string or null, "headers": {name: value} (every
 *                 request header, names as received; a repeated header's
 *                 values joined with ", "), "bodyBytes": N}
 *   .../fds       {"pid", "fds": [{"fd": N, "target": readlink}] (the
 *                 descriptors open now, except the one listing
 *                 /proc/self/fd), "startFds": the same list taken first
 *                 thing in main() (what it inherited through exec: only
 *                 0, 1 and 2 when asterd is careful), "pgid": getpgid(0),
 *                 "ppid", "stdin": readlink of /proc/self/fd/0, "cwd",
 *                 "env": {every ASTER_*, TESTRT_* and NOTIFY_SOCKET},
 *                 "grandchild": its pid or null}
 *   .../state     a blocking call to the state API on ASTER_GATEWAY_SOCKET:
 *                 `PUT /gateway/v1/internal/state/NS/KEY` with body
 *                 {"pid": N}; query method=GET|PUT|DELETE (default PUT),
 *                 ns= (default testrt), key= (default ASTER_MODULE_ID);
 *                 path=P calls P on the gateway instead (any internal
 *                 route); pad=N adds N spaces to the PUT body (up to
 *                 1 MiB).
 *                 Answers 200 {"gatewayStatus": status (0: no answer),
 *                 "gatewayBody": the body as JSON, or as a string when
 *                 it is not JSON, "gatewayEtag": ETag or null,
 *                 "gatewayError": why there is no answer (status 0 only)}
 *   .../exit      200 {"pid", "exiting": CODE}, then exits with status
 *                 CODE (query code=, default 1) once the answer is
 *                 written out (or its connection is gone)
 *
 *   query delay_ms=N    answer N ms later (a timer; the loop keeps
 *                       serving meanwhile)
 *   query bytes=N       a body of N bytes 'x', text/plain, instead of
 *                       the JSON (N at most 256 MiB)
 *
 * Environment (numbers are decimal; a bad value: exit 2 at start):
 *
 *   TESTRT_READY=notify|connect|none   notify (default): listen, then
 *       READY=1 to NOTIFY_SOCKET (a leading '@' is an abstract name);
 *       connect: listen only (asterd's first connection means ready);
 *       none: never listen nor notify (a ready timeout).
 *   TESTRT_READY_DELAY_MS=N   wait N ms before listening.
 *   TESTRT_EXIT_AFTER_MS=N    N ms after becoming ready (after the start
 *       with none), exit with TESTRT_EXIT_CODE (default 1), or, with
 *       TESTRT_EXIT_SIGNAL=KILL|SEGV, die of that signal instead.
 *   TESTRT_IGNORE_TERM=1      SIGTERM is caught and ignored (it prints
 *       `testrt ignoring SIGTERM`). Otherwise SIGTERM (and SIGINT): stop
 *       accepting, answer the requests in flight (delayed ones too, with
 *       Connection: close), exit 0.
 *   TESTRT_PRINT=1            at start: `testrt stdout hello` on stdout,
 *       `testrt stderr hello` on stderr, then one line of 20000 'L' on
 *       stdout, all flushed.
 *   TESTRT_FLOOD=N            once ready, a thread writes N lines
 *       `flood line K` (K from 1) to stdout as fast as blocking writes
 *       go, while the loop keeps serving.
 *   TESTRT_GRANDCHILD=1       at start, fork a child that stays in the
 *       process group and sleeps 1000 s (SIGTERM kills it, whatever
 *       TESTRT_IGNORE_TERM says); prints `testrt grandchild pid=N`.
 *
 * On stdout: `testrt ready pid=N` once listening (both notify and
 * connect), `testrt stopping pid=N` on SIGTERM. Any error at start is
 * one line on stderr and exit 2 (bad environment) or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#define BYTES_MAX         (256L << 20)
#define IDLE_TIMEOUT_S    120   /* over asterd's 60 s for an idle pooled
                                   connection: asterd closes it first */
#define GATEWAY_TIMEOUT_S 5
#define GATEWAY_READ_MAX  (4L << 20)

extern char **environ;

static struct {
	const char *socket_path;
	const char *gateway_path;
	const char *module_id;
	enum { READY_NOTIFY, READY_CONNECT, READY_NONE } ready;
	long ready_delay_ms;
	long exit_after_ms;         /* -1: never */
	long exit_code;
	int exit_signal;            /* 0: exit with exit_code */
	int ignore_term;
	int print;
	long flood;
	int grandchild;
} cfg;

static struct event_base *base;
static struct evhttp *http;
static struct evhttp_bound_socket *bound;
static struct event *ready_timer, *exit_timer, *term_event, *int_event;
static json_object *start_fds;
static pid_t grandchild_pid;
static long in_flight;
static int stopping;

/*
 * One answer, sent now or when its timer fires. It counts as in flight
 * until it is written out (evhttp's on_complete), or its connection is
 * gone (the close callback; evhttp then frees the request without
 * on_complete): a stop waits for that, or the last bytes would be lost.
 */
struct reply {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;    /* once handed to evhttp */
	struct evbuffer *body;
	const char *content_type;
	struct event *timer;
	long exit_code;             /* -1: none; else exit once sent */
	int sending;                /* in the list below */
	TAILQ_ENTRY(reply) next;
};
static TAILQ_HEAD(reply_list, reply) sending =
	TAILQ_HEAD_INITIALIZER(sending);

/* --- small helpers ----------------------------------------------------- */

static void
die_start(int status, const char *fmt, const char *arg)
{
	fprintf(stderr, "testrt: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(status);
}

/* The environment variable name as a number in [min, max], or def when
 * it is unset or empty. */
static long
env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || v[0] == '\0')
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		die_start(2, "%s is not a number in range", name);
	return n;
}

static int
env_flag(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && strcmp(v, "1") == 0;
}

static void
read_config(void)
{
	const char *ready = getenv("TESTRT_READY");
	const char *sig = getenv("TESTRT_EXIT_SIGNAL");

	cfg.socket_path = getenv("ASTER_RUNTIME_SOCKET");
	cfg.gateway_path = getenv("ASTER_GATEWAY_SOCKET");
	cfg.module_id = getenv("ASTER_MODULE_ID");
	if (cfg.module_id == NULL)
		cfg.module_id = "";
	if (ready == NULL || ready[0] == '\0' || strcmp(ready, "notify") == 0)
		cfg.ready = READY_NOTIFY;
	else if (strcmp(ready, "connect") == 0)
		cfg.ready = READY_CONNECT;
	else if (strcmp(ready, "none") == 0)
		cfg.ready = READY_NONE;
	else
		die_start(2, "TESTRT_READY is notify, connect or none, not "
		          "'%s'", ready);
	if (cfg.ready != READY_NONE &&
	    (cfg.socket_path == NULL || cfg.socket_path[0] == '\0'))
		die_start(2, "%s is not set", "ASTER_RUNTIME_SOCKET");
	if (sig == NULL || sig[0] == '\0')
		cfg.exit_signal = 0;
	else if (strcmp(sig, "KILL") == 0)
		cfg.exit_signal = SIGKILL;
	else if (strcmp(sig, "SEGV") == 0)
		cfg.exit_signal = SIGSEGV;
	else
		die_start(2, "TESTRT_EXIT_SIGNAL is KILL or SEGV, not '%s'",
		          sig);
	cfg.ready_delay_ms = env_long("TESTRT_READY_DELAY_MS", 0, 0, LONG_MAX);
	cfg.exit_after_ms = env_long("TESTRT_EXIT_AFTER_MS", -1, 0, LONG_MAX);
	cfg.exit_code = env_long("TESTRT_EXIT_CODE", 1, 0, 255);
	cfg.flood = env_long("TESTRT_FLOOD", 0, 0, LONG_MAX);
	cfg.ignore_term = env_flag("TESTRT_IGNORE_TERM");
	cfg.print = env_flag("TESTRT_PRINT");
	cfg.grandchild = env_flag("TESTRT_GRANDCHILD");
}

static struct timeval
ms_to_tv(long ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
	                     .tv_usec = (ms % 1000) * 1000};

	return tv;
}

/* fd's target as readlink(2) reads it, or "" when it cannot. */
static json_object *
fd_target(const char *dir, const char *name)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	n = readlink(path, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	return json_object_new_string(target);
}

/* [{"fd": N, "target": "..."}] of /proc/self/fd, without the directory's
 * own descriptor. */
static json_object *
list_fds(void)
{
	json_object *list = json_object_new_array();
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL)
		return list;
	while ((e = readdir(d)) != NULL) {
		json_object *o;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "fd", json_object_new_int(fd));
		json_object_object_add(o, "target",
		                       fd_target("/proc/self/fd", e->d_name));
		json_object_array_add(list, o);
	}
	closedir(d);
	return list;
}

/* --- answering --------------------------------------------------------- */

static void
maybe_finish_stop(void)
{
	if (stopping && in_flight == 0)
		event_base_loopexit(base, NULL);
}

/* r is written out, or will never be: no longer in flight. */
static void
reply_done(struct reply *r)
{
	long code = r->exit_code;

	if (r->sending)
		TAILQ_REMOVE(&sending, r, next);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->body != NULL)
		evbuffer_free(r->body);
	free(r);
	in_flight--;
	if (code >= 0) {
		fflush(stdout);
		exit((int)code);
	}
	maybe_finish_stop();
}

static void
on_reply_written(struct evhttp_request *req, void *arg)
{
	(void)req;
	reply_done(arg);
}

static void
on_connection_closed(struct evhttp_connection *evcon, void *arg)
{
	struct reply *r, *next;

	(void)arg;
	for (r = TAILQ_FIRST(&sending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, next);
		if (r->evcon == evcon)
			reply_done(r);
	}
}

static void
reply_send(struct reply *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	struct evbuffer *body = r->body;

	evhttp_add_header(h, "Content-Type", r->content_type);
	if (stopping)
		evhttp_add_header(h, "Connection", "close");
	r->body = NULL;
	if (evcon == NULL) {
		/* The client left while the answer waited: evhttp frees
		 * the request it let go of. */
		evhttp_send_reply(r->req, 200, "OK", body);
		evbuffer_free(body);
		reply_done(r);
		return;
	}
	r->evcon = evcon;
	r->sending = 1;
	TAILQ_INSERT_TAIL(&sending, r, next);
	evhttp_request_set_on_complete_cb(r->req, on_reply_written, r);
	evhttp_connection_set_closecb(evcon, on_connection_closed, NULL);
	/* r may be done, and freed, by the time this returns. */
	evhttp_send_reply(r->req, 200, "OK", body);
	evbuffer_free(body);
}

static void
on_delay_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reply_send(arg);
}

static void
body_json(struct reply *r, json_object *o)
{
	evbuffer_add_printf(r->body, "%s\n", json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	r->content_type = "application/json";
}

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "?";
}

static json_object *
request_headers(struct evhttp_request *req)
{
	json_object *o = json_object_new_object();
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
		json_object *old;
		char *joined;

		if (!json_object_object_get_ex(o, kv->key, &old)) {
			json_object_object_add(o, kv->key,
			                       json_object_new_string(kv->value));
			continue;
		}
		if (asprintf(&joined, "%s, %s", json_object_get_string(old),
		             kv->value) < 0)
			continue;
		json_object_object_add(o, kv->key,
		                       json_object_new_string(joined));
		free(joined);
	}
	return o;
}

static json_object *
echo_json(struct evhttp_request *req, const char *path, const char *query)
{
	json_object *o = json_object_new_object();
	size_t body = evbuffer_get_length(evhttp_request_get_input_buffer(req));

	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "module",
	                       json_object_new_string(cfg.module_id));
	json_object_object_add(o, "method", json_object_new_string(
	    method_name(evhttp_request_get_command(req))));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "query", query != NULL ?
	                       json_object_new_string(query) : NULL);
	json_object_object_add(o, "headers", request_headers(req));
	json_object_object_add(o, "bodyBytes",
	                       json_object_new_int64((int64_t)body));
	return o;
}

static json_object *
env_json(void)
{
	json_object *o = json_object_new_object();
	char **e;

	for (e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		char name[256];
		size_t n;

		if (eq == NULL || (n = (size_t)(eq - *e)) >= sizeof(name))
			continue;
		if (strncmp(*e, "ASTER_", 6) != 0 &&
		    strncmp(*e, "TESTRT_", 7) != 0 &&
		    !(n == 13 && strncmp(*e, "NOTIFY_SOCKET", 13) == 0))
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		json_object_object_add(o, name, json_object_new_string(eq + 1));
	}
	return o;
}

static json_object *
fds_json(void)
{
	json_object *o = json_object_new_object();
	char cwd[PATH_MAX];

	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "fds", list_fds());
	json_object_object_add(o, "startFds", json_object_get(start_fds));
	json_object_object_add(o, "pgid", json_object_new_int(getpgid(0)));
	json_object_object_add(o, "ppid", json_object_new_int(getppid()));
	json_object_object_add(o, "stdin", fd_target("/proc/self/fd", "0"));
	json_object_object_add(o, "cwd", json_object_new_string(
	    getcwd(cwd, sizeof(cwd)) != NULL ? cwd : ""));
	json_object_object_add(o, "env", env_json());
	json_object_object_add(o, "grandchild", grandchild_pid > 0 ?
	                       json_object_new_int(grandchild_pid) : NULL);
	return o;
}

/* --- the state API, blocking ------------------------------------------- */

struct gateway_answer {
	int status;                 /* 0: none */
	char etag[128];
	struct evbuffer *body;
	const char *error;
};

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until EOF (the request said Connection: close) into in. */
static int
read_all(int fd, struct evbuffer *in)
{
	char chunk[16384];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (evbuffer_get_length(in) + (size_t)n > GATEWAY_READ_MAX)
			return -1;
		evbuffer_add(in, chunk, (size_t)n);
	}
}

/* A chunked body, in, decoded into out. */
static int
dechunk(struct evbuffer *in, struct evbuffer *out)
{
	for (;;) {
		char *line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF);
		unsigned long size;
		char *end;

		if (line == NULL)
			return -1;
		size = strtoul(line, &end, 16);
		if (end == line) {
			free(line);
			return -1;
		}
		free(line);
		if (size == 0)
			return 0;
		if (evbuffer_get_length(in) < size + 2 ||
		    evbuffer_remove_buffer(in, out, size) != (int)size)
			return -1;
		evbuffer_drain(in, 2);
	}
}

/* Status line, headers (ETag, Transfer-Encoding) and body of in. */
static int
parse_answer(struct evbuffer *in, struct gateway_answer *a)
{
	char *line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF);
	int chunked = 0;

	if (line == NULL || sscanf(line, "HTTP/1.%*d %d", &a->status) != 1) {
		free(line);
		return -1;
	}
	free(line);
	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) != NULL &&
	       line[0] != '\0') {
		char *colon = strchr(line, ':');
		char *v = colon != NULL ? colon + 1 : NULL;

		if (v != NULL) {
			*colon = '\0';
			v += strspn(v, " \t");
			if (strcasecmp(line, "ETag") == 0)
				snprintf(a->etag, sizeof(a->etag), "%s", v);
			else if (strcasecmp(line, "Transfer-Encoding") == 0 &&
			         strcasecmp(v, "chunked") == 0)
				chunked = 1;
		}
		free(line);
	}
	if (line == NULL)
		return -1;
	free(line);
	if (chunked)
		return dechunk(in, a->body);
	evbuffer_add_buffer(a->body, in);
	return 0;
}

static int
gateway_connect(struct gateway_answer *a)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = GATEWAY_TIMEOUT_S};
	int fd;

	if (cfg.gateway_path == NULL ||
	    strlen(cfg.gateway_path) >= sizeof(sa.sun_path)) {
		a->error = "ASTER_GATEWAY_SOCKET is not set, or too long";
		return -1;
	}
	memcpy(sa.sun_path, cfg.gateway_path, strlen(cfg.gateway_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		a->error = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* One request to the gateway socket, blocking the loop (at most
 * GATEWAY_TIMEOUT_S per read or write): fine in a test runtime. */
static void
gateway_call(const char *method, const char *path, const char *body,
             struct gateway_answer *a)
{
	struct evbuffer *in = evbuffer_new();
	char *head = NULL;
	int fd, n;

	if ((fd = gateway_connect(a)) < 0)
		goto out;
	n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: gateway\r\n"
	             "Connection: close\r\nContent-Type: application/json\r\n"
	             "Content-Length: %zu\r\n\r\n", method, path,
	             body != NULL ? strlen(body) : 0);
	if (n < 0 || write_all(fd, head, (size_t)n) < 0 ||
	    (body != NULL && write_all(fd, body, strlen(body)) < 0) ||
	    read_all(fd, in) < 0) {
		a->error = errno != 0 ? strerror(errno) : "write or read failed";
		goto out;
	}
	if (parse_answer(in, a) < 0) {
		a->status = 0;
		a->error = "not an HTTP/1.1 answer";
	}
out:
	if (fd >= 0)
		close(fd);
	free(head);
	evbuffer_free(in);
}

static const char *
query_or(struct evkeyvalq *q, const char *name, const char *def)
{
	const char *v = evhttp_find_header(q, name);

	return v != NULL ? v : def;
}

static json_object *
state_json(struct evkeyvalq *q)
{
	const char *method = query_or(q, "method", "PUT");
	char *ns = evhttp_uriencode(query_or(q, "ns", "testrt"), -1, 0);
	char *key = evhttp_uriencode(query_or(q, "key", cfg.module_id), -1, 0);
	struct gateway_answer a = {.body = evbuffer_new()};
	json_object *o = json_object_new_object(), *parsed;
	char path[4096], *put_body;
	long pad = strtol(query_or(q, "pad", "0"), NULL, 10);
	size_t len;
	char *text;

	if (query_or(q, "path", NULL) != NULL)
		snprintf(path, sizeof(path), "%s", query_or(q, "path", NULL));
	else
		snprintf(path, sizeof(path), "/gateway/v1/internal/state/%s/%s",
		         ns != NULL ? ns : "", key != NULL ? key : "");
	if (pad < 0 || pad > (1L << 20))
		pad = 0;
	if (asprintf(&put_body, "{\"pid\": %ld, \"pad\": \"%*s\"}",
	             (long)getpid(), (int)pad, "") < 0)
		put_body = NULL;
	gateway_call(method, path,
	             strcmp(method, "PUT") == 0 ? put_body : NULL, &a);
	len = evbuffer_get_length(a.body);
	text = len > 0 ? strndup((const char *)evbuffer_pullup(a.body, -1), len) :
	       strdup("");
	parsed = text != NULL && len > 0 ? json_tokener_parse(text) : NULL;
	json_object_object_add(o, "gatewayStatus",
	                       json_object_new_int(a.status));
	json_object_object_add(o, "gatewayBody", parsed != NULL ? parsed :
	                       json_object_new_string(text != NULL ? text : ""));
	json_object_object_add(o, "gatewayEtag", a.etag[0] != '\0' ?
	                       json_object_new_string(a.etag) : NULL);
	if (a.status == 0)
		json_object_object_add(o, "gatewayError", json_object_new_string(
		    a.error != NULL ? a.error : "no answer"));
	free(text);
	free(ns);
	free(key);
	free(put_body);
	evbuffer_free(a.body);
	return o;
}

/* --- requests ---------------------------------------------------------- */

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void
body_bytes(struct reply *r, long n)
{
	static char xs[16384];

	if (xs[0] != 'x')
		memset(xs, 'x', sizeof(xs));
	while (n > 0) {
		size_t piece = n < (long)sizeof(xs) ? (size_t)n : sizeof(xs);

		evbuffer_add(r->body, xs, piece);
		n -= (long)piece;
	}
	r->content_type = "text/plain";
}

/* The query parameter as a number in [0, max], or def when absent, or -1
 * when it is not one. */
static long
query_long(struct evkeyvalq *q, const char *name, long def, long max)
{
	const char *v = evhttp_find_header(q, name);
	char *end;
	long n;

	if (v == NULL)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno != 0 || *end != '\0' || end == v || n < 0 || n > max ?
	       -1 : n;
}

static void
bad_request(struct evhttp_request *req, const char *why)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "text/plain");
	evbuffer_add_printf(b, "testrt: %s\n", why);
	evhttp_send_reply(req, 400, "Bad Request", b);
	evbuffer_free(b);
}

/* Fills r's body for the request's path and query. */
static void
build_answer(struct reply *r, const char *path, const char *query,
             struct evkeyvalq *q, long bytes)
{
	json_object *o;

	if (ends_with(path, "/fds")) {
		body_json(r, fds_json());
	} else if (ends_with(path, "/state")) {
		body_json(r, state_json(q));
	} else if (ends_with(path, "/exit")) {
		o = json_object_new_object();
		json_object_object_add(o, "pid", json_object_new_int(getpid()));
		json_object_object_add(o, "exiting",
		                       json_object_new_int((int)r->exit_code));
		body_json(r, o);
	} else if (bytes >= 0) {
		body_bytes(r, bytes);
	} else {
		body_json(r, echo_json(r->req, path, query));
	}
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	struct evkeyvalq q;
	long delay, bytes, code;
	struct timeval tv;
	struct reply *r;

	(void)arg;
	if (path == NULL || path[0] == '\0')
		path = "/";
	/* A query that is not NAME=VALUE pairs sets no parameter (the echo
	 * still shows it). */
	if (evhttp_parse_query_str(query != NULL ? query : "", &q) < 0)
		evhttp_clear_headers(&q);
	delay = query_long(&q, "delay_ms", 0, LONG_MAX / 1000);
	bytes = query_long(&q, "bytes", -2, BYTES_MAX);
	code = query_long(&q, "code", 1, 255);
	if (delay < 0 || bytes == -1 || code < 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		evhttp_clear_headers(&q);
		bad_request(req, "delay_ms, bytes or code is not a number in "
		            "range");
		return;
	}
	in_flight++;
	r->req = req;
	r->body = evbuffer_new();
	r->exit_code = ends_with(path, "/exit") ? code : -1;
	build_answer(r, path, query, &q, bytes < 0 ? -1 : bytes);
	evhttp_clear_headers(&q);
	if (delay == 0) {
		reply_send(r);
		return;
	}
	tv = ms_to_tv(delay);
	r->timer = evtimer_new(base, on_delay_over, r);
	if (r->timer == NULL || evtimer_add(r->timer, &tv) < 0)
		reply_send(r);
}

/* --- start, readiness, exit -------------------------------------------- */

static void
remove_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die_start(1, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	remove_stale_socket(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1024) < 0)
		die_start(1, "cannot listen on %s", path);
	return fd;
}

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
	if (len >= sizeof(sa.sun_path))
		die_start(1, "NOTIFY_SOCKET too long: %s", addr);
	memcpy(sa.sun_path, addr, len);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		fprintf(stderr, "testrt: READY=1 to %s: %s\n", addr,
		        strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void *
flood(void *arg)
{
	long i, n = (long)(intptr_t)arg;

	for (i = 1; i <= n; i++)
		printf("flood line %ld\n", i);
	fflush(stdout);
	return NULL;
}

static void
start_flood(void)
{
	pthread_t t;

	if (cfg.flood == 0)
		return;
	if (pthread_create(&t, NULL, flood, (void *)(intptr_t)cfg.flood) != 0)
		die_start(1, "%s", "cannot start the flood thread");
	pthread_detach(t);
}

static void
on_exit_time(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fflush(stdout);
	if (cfg.exit_signal != 0) {
		/* No core file in the runtime's directory. */
		struct rlimit no_core = {0, 0};

		setrlimit(RLIMIT_CORE, &no_core);
		signal(cfg.exit_signal, SIG_DFL);
		raise(cfg.exit_signal);
	}
	exit((int)cfg.exit_code);
}

static void
arm_exit_after(void)
{
	struct timeval tv;

	if (cfg.exit_after_ms < 0)
		return;
	tv = ms_to_tv(cfg.exit_after_ms);
	exit_timer = evtimer_new(base, on_exit_time, NULL);
	if (exit_timer == NULL || evtimer_add(exit_timer, &tv) < 0)
		die_start(1, "%s", "cannot arm the exit timer");
}

static void
become_ready(evutil_socket_t fd, short what, void *arg)
{
	int lfd;

	(void)fd;
	(void)what;
	(void)arg;
	lfd = listen_unix(cfg.socket_path);
	bound = evhttp_accept_socket_with_handle(http, lfd);
	if (bound == NULL)
		die_start(1, "%s", "evhttp does not take the socket");
	if (cfg.ready == READY_NOTIFY)
		notify_ready();
	printf("testrt ready pid=%ld\n", (long)getpid());
	fflush(stdout);
	arm_exit_after();
	start_flood();
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGTERM && cfg.ignore_term) {
		printf("testrt ignoring SIGTERM\n");
		fflush(stdout);
		return;
	}
	if (stopping)
		return;
	stopping = 1;
	printf("testrt stopping pid=%ld\n", (long)getpid());
	fflush(stdout);
	if (bound != NULL) {
		evhttp_del_accept_socket(http, bound);   /* closes it */
		bound = NULL;
	}
	maybe_finish_stop();
}

static void
print_at_start(void)
{
	static char line[20001];

	printf("testrt stdout hello\n");
	fflush(stdout);
	fprintf(stderr, "testrt stderr hello\n");
	fflush(stderr);
	memset(line, 'L', sizeof(line) - 1);
	printf("%s\n", line);
	fflush(stdout);
}

static void
fork_grandchild(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die_start(1, "fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		sleep(1000);
		_exit(0);
	}
	grandchild_pid = pid;
	printf("testrt grandchild pid=%ld\n", (long)pid);
	fflush(stdout);
}

static void
watch_signals(void)
{
	term_event = evsignal_new(base, SIGTERM, on_term, NULL);
	int_event = evsignal_new(base, SIGINT, on_term, NULL);
	if (term_event == NULL || int_event == NULL ||
	    evsignal_add(term_event, NULL) < 0 ||
	    evsignal_add(int_event, NULL) < 0)
		die_start(1, "%s", "cannot watch SIGTERM");
}

int
main(void)
{
	struct timeval delay;

	start_fds = list_fds();     /* before anything of ours is open */
	read_config();
	signal(SIGPIPE, SIG_IGN);
	if (cfg.print)
		print_at_start();
	if (cfg.grandchild)
		fork_grandchild();
	base = event_base_new();
	http = base != NULL ? evhttp_new(base) : NULL;
	if (http == NULL)
		die_start(1, "%s", "out of memory");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	                           EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	                           EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	                           EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, on_request, NULL);
	evhttp_set_timeout(http, IDLE_TIMEOUT_S);
	watch_signals();
	if (cfg.ready == READY_NONE) {
		arm_exit_after();
	} else {
		delay = ms_to_tv(cfg.ready_delay_ms);
		ready_timer = evtimer_new(base, become_ready, NULL);
		if (ready_timer == NULL || evtimer_add(ready_timer, &delay) < 0)
			die_start(1, "%s", "cannot arm the ready timer");
	}
	event_base_dispatch(base);
	/* Everything freed, for the sanitizers' and valgrind's leak checks
	 * (the other exits leave it reachable from these globals). */
	evhttp_free(http);
	if (ready_timer != NULL)
		event_free(ready_timer);
	if (exit_timer != NULL)
		event_free(exit_timer);
	event_free(term_event);
	event_free(int_event);
	event_base_free(base);
	json_object_put(start_fds);
	return 0;
}
