/*
 * control.c - the control socket: one JSON request per line, one JSON
 * line back (SPEC §12).
 *
 * Everything runs on the runtime's event loop, so a request sees the
 * runtime between two events and needs no locking. Connections are
 * bufferevents; three bounds keep a client from costing the daemon much:
 * a request line is at most CONTROL_MAX_LINE bytes (the read watermark
 * stops reading just past it), answers a client does not read stop its
 * requests from being read, and an idle connection is closed.
 *
 * Only the socket's owner and root can connect (mode 0600); SO_PEERCRED
 * checks the same again, in case the directory was made reachable to
 * others by hand.
 */
#include "control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http/upstream.h"
#include "log.h"
#include "runtime/runtime.h"

#define CONTROL_BACKLOG 64
#define CONTROL_IDLE_SECONDS 60
/* Unread answers above this pause reading the client's requests. */
#define CONTROL_MAX_PENDING (4u * 1024 * 1024)

struct control_conn {
	TAILQ_ENTRY(control_conn) entry;
	struct control *ctl;
	struct bufferevent *bev;
	int eof;            /* the client sends nothing more */
	int closing;        /* no more requests: close once written */
	int paused;         /* reading stopped until the answers drain */
	struct control_pending *pending;    /* an answer still to come */
};

/* An answer a command gives later; outlives its connection if the client
 * leaves first (then the answer is dropped). */
struct control_pending {
	struct control_conn *cc;
};

struct control {
	struct runtime *rt;
	char *path;
	struct evconnlistener *listener;
	struct event *retry;        /* resumes accepting after EMFILE */
	dev_t dev;                  /* the socket file we created */
	ino_t ino;
	TAILQ_HEAD(, control_conn) conns;
	size_t nconns;
};

/* --- errors for control_open ------------------------------------------- */

static void
set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* --- answers ----------------------------------------------------------- */

json_object *
control_error(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(
	    msg != NULL ? msg : "out of memory"));
	free(msg);
	return o;
}

json_object *
control_ok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static json_object *
json_str(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static json_object *
json_scopes(unsigned bits)
{
	static const struct {
		unsigned bit;
		const char *name;
	} scopes[] = {
		{SCOPE_PUBLIC, "public"},
		{SCOPE_USER, "user"},
		{SCOPE_ADMIN, "admin"},
		{SCOPE_INTERNAL, "internal"},
	};
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (bits & scopes[i].bit)
			json_object_array_add(a,
			    json_object_new_string(scopes[i].name));
	return a;
}

static json_object *
json_listeners(const struct runtime *rt)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < rt->nlisteners; i++) {
		const struct listener_run *l = &rt->listeners[i];
		json_object *o;
		const char *addr;

		if (l->decl == NULL)
			continue;   /* a slot closed by a reload */
		/* What was bound says where to connect (port 0 resolved);
		 * the text as written is the fallback. */
		if ((addr = l->bound) == NULL && (addr = l->normal) == NULL)
			addr = l->decl->address;
		o = json_object_new_object();
		json_object_object_add(o, "address", json_str(addr));
		json_object_object_add(o, "scopes", json_scopes(l->scopes));
		json_object_object_add(o, "tls",
		                       json_object_new_boolean(l->tls != NULL));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *
json_last_reload(const struct reload_result *r)
{
	json_object *o = json_object_new_object();
	char at[32];
	struct tm tm;

	if (r->at != 0 && gmtime_r(&r->at, &tm) != NULL &&
	    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		json_object_object_add(o, "at", json_object_new_string(at));
	else
		json_object_object_add(o, "at", NULL);
	/* Before any reload there is nothing that failed. */
	json_object_object_add(o, "ok", json_object_new_boolean(
	    r->at == 0 || r->ok));
	json_object_object_add(o, "message", json_str(r->message));
	return o;
}

static json_object *
cmd_status(struct runtime *rt)
{
	const struct generation *g = rt->current;
	const struct config *cfg = g != NULL ? g->cfg : NULL;
	json_object *o = control_ok();
	json_object *prod = NULL;
	double up = runtime_uptime(rt);

	json_object_object_add(o, "state", json_object_new_string(
	    runtime_state_name(rt->state)));
	json_object_object_add(o, "generation", json_object_new_int64(
	    g != NULL ? g->number : 0));
	json_object_object_add(o, "uptime",
	                       json_object_new_int64(up > 0 ? (int64_t)up : 0));
	if (cfg != NULL && cfg->product != NULL) {
		prod = json_object_new_object();
		json_object_object_add(prod, "id", json_str(cfg->product->id));
		json_object_object_add(prod, "version",
		                       json_str(cfg->product->version));
	}
	json_object_object_add(o, "product", prod);
	json_object_object_add(o, "modules", json_object_new_int64(
	    g != NULL ? (int64_t)g->nruns : 0));
	json_object_object_add(o, "routes", json_object_new_int64(
	    cfg != NULL ? (int64_t)cfg->nroutes : 0));
	json_object_object_add(o, "runtimes", control_runtime_counts(rt));
	json_object_object_add(o, "listeners", json_listeners(rt));
	json_object_object_add(o, "lastReload",
	                       json_last_reload(&rt->last_reload));
	return o;
}

static json_object *
json_upstream_targets(const struct upstream *u)
{
	struct upstream_target_view v;
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; upstream_target_at(u, i, &v); i++) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "url", json_str(v.url));
		json_object_object_add(t, "state", json_str(v.state));
		json_object_object_add(t, "inFlight",
		                       json_object_new_int64((int64_t)v.in_flight));
		json_object_object_add(t, "idle",
		                       json_object_new_int64((int64_t)v.idle));
		json_object_object_add(t, "ejections",
		                       json_object_new_int64(v.ejections));
		json_object_object_add(t, "backInMs",
		                       json_object_new_int64((int64_t)v.back_in_ms));
		json_object_array_add(a, t);
	}
	return a;
}

static json_object *
json_upstream(const struct upstream *u)
{
	json_object *o = json_object_new_object();
	json_object *att = json_object_new_object();
	json_object *conns = json_object_new_object();
	struct upstream_counts c;
	int k;

	upstream_get_counts(u, &c);
	json_object_object_add(o, "name", json_str(upstream_label(u)));
	json_object_object_add(o, "balance", json_str(upstream_balance(u)));
	json_object_object_add(o, "targets", json_upstream_targets(u));
	for (k = 0; k < UPSTREAM_OUTCOMES; k++)
		json_object_object_add(att, upstream_outcome_name(k),
		                       json_object_new_int64((int64_t)c.attempts[k]));
	json_object_object_add(o, "attempts", att);
	json_object_object_add(conns, "opened", json_object_new_int64(
	    (int64_t)c.connections_opened));
	json_object_object_add(conns, "reused", json_object_new_int64(
	    (int64_t)c.connections_reused));
	json_object_object_add(o, "connections", conns);
	return o;
}

/* The upstreams of the current configuration: targets and counters. */
static json_object *
cmd_upstreams(struct runtime *rt)
{
	const struct generation *g = rt->current;
	json_object *o = control_ok();
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; g != NULL && i < g->nupstreams; i++)
		json_object_array_add(a, json_upstream(g->upstream_list[i]));
	json_object_object_add(o, "upstreams", a);
	return o;
}

static json_object *
cmd_modules(struct runtime *rt)
{
	const struct generation *g = rt->current;
	json_object *o = control_ok();
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; g != NULL && i < g->nruns; i++) {
		const struct module_run *run = &g->runs[i];
		const struct module *m = run->module;
		json_object *mo = json_object_new_object();

		json_object_object_add(mo, "id", json_str(m->id));
		json_object_object_add(mo, "displayName",
		                       json_str(m->display_name));
		json_object_object_add(mo, "version", json_str(m->version));
		json_object_object_add(mo, "state", json_object_new_string(
		    module_state_name(run->state)));
		json_object_object_add(mo, "wave",
		                       json_object_new_int(m->wave));
		if (run->cause != NULL)
			json_object_object_add(mo, "cause",
			                       json_str(run->cause));
		json_object_array_add(a, mo);
	}
	json_object_object_add(o, "modules", a);
	return o;
}

static json_object *
json_route(const struct module *m, const struct route *r)
{
	json_object *o = json_object_new_object();
	json_object *methods = json_object_new_array();
	size_t i;

	for (i = 0; i < r->methods.n; i++)
		json_object_array_add(methods,
		                      json_object_new_string(r->methods.v[i]));
	json_object_object_add(o, "id", json_str(r->id));
	json_object_object_add(o, "module", json_str(m->id));
	json_object_object_add(o, "scope", json_str(r->scope_name));
	json_object_object_add(o, "methods", methods);
	json_object_object_add(o, "mountPath", json_str(r->mount_path));
	json_object_object_add(o, "match", json_object_new_string(
	    r->prefix ? "prefix" : "exact"));
	return o;
}

/* The routes of the current generation, module by module in plan
 * order, each module's in manifest order. */
static json_object *
cmd_routes(struct runtime *rt)
{
	const struct generation *g = rt->current;
	json_object *o = control_ok();
	json_object *a = json_object_new_array();
	size_t i, j;

	for (i = 0; g != NULL && i < g->nruns; i++) {
		const struct module *m = g->runs[i].module;

		for (j = 0; j < m->routes.n; j++)
			json_object_array_add(a, json_route(m,
			                      m->routes.v[j]));
	}
	json_object_object_add(o, "routes", a);
	return o;
}

static json_object *
cmd_plan(struct runtime *rt)
{
	const struct generation *g = rt->current;
	const struct config *cfg = g != NULL ? g->cfg : NULL;
	json_object *o = control_ok();
	json_object *waves = json_object_new_array();
	size_t w, i;

	for (w = 0; cfg != NULL && w < cfg->nwaves; w++) {
		json_object *wave = json_object_new_array();

		for (i = 0; i < cfg->wave_sizes[w]; i++)
			json_object_array_add(wave, json_object_new_string(
			    cfg->waves[w][i]->id));
		json_object_array_add(waves, wave);
	}
	json_object_object_add(o, "generation", json_object_new_int64(
	    g != NULL ? g->number : 0));
	json_object_object_add(o, "waves", waves);
	return o;
}

/*
 * The runtime's report is the answer, with "ok" from its return value
 * (which is what counts) and, when refused, the "error" every refusal
 * carries, taken from the report's message. Takes report.
 */
static json_object *
reload_answer(int rc, char *report)
{
	json_object *o, *msg;

	o = report != NULL ? json_tokener_parse(report) : NULL;
	free(report);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return rc == 0 ? control_error("reload gave no report") :
		                 control_error("reload failed");
	}
	json_object_object_add(o, "ok", json_object_new_boolean(rc == 0));
	if (rc != 0 && !json_object_object_get_ex(o, "error", NULL)) {
		if (json_object_object_get_ex(o, "message", &msg) &&
		    json_object_is_type(msg, json_type_string))
			json_object_object_add(o, "error",
			                       json_object_get(msg));
		else
			json_object_object_add(o, "error",
			    json_object_new_string("the new configuration "
			                           "is invalid"));
	}
	return o;
}

/* A reload that waited for host names answers here. */
static void
on_reload_done(void *arg, int rc, char *report)
{
	control_answer_later(arg, reload_answer(rc, report));
}

/* The answer, or NULL when it comes later through p (then p is the
 * runtime's to answer; else it stays the caller's). */
static json_object *
cmd_reload(struct runtime *rt, json_object *req, struct control_pending *p)
{
	json_object *v;
	char *report = NULL;
	int dry_run = 0, rc;

	if (json_object_object_get_ex(req, "dryRun", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return control_error("\"dryRun\" must be true or "
			                    "false");
		dry_run = json_object_get_boolean(v);
	}
	rc = runtime_reload(rt, dry_run, on_reload_done, p, &report);
	if (rc == RUNTIME_RELOAD_LATER)
		return NULL;
	return reload_answer(rc, report);
}

/* Parses one request line and runs it. NULL when the answer comes
 * later, through control_answer_later(*pending). */
static json_object *
control_dispatch(struct control *c, const char *line, size_t len,
                 struct control_pending **pending)
{
	struct json_tokener *tok;
	json_object *req, *cmd, *ans;
	enum json_tokener_error jerr;
	const char *name;
	size_t end;

	if ((tok = json_tokener_new()) == NULL)
		return control_error("out of memory");
	/* The terminating NUL goes in too: it ends a bare number, which
	 * json-c would otherwise wait to see continue. */
	req = json_tokener_parse_ex(tok, line, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (end > len)
		end = len;
	json_tokener_free(tok);
	if (jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	/* One value per line: "{...} {...}" or "{...} x" is not a request. */
	if (jerr == json_tokener_success &&
	    strspn(line + end, " \t\r") != len - end)
		jerr = json_tokener_error_parse_unexpected;
	if (jerr != json_tokener_success) {
		json_object_put(req);
		return control_error("request is not JSON: %s",
		                    json_tokener_error_desc(jerr));
	}
	if (!json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return control_error("request must be a JSON object");
	}
	if (!json_object_object_get_ex(req, "command", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		json_object_put(req);
		return control_error("request needs \"command\", a string");
	}
	name = json_object_get_string(cmd);
	if (strcmp(name, "status") == 0)
		ans = cmd_status(c->rt);
	else if (strcmp(name, "modules") == 0)
		ans = cmd_modules(c->rt);
	else if (strcmp(name, "routes") == 0)
		ans = cmd_routes(c->rt);
	else if (strcmp(name, "upstreams") == 0)
		ans = cmd_upstreams(c->rt);
	else if (strcmp(name, "plan") == 0)
		ans = cmd_plan(c->rt);
	else if (strcmp(name, "runtimes") == 0)
		ans = control_runtimes(c->rt);
	else if (strcmp(name, "restart") == 0)
		ans = control_restart(c->rt, req);
	else if (strcmp(name, "reload") == 0 &&
	         (*pending = calloc(1, sizeof(**pending))) == NULL)
		ans = control_error("out of memory");
	else if (strcmp(name, "reload") == 0 &&
	         (ans = cmd_reload(c->rt, req, *pending)) != NULL) {
		free(*pending);
		*pending = NULL;
	} else if (strcmp(name, "reload") == 0)
		ans = NULL;
	else if (strcmp(name, "keys") == 0 &&
	         (*pending = calloc(1, sizeof(**pending))) == NULL)
		ans = control_error("out of memory");
	else if (strcmp(name, "keys") == 0 &&
	         (ans = control_keys(c->rt, req, *pending)) != NULL) {
		free(*pending);
		*pending = NULL;
	} else if (strcmp(name, "keys") == 0)
		ans = NULL;
	else
		ans = control_error("unknown command '%s'", name);
	json_object_put(req);
	return ans;
}

/* --- connections ------------------------------------------------------- */

static void
conn_free(struct control_conn *cc)
{
	struct control *c = cc->ctl;

	TAILQ_REMOVE(&c->conns, cc, entry);
	c->nconns--;
	if (cc->pending != NULL)
		cc->pending->cc = NULL;
	bufferevent_free(cc->bev);
	free(cc);
}

static void
conn_send(struct control_conn *cc, json_object *ans)
{
	struct evbuffer *out = bufferevent_get_output(cc->bev);
	size_t len;
	const char *text = json_object_to_json_string_length(ans,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	/* Plain JSON never holds a raw newline: one answer, one line. */
	evbuffer_add(out, text, len);
	evbuffer_add(out, "\n", 1);
	json_object_put(ans);
}

/* The one error a connection cannot recover from: there is no telling
 * where the next request would start. */
static void
conn_too_long(struct control_conn *cc)
{
	conn_send(cc, control_error("request line longer than %u bytes",
	                           (unsigned)CONTROL_MAX_LINE));
	cc->closing = 1;
	bufferevent_disable(cc->bev, EV_READ);
}

static void
conn_answer(struct control_conn *cc, const char *line, size_t len)
{
	if (len > CONTROL_MAX_LINE) {
		conn_too_long(cc);
		return;
	}
	struct control_pending *pending = NULL;
	json_object *ans;

	/* Blank lines are what a person at socat(1) types by accident. */
	if (strspn(line, " \t\r") == len)
		return;
	ans = control_dispatch(cc->ctl, line, len, &pending);
	if (ans != NULL) {
		conn_send(cc, ans);
		return;
	}
	/* Answers keep the order of requests: read nothing more until
	 * this one is given. */
	pending->cc = cc;
	cc->pending = pending;
	bufferevent_disable(cc->bev, EV_READ);
}

static void conn_serve(struct control_conn *cc);

void
control_answer_later(struct control_pending *p, json_object *ans)
{
	struct control_conn *cc = p->cc;

	free(p);
	if (cc == NULL) {
		json_object_put(ans);
		return;
	}
	cc->pending = NULL;
	conn_send(cc, ans);
	if (!cc->paused)
		bufferevent_enable(cc->bev, EV_READ);
	conn_serve(cc);
}

/*
 * Answers every complete request buffered, unless the client is not
 * reading its answers; at end of input also the last, unterminated
 * line. Frees cc when it is done: callers return right after.
 */
static void
conn_serve(struct control_conn *cc)
{
	struct evbuffer *in = bufferevent_get_input(cc->bev);
	struct evbuffer *out = bufferevent_get_output(cc->bev);
	size_t len;
	char *line;

	while (!cc->closing) {
		if (cc->pending != NULL)
			return;
		if (evbuffer_get_length(out) > CONTROL_MAX_PENDING) {
			cc->paused = 1;
			bufferevent_disable(cc->bev, EV_READ);
			return;
		}
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL)
			break;
		conn_answer(cc, line, len);
		free(line);
	}
	if (cc->pending != NULL)
		return;
	if (!cc->closing && evbuffer_get_length(in) > CONTROL_MAX_LINE + 1)
		conn_too_long(cc);
	if (!cc->closing && cc->eof) {
		len = evbuffer_get_length(in);
		if (len > 0) {
			line = malloc(len + 1);
			if (line != NULL) {
				evbuffer_remove(in, line, len);
				line[len] = '\0';
				conn_answer(cc, line, len);
				free(line);
			}
		}
		cc->closing = 1;
	}
	if (cc->closing && evbuffer_get_length(out) == 0)
		conn_free(cc);
}

static void
on_conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_serve(arg);
}

/* Called when the output buffer has drained completely. */
static void
on_conn_write(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;

	if (cc->paused) {
		cc->paused = 0;
		bufferevent_enable(bev, EV_READ);
	}
	conn_serve(cc);
}

static void
on_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn *cc = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		cc->eof = 1;
		conn_serve(cc);
		return;
	}
	/* An error, or idle past CONTROL_IDLE_SECONDS: nobody to answer. */
	conn_free(cc);
}

static int
peer_allowed(evutil_socket_t fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.uid == 0 || cred.uid == geteuid();
}

/* Refuses a connection with one error line, never waiting for it to be
 * read. */
static void
refuse(evutil_socket_t fd, const char *why)
{
	json_object *ans = control_error("%s", why);
	size_t len;
	const char *text = json_object_to_json_string_length(ans,
	    JSON_C_TO_STRING_PLAIN, &len);

	(void)send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	json_object_put(ans);
	evutil_closesocket(fd);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
	struct control *c = arg;
	struct timeval idle = {CONTROL_IDLE_SECONDS, 0};
	struct control_conn *cc;

	(void)sa;
	(void)salen;
	if (!peer_allowed(fd)) {
		refuse(fd, "permission denied");
		return;
	}
	if (c->nconns >= CONTROL_MAX_CONNS) {
		refuse(fd, "too many control connections");
		return;
	}
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	cc->ctl = c;
	cc->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	                                 BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		evutil_closesocket(fd);
		free(cc);
		return;
	}
	TAILQ_INSERT_TAIL(&c->conns, cc, entry);
	c->nconns++;
	bufferevent_setcb(cc->bev, on_conn_read, on_conn_write, on_conn_event,
	                  cc);
	/* Just room for the longest request and its "\r\n": reading stops
	 * there, and conn_serve() tells a full line from an overlong one. */
	bufferevent_setwatermark(cc->bev, EV_READ, 0, CONTROL_MAX_LINE + 2);
	bufferevent_set_timeouts(cc->bev, &idle, &idle);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(c->listener);
}

/*
 * accept(2) failed for a reason other than a vanished client, typically
 * out of descriptors. The socket stays readable, so retrying at once
 * would spin the loop: pause for a second instead.
 */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct control *c = arg;
	struct timeval tv = {1, 0};
	int e = EVUTIL_SOCKET_ERROR();

	log_msg(LOG_WARN, "control socket %s: accept: %s", c->path,
	        evutil_socket_error_to_string(e));
	evconnlistener_disable(l);
	event_add(c->retry, &tv);
}

/*
 * Answers already given (a reload refused because asterd stops) get what
 * the socket takes now, without waiting, before the connection goes. The
 * bufferevent keeps its output's start frozen; it is freed next anyway.
 */
static void
conn_flush_now(struct control_conn *cc)
{
	struct evbuffer *out = bufferevent_get_output(cc->bev);

	if (evbuffer_get_length(out) == 0)
		return;
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, bufferevent_getfd(cc->bev));
}

/* --- the socket file --------------------------------------------------- */

/* mkdir -p for the directory part of path; new directories get 0700. */
static int
make_parent(const char *path, char **err)
{
	struct stat st;
	char *dir, *p;
	char saved;
	int rc = -1;

	if ((dir = strdup(path)) == NULL) {
		set_err(err, "out of memory");
		return -1;
	}
	p = strrchr(dir, '/');
	if (p == NULL || p == dir) {
		free(dir);
		return 0;
	}
	*p = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (stat(dir, &st) < 0 && mkdir(dir, 0700) < 0 &&
		    errno != EEXIST) {
			set_err(err, "cannot create %s: %s", dir,
			        strerror(errno));
			goto done;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		set_err(err, "%s is not a directory", dir);
		goto done;
	}
	rc = 0;
done:
	free(dir);
	return rc;
}

static socklen_t
unix_address(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, path, len + 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/*
 * Clears the way for a new socket at path: nothing there is fine; a
 * socket nobody answers on was left by a process that died, and goes; a
 * socket that answers belongs to a running daemon, and anything else is
 * not ours to remove.
 */
static int
claim_path(const char *path, const struct sockaddr_un *sa, socklen_t salen,
           char **err)
{
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		set_err(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		set_err(err, "%s exists and is not a socket", path);
		return -1;
	}
	/* Non-blocking, so that a live daemon with a full backlog answers
	 * EAGAIN at once instead of holding the start-up. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	                 0)) < 0) {
		set_err(err, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, salen);
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN) {
		set_err(err, "another process answers on %s (is asterd "
		        "already running?)", path);
		return -1;
	}
	if (e != ECONNREFUSED) {
		set_err(err, "cannot tell whether %s is in use: %s", path,
		        strerror(e));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		set_err(err, "cannot remove stale %s: %s", path,
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* Creates, binds (mode 0600) and listens; returns the socket or -1. */
static int
bind_socket(const char *path, char **err)
{
	struct sockaddr_un sa;
	socklen_t salen;
	mode_t old;
	int fd, rc, e;

	if ((salen = unix_address(path, &sa)) == 0) {
		set_err(err, "control socket path %s is empty or longer than "
		        "%zu bytes", path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (make_parent(path, err) < 0 || claim_path(path, &sa, salen, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(err, "socket: %s", strerror(errno));
		return -1;
	}
	/* bind(2) creates the file under the umask: 0177 leaves 0600, so
	 * there is no moment where others could connect. The umask is
	 * per process; asterd binds before it starts any thread. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, salen);
	e = errno;
	umask(old);
	if (rc < 0) {
		set_err(err, "bind %s: %s", path, strerror(e));
		close(fd);
		return -1;
	}
	if (chmod(path, 0600) < 0 || listen(fd, CONTROL_BACKLOG) < 0) {
		set_err(err, "%s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

struct control *
control_open(struct runtime *rt, const char *path, char **err)
{
	struct control *c;
	struct stat st;
	int fd;

	if (err != NULL)
		*err = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		free(c);
		set_err(err, "out of memory");
		return NULL;
	}
	c->rt = rt;
	TAILQ_INIT(&c->conns);
	if ((fd = bind_socket(path, err)) < 0) {
		free(c->path);
		free(c);
		return NULL;
	}
	if (stat(path, &st) == 0) {
		c->dev = st.st_dev;
		c->ino = st.st_ino;
	}
	c->retry = evtimer_new(rt->base, on_retry, c);
	c->listener = evconnlistener_new(rt->base, on_accept, c,
	                                 LEV_OPT_CLOSE_ON_FREE |
	                                 LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (c->retry == NULL || c->listener == NULL) {
		set_err(err, "out of memory");
		if (c->listener == NULL)
			close(fd);
		control_close(c);
		return NULL;
	}
	evconnlistener_set_error_cb(c->listener, on_accept_error);
	return c;
}

void
control_close(struct control *c)
{
	struct control_conn *cc;
	struct stat st;

	if (c == NULL)
		return;
	while ((cc = TAILQ_FIRST(&c->conns)) != NULL) {
		conn_flush_now(cc);
		conn_free(cc);
	}
	if (c->listener != NULL)
		evconnlistener_free(c->listener);
	if (c->retry != NULL)
		event_free(c->retry);
	/* A newer asterd may already have taken the path over: only the
	 * file we created is ours to remove. */
	if (stat(c->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c->path);
	free(c);
}

static void *
companion_open(struct runtime *rt, const struct config *cfg)
{
	const struct server *s = cfg->product->server;
	struct control *c;
	char *err = NULL;

	if (s == NULL || s->control == NULL)
		return NULL;
	c = control_open(rt, s->control, &err);
	if (c == NULL) {
		log_msg(LOG_WARN, "no control socket at %s: %s", s->control,
		        err != NULL ? err : "unknown error");
		free(err);
	}
	return c;
}

static void
companion_close(void *state)
{
	control_close(state);
}

const struct runtime_companion control_companion = {
	companion_open, companion_close,
};
