/*
 * test_router.c - the route table (SPEC §7.1, §7.4): literal before param,
 * exact before prefix, the longest prefix, backtracking out of a literal
 * branch, HEAD with GET, OPTIONS, 405 and its Allow set, scopes that hide
 * routes (404, not 405), parameters and the rest of prefix routes, and
 * scale: 10,000 siblings on one level, 50,000 routes.
 *
 * Small tables are written as manifests and validated by graph_validate,
 * as the runtime gets them; the large ones are built as structs, since
 * only the router is under test there. A match is compared as one line of
 * text, "200 ROUTE name=value ... rest=REST [ALLOW]", "405 [ALLOW]" or
 * "404", so a failure shows the whole answer.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/manifest.h"
#include "diag.h"
#include "graph/graph.h"
#include "http/router.h"
#include "provider/registry.h"
#include "util/arena.h"

#define PUB SCOPE_PUBLIC
#define USR SCOPE_USER
#define ADM SCOPE_ADMIN
#define INT SCOPE_INTERNAL
#define ALL (SCOPE_PUBLIC | SCOPE_USER | SCOPE_ADMIN | SCOPE_INTERNAL)

static struct provider_registry *reg;
static struct arena *ta;
static struct config *cfg;
static struct diag_list dl;
static const char *routes_yaml;
static struct router *router;

static void
setup(void)
{
	reg = registry_new(unit_test_modules_dir());
	ck_assert_ptr_nonnull(reg);
	ta = arena_new();
	ck_assert_ptr_nonnull(ta);
	cfg = config_new("conf.d");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(diag_list_init(&dl), 0);
	routes_yaml = "routes:\n";
	router = NULL;
}

static void
teardown(void)
{
	diag_list_release(&dl);
	config_free(cfg);
	arena_free(ta);
	registry_free(reg);
}

/* A route of module m; methods as "GET, POST". */
static void
route(const char *id, const char *scope, const char *methods,
      const char *path, const char *match)
{
	routes_yaml = arena_printf(ta, "%s"
	    "  - id: %s\n"
	    "    scope: %s\n"
	    "    methods: [%s]\n"
	    "    mountPath: %s\n"
	    "    match: %s\n"
	    "    handler: { respond: { status: 200 } }\n",
	    routes_yaml, id, scope, methods, path, match);
}

static void
add(const char *rel, const char *text)
{
	config_add_text(cfg, &dl, rel, text, strlen(text));
}

/* Validates the product with the routes so far and builds the router. */
static void
build(void)
{
	size_t errors;

	add("product.yaml",
	    "kind: product\nid: t\nname: T\nversion: 1.0.0\n"
	    "server:\n  listen:\n"
	    "    - address: 127.0.0.1:8080\n"
	    "    - address: 127.0.0.1:8081\n"
	    "      scopes: [internal]\n");
	add("modules/auth.yaml", "kind: module\nid: auth\ndisplayName: A\n"
	    "version: 1.0.0\nprovides: [auth]\n");
	add("modules/m.yaml", arena_printf(ta, "kind: module\nid: m\n"
	    "displayName: M\nversion: 1.0.0\n%s", routes_yaml));
	config_index_modules(cfg);
	errors = graph_validate(cfg, reg, &dl);
	ck_assert_msg(errors == 0, "%zu errors, first: %s", errors,
	              dl.n ? dl.items[0]->message : "?");
	router = router_build(ta, cfg);
	ck_assert_ptr_nonnull(router);
}

static const char *
allow_text(unsigned bits)
{
	char buf[80];

	return arena_strdup(ta, router_allow_text(bits, buf, sizeof(buf)));
}

static const char *
describe(int status, const struct route_match *m)
{
	const char *s;
	size_t i;

	if (status == 404)
		return "404";
	if (status == 405) {
		ck_assert_ptr_null(m->route);
		return arena_printf(ta, "405 [%s]", allow_text(m->allowed));
	}
	ck_assert_int_eq(status, 200);
	ck_assert_ptr_nonnull(m->route);
	s = arena_printf(ta, "200 %s", m->route->id);
	for (i = 0; i < m->nparams; i++)
		s = arena_printf(ta, "%s %s=%s", s, m->params[i].name,
		                 m->params[i].value);
	return arena_printf(ta, "%s rest=%s [%s]", s, m->rest,
	                    allow_text(m->allowed));
}

/* The match of method and path on a listener of scopes, as text. */
static const char *
match_on(const struct router *r, unsigned scopes, const char *method,
         const char *path)
{
	struct route_match m;
	char *buf = arena_alloc(ta, strlen(path) + 1);

	return describe(router_match(r, scopes, method, path, buf, &m), &m);
}

static const char *
match(const char *method, const char *path)
{
	return match_on(router, ALL, method, path);
}

/* --- methods ------------------------------------------------------------ */

START_TEST(test_method_bits)
{
	char buf[64];

	ck_assert_uint_eq(router_method_bit("GET"), METHOD_GET);
	ck_assert_uint_eq(router_method_bit("HEAD"), METHOD_HEAD);
	ck_assert_uint_eq(router_method_bit("POST"), METHOD_POST);
	ck_assert_uint_eq(router_method_bit("PUT"), METHOD_PUT);
	ck_assert_uint_eq(router_method_bit("PATCH"), METHOD_PATCH);
	ck_assert_uint_eq(router_method_bit("DELETE"), METHOD_DELETE);
	ck_assert_uint_eq(router_method_bit("OPTIONS"), METHOD_OPTIONS);
	ck_assert_uint_eq(router_method_bit("get"), 0);
	ck_assert_uint_eq(router_method_bit("TRACE"), 0);
	ck_assert_uint_eq(router_method_bit(""), 0);
	ck_assert_uint_eq(router_method_bit(NULL), 0);
	ck_assert_str_eq(router_allow_text(0x7f, buf, sizeof(buf)),
	                 "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	ck_assert_str_eq(router_allow_text(METHOD_OPTIONS | METHOD_DELETE |
	                 METHOD_GET, buf, sizeof(buf)),
	                 "GET, DELETE, OPTIONS");
	ck_assert_str_eq(router_allow_text(0, buf, sizeof(buf)), "");
	/* Truncation keeps whole names and a terminated string. */
	ck_assert_str_eq(router_allow_text(0x7f, buf, 12), "GET, HEAD");
	ck_assert_str_eq(router_allow_text(0x7f, buf, 1), "");
}
END_TEST

/* --- the rules of §7.1 ------------------------------------------------- */

START_TEST(test_literal_beats_param)
{
	route("param", "public", "GET", "/a/{x}", "exact");
	route("literal", "public", "GET", "/a/b", "exact");
	build();
	ck_assert_str_eq(match("GET", "/a/b"),
	                 "200 literal rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/c"),
	                 "200 param x=c rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/bb"),
	                 "200 param x=bb rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a"), "404");
	ck_assert_str_eq(match("GET", "/a/b/c"), "404");
	ck_assert_uint_eq(router_count(router), 2);
}
END_TEST

START_TEST(test_exact_beats_prefix)
{
	route("prefix", "public", "GET", "/a", "prefix");
	route("exact", "public", "GET", "/a", "exact");
	build();
	ck_assert_str_eq(match("GET", "/a"),
	                 "200 exact rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/x"),
	                 "200 prefix rest=/x [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/x/y"),
	                 "200 prefix rest=/x/y [GET, HEAD, OPTIONS]");
	/* Trailing slash: not the exact route, the prefix one. */
	ck_assert_str_eq(match("GET", "/a/"),
	                 "200 prefix rest=/ [GET, HEAD, OPTIONS]");
	/* Segments, not characters. */
	ck_assert_str_eq(match("GET", "/ab"), "404");
}
END_TEST

START_TEST(test_longest_prefix)
{
	route("a", "public", "GET", "/a", "prefix");
	route("ab", "public", "GET", "/a/b", "prefix");
	route("abcd", "public", "GET", "/a/b/c/d", "prefix");
	build();
	ck_assert_str_eq(match("GET", "/a"),
	                 "200 a rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/b"),
	                 "200 ab rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/b/c"),
	                 "200 ab rest=/c [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/b/c/d/e"),
	                 "200 abcd rest=/e [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/bc"),
	                 "200 a rest=/bc [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/c/b"),
	                 "200 a rest=/c/b [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/b"), "404");
}
END_TEST

/* A literal branch that dead-ends gives way to a param branch. */
START_TEST(test_backtracking)
{
	route("abc", "public", "GET", "/a/b/c", "exact");
	route("axd", "public", "GET", "/a/{x}/d", "exact");
	route("axyz", "public", "GET", "/a/{x}/{y}/z", "exact");
	route("abqz", "public", "GET", "/a/b/{q}/w", "exact");
	build();
	ck_assert_str_eq(match("GET", "/a/b/c"),
	                 "200 abc rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/b/d"),
	                 "200 axd x=b rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/k/d"),
	                 "200 axd x=k rest= [GET, HEAD, OPTIONS]");
	/* Through the literal b, then param q, dead end; param x wins. */
	ck_assert_str_eq(match("GET", "/a/b/c/z"),
	                 "200 axyz x=b y=c rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/b/c/w"),
	                 "200 abqz q=c rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/b/c/v"), "404");
}
END_TEST

/* A prefix on the literal branch is still preferred to a param branch. */
START_TEST(test_literal_prefix_before_param)
{
	route("pre", "public", "GET", "/a/b", "prefix");
	route("param", "public", "GET", "/a/{x}/c", "exact");
	build();
	ck_assert_str_eq(match("GET", "/a/b/c"),
	                 "200 pre rest=/c [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a/z/c"),
	                 "200 param x=z rest= [GET, HEAD, OPTIONS]");
}
END_TEST

START_TEST(test_params)
{
	route("inst", "public", "GET, DELETE",
	      "/s/{spaceId}/i/{installation-id}", "exact");
	route("files", "public", "GET", "/f/{bucket}/{key}", "prefix");
	build();
	ck_assert_str_eq(match("DELETE", "/s/sp1/i/in-2"),
	                 "200 inst spaceId=sp1 installation-id=in-2 rest= "
	                 "[GET, HEAD, DELETE, OPTIONS]");
	/* The rest follows the last param in the same buffer. */
	ck_assert_str_eq(match("GET", "/f/b/k/x/y.txt"),
	                 "200 files bucket=b key=k rest=/x/y.txt "
	                 "[GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/f/b/k"),
	                 "200 files bucket=b key=k rest= "
	                 "[GET, HEAD, OPTIONS]");
	/* A param is a whole, non-empty segment. */
	ck_assert_str_eq(match("GET", "/s//i/x"), "404");
	ck_assert_str_eq(match("GET", "/s/a/i/"), "404");
	ck_assert_str_eq(match("GET", "/f/b"), "404");
}
END_TEST

/* params point into the caller's buffer, which is a copy of the path. */
START_TEST(test_params_in_buffer)
{
	struct route_match m;
	char path[] = "/f/b/k/rest";
	char buf[sizeof(path)];

	route("files", "public", "GET", "/f/{bucket}/{key}", "prefix");
	build();
	ck_assert_int_eq(router_match(router, PUB, "GET", path, buf, &m), 200);
	ck_assert_uint_eq(m.nparams, 2);
	ck_assert(m.params[0].value >= buf &&
	          m.params[0].value < buf + sizeof(buf));
	ck_assert(m.params[1].value >= buf &&
	          m.params[1].value < buf + sizeof(buf));
	ck_assert(m.rest >= buf && m.rest < buf + sizeof(buf));
	memset(path, 'x', sizeof(path) - 1);
	ck_assert_str_eq(m.params[0].value, "b");
	ck_assert_str_eq(m.params[1].value, "k");
	ck_assert_str_eq(m.rest, "/rest");
}
END_TEST

START_TEST(test_root)
{
	route("root", "public", "GET", "/", "exact");
	route("all", "public", "GET", "/", "prefix");
	route("x", "public", "POST", "/x", "exact");
	build();
	ck_assert_str_eq(match("GET", "/"),
	                 "200 root rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/y/z"),
	                 "200 all rest=/y/z [GET, HEAD, OPTIONS]");
	/* /x serves POST; GET falls through to the catch-all. */
	ck_assert_str_eq(match("GET", "/x"),
	                 "200 all rest=/x [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("POST", "/x"),
	                 "200 x rest= [POST, OPTIONS]");
	ck_assert_str_eq(match("DELETE", "/x"),
	                 "405 [GET, HEAD, POST, OPTIONS]");
	ck_assert_str_eq(match("GET", ""), "404");
	ck_assert_str_eq(match("GET", "x"), "404");
}
END_TEST

/*
 * Paths come raw (http_path_raw) and each segment is decoded once before
 * it is compared; mount literals are decoded once too. So a literal
 * matches its encoded spellings, and a decoded segment is compared whole.
 */
START_TEST(test_percent_encoded_mount)
{
	route("space", "public", "GET", "/a%20b/c", "exact");
	route("health", "public", "GET", "/gateway/v1/health", "exact");
	build();
	ck_assert_str_eq(match("GET", "/a%20b/c"),
	                 "200 space rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a b/c"),
	                 "200 space rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/a%2520b/c"), "404");
	ck_assert_str_eq(match("GET", "/gateway/v1/%68ealth"),
	                 "200 health rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/%67ateway/%76%31/%68%65%61%6C%74%68"),
	                 "200 health rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/%67ateway/%76%31/%68%65%61%6c%74%68"),
	                 "200 health rest= [GET, HEAD, OPTIONS]");
	/* Decoded once: "%2568" is the segment "%68ealth", not "health". */
	ck_assert_str_eq(match("GET", "/gateway/v1/%2568ealth"), "404");
	ck_assert_str_eq(match("GET", "/gateway/v1/health%2F"), "404");
}
END_TEST

/* SPEC §7.1: "%2F" stays inside its segment, never a separator. */
START_TEST(test_encoded_slash_in_segment)
{
	route("doc", "public", "GET, PUT", "/state/{ns}/{key}", "exact");
	route("ab", "public", "GET", "/x/a/b", "exact");
	route("one", "public", "GET", "/y/{id}", "exact");
	route("pre", "public", "GET", "/files", "prefix");
	build();
	ck_assert_str_eq(match("GET", "/state/n/a%2Fb"),
	                 "200 doc ns=n key=a/b rest= [GET, HEAD, PUT, OPTIONS]");
	ck_assert_str_eq(match("PUT", "/state/n/a%2fb"),
	                 "200 doc ns=n key=a/b rest= [GET, HEAD, PUT, OPTIONS]");
	ck_assert_str_eq(match("GET", "/state/n/%2F%2Fa%2F%2F"),
	                 "200 doc ns=n key=//a// rest= "
	                 "[GET, HEAD, PUT, OPTIONS]");
	ck_assert_str_eq(match("GET", "/state/n%2Fm/k"),
	                 "200 doc ns=n/m key=k rest= [GET, HEAD, PUT, OPTIONS]");
	/* The key with a literal '%', and with "%2F" as text. */
	ck_assert_str_eq(match("GET", "/state/n/100%25"),
	                 "200 doc ns=n key=100% rest= [GET, HEAD, PUT, OPTIONS]");
	ck_assert_str_eq(match("GET", "/state/n/a%252Fb"),
	                 "200 doc ns=n key=a%2Fb rest= "
	                 "[GET, HEAD, PUT, OPTIONS]");
	/* Three segments are not the two the route has. */
	ck_assert_str_eq(match("GET", "/state/n/a/b"), "404");
	/* A decoded segment holding '/' never equals a literal. */
	ck_assert_str_eq(match("GET", "/x/a%2Fb"), "404");
	ck_assert_str_eq(match("GET", "/x%2Fa/b"), "404");
	ck_assert_str_eq(match("GET", "/x/a/b"),
	                 "200 ab rest= [GET, HEAD, OPTIONS]");
	/* A param takes it whole. */
	ck_assert_str_eq(match("GET", "/y/a%2Fb"),
	                 "200 one id=a/b rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/y/a/b"), "404");
	/* The rest of a prefix route is raw: its segments stay apart. */
	ck_assert_str_eq(match("GET", "/files/x%2Fy/z%20w"),
	                 "200 pre rest=/x%2Fy/z%20w [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("GET", "/files%2Fx"), "404");
}
END_TEST

/* Decoded params and the raw rest fit in strlen(path) + 1 bytes, each
 * param NUL-terminated in its own room (malloc'ed: ASan sees overruns). */
START_TEST(test_encoded_params_in_buffer)
{
	static const char *const paths[] = {
		"/f/%62/k%2Fx/rest%2F",
		"/f/b/k",
		"/f/%62%62/%6B",
		"/f/bb/kk/",
	};
	static const char *const want[] = {
		"200 files bucket=b key=k/x rest=/rest%2F [GET, HEAD, OPTIONS]",
		"200 files bucket=b key=k rest= [GET, HEAD, OPTIONS]",
		"200 files bucket=bb key=k rest= [GET, HEAD, OPTIONS]",
		"200 files bucket=bb key=kk rest=/ [GET, HEAD, OPTIONS]",
	};
	struct route_match m;
	size_t i;

	route("files", "public", "GET", "/f/{bucket}/{key}", "prefix");
	build();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *path = strdup(paths[i]);
		char *buf = malloc(strlen(path) + 1);
		int status;

		ck_assert(path != NULL && buf != NULL);
		status = router_match(router, PUB, "GET", path, buf, &m);
		memset(path, 'x', strlen(path));
		free(path);
		ck_assert_str_eq(describe(status, &m), want[i]);
		free(buf);
	}
}
END_TEST

/* --- methods: HEAD, OPTIONS, 405 ---------------------------------------- */

START_TEST(test_head_and_options)
{
	route("get", "public", "GET", "/a", "exact");
	route("head", "public", "HEAD", "/b", "exact");
	route("bget", "public", "GET, POST", "/b", "exact");
	route("opt", "public", "OPTIONS", "/c", "exact");
	route("cget", "public", "GET", "/c", "exact");
	build();
	/* HEAD with GET, unless a route declares HEAD. */
	ck_assert_str_eq(match("HEAD", "/a"),
	                 "200 get rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("HEAD", "/b"),
	                 "200 head rest= [GET, HEAD, POST, OPTIONS]");
	ck_assert_str_eq(match("GET", "/b"),
	                 "200 bget rest= [GET, HEAD, POST, OPTIONS]");
	/* OPTIONS: for the runtime to answer, unless declared. */
	ck_assert_str_eq(match("OPTIONS", "/a"), "405 [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("OPTIONS", "/b"),
	                 "405 [GET, HEAD, POST, OPTIONS]");
	ck_assert_str_eq(match("OPTIONS", "/c"),
	                 "200 opt rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("OPTIONS", "/nothing"), "404");
}
END_TEST

START_TEST(test_method_not_allowed)
{
	route("list", "public", "GET, POST", "/spaces", "exact");
	route("one", "public", "GET, PATCH, DELETE", "/spaces/{id}",
	      "exact");
	build();
	ck_assert_str_eq(match("PUT", "/spaces"),
	                 "405 [GET, HEAD, POST, OPTIONS]");
	ck_assert_str_eq(match("POST", "/spaces/1"),
	                 "405 [GET, HEAD, PATCH, DELETE, OPTIONS]");
	ck_assert_str_eq(match("BREW", "/spaces/1"),
	                 "405 [GET, HEAD, PATCH, DELETE, OPTIONS]");
	ck_assert_str_eq(match("GET", "/spaces/1/x"), "404");
}
END_TEST

/* A candidate without the method lets a less specific one serve it; the
 * 405 then names every candidate's methods. */
START_TEST(test_fall_through)
{
	route("new", "public", "GET", "/a/new", "exact");
	route("id", "public", "PATCH", "/a/{id}", "exact");
	route("pre", "public", "PUT", "/a", "prefix");
	build();
	ck_assert_str_eq(match("GET", "/a/new"),
	                 "200 new rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match("PATCH", "/a/new"),
	                 "200 id id=new rest= [PATCH, OPTIONS]");
	ck_assert_str_eq(match("PUT", "/a/new"),
	                 "200 pre rest=/new [PUT, OPTIONS]");
	ck_assert_str_eq(match("POST", "/a/new"),
	                 "405 [GET, HEAD, PUT, PATCH, OPTIONS]");
	ck_assert_str_eq(match("POST", "/a/old"), "405 [PUT, PATCH, OPTIONS]");
}
END_TEST

/* --- scopes -------------------------------------------------------------- */

START_TEST(test_scopes)
{
	route("pub", "public", "GET", "/gateway/v1/things", "exact");
	route("usr", "user", "POST", "/gateway/v1/things", "exact");
	route("adm", "admin", "GET", "/gateway/v1/admin/things", "exact");
	route("int", "internal", "GET, PUT",
	      "/gateway/v1/internal/state/{ns}/{key}", "exact");
	route("intpre", "internal", "GET", "/gateway/v1/internal", "prefix");
	build();
	/* Only public: POST is someone else's, so 405 without POST. */
	ck_assert_str_eq(match_on(router, PUB, "GET", "/gateway/v1/things"),
	                 "200 pub rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(router, PUB, "POST", "/gateway/v1/things"),
	                 "405 [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(router, USR, "GET", "/gateway/v1/things"),
	                 "405 [POST, OPTIONS]");
	ck_assert_str_eq(match_on(router, PUB | USR, "POST",
	                          "/gateway/v1/things"),
	                 "200 usr rest= [GET, HEAD, POST, OPTIONS]");
	/* Routes of other scopes do not exist there: 404, not 405. */
	ck_assert_str_eq(match_on(router, PUB | USR, "GET",
	                          "/gateway/v1/admin/things"), "404");
	ck_assert_str_eq(match_on(router, PUB | USR, "DELETE",
	                          "/gateway/v1/admin/things"), "404");
	ck_assert_str_eq(match_on(router, ADM, "GET",
	                          "/gateway/v1/admin/things"),
	                 "200 adm rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(router, PUB | USR | ADM, "GET",
	                          "/gateway/v1/internal/state/a/b"), "404");
	ck_assert_str_eq(match_on(router, PUB | USR | ADM, "OPTIONS",
	                          "/gateway/v1/internal/x"), "404");
	ck_assert_str_eq(match_on(router, INT, "PUT",
	                          "/gateway/v1/internal/state/a/b"),
	                 "200 int ns=a key=b rest= "
	                 "[GET, HEAD, PUT, OPTIONS]");
	ck_assert_str_eq(match_on(router, INT, "GET",
	                          "/gateway/v1/internal/metrics"),
	                 "200 intpre rest=/metrics [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(router, INT, "GET", "/gateway/v1/things"),
	                 "404");
	ck_assert_str_eq(match_on(router, 0, "GET", "/gateway/v1/things"),
	                 "404");
}
END_TEST

/* A hidden literal branch is not entered: the visible param one serves. */
START_TEST(test_scopes_backtrack)
{
	route("usr", "user", "GET", "/x/me", "exact");
	route("pub", "public", "GET", "/x/{id}", "exact");
	build();
	ck_assert_str_eq(match_on(router, PUB, "GET", "/x/me"),
	                 "200 pub id=me rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(router, USR, "GET", "/x/me"),
	                 "200 usr rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(router, USR, "GET", "/x/you"), "404");
}
END_TEST

/* --- scale ---------------------------------------------------------------- */

/* A router over n routes "/m<i>/r3" (GET, public) of one module, built
 * as structs. */
static struct router *
siblings(size_t n)
{
	struct config *c = arena_alloc(ta, sizeof(*c));
	struct module *m = arena_alloc(ta, sizeof(*m));
	static const char *get[] = {"GET"};
	size_t i;

	m->id = "m";
	m->routes.n = n;
	m->routes.v = arena_alloc(ta, n * sizeof(void *));
	for (i = 0; i < n; i++) {
		struct route *r = arena_alloc(ta, sizeof(*r));

		r->id = arena_printf(ta, "r%zu", i);
		r->scope_name = "public";
		r->scope = SCOPE_PUBLIC;
		r->methods.n = 1;
		r->methods.v = get;
		r->mount_path = arena_printf(ta, "/m%zu/r3", i);
		r->shape = r->mount_path;
		r->module = m;
		m->routes.v[i] = r;
	}
	c->members = arena_alloc(ta, sizeof(*c->members));
	c->members[0] = m;
	c->nmembers = 1;
	c->nroutes = n;
	return router_build(ta, c);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds per lookup over paths "/m<i>/r3", i < n, best of three. */
static double
lookup_cost(const struct router *r, size_t n, size_t lookups)
{
	char path[64], buf[64];
	struct route_match m;
	double best = 1e9;
	int round;
	size_t i;

	for (round = 0; round < 3; round++) {
		double t0 = now_s(), t;

		for (i = 0; i < lookups; i++) {
			snprintf(path, sizeof(path), "/m%zu/r3",
			         (i * 7919) % n);
			if (router_match(r, PUB, "GET", path, buf, &m) != 200)
				ck_abort_msg("no match for %s", path);
		}
		t = (now_s() - t0) / (double)lookups;
		if (t < best)
			best = t;
	}
	return best;
}

START_TEST(test_ten_thousand_siblings)
{
	struct router *big = siblings(10000), *small = siblings(10);
	double cbig, csmall;
	size_t i;

	ck_assert_uint_eq(router_count(big), 10000);
	for (i = 0; i < 10000; i++) {
		const char *p = arena_printf(ta, "/m%zu/r3", i);

		ck_assert_str_eq(match_on(big, PUB, "GET", p), arena_printf(ta,
		                 "200 r%zu rest= [GET, HEAD, OPTIONS]", i));
	}
	ck_assert_str_eq(match_on(big, PUB, "GET", "/m10000/r3"), "404");
	ck_assert_str_eq(match_on(big, PUB, "GET", "/m1/r4"), "404");
	ck_assert_str_eq(match_on(big, PUB, "POST", "/m9999/r3"),
	                 "405 [GET, HEAD, OPTIONS]");
	/* A scan of the siblings would cost 1,000 times more; a bisection
	 * some 4 times, and memory less local than 10 paths. */
	cbig = lookup_cost(big, 10000, 200000);
	csmall = lookup_cost(small, 10, 200000);
	ck_assert_msg(cbig < csmall * 40, "lookup among 10,000 siblings "
	              "%.0f ns, among 10 %.0f ns", cbig * 1e9, csmall * 1e9);
}
END_TEST

START_TEST(test_fifty_thousand_routes)
{
	struct router *big = siblings(50000);

	ck_assert_uint_eq(router_count(big), 50000);
	ck_assert_str_eq(match_on(big, PUB, "GET", "/m0/r3"),
	                 "200 r0 rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(big, PUB, "GET", "/m49999/r3"),
	                 "200 r49999 rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(big, PUB, "GET", "/m25000/r3"),
	                 "200 r25000 rest= [GET, HEAD, OPTIONS]");
	ck_assert_str_eq(match_on(big, USR, "GET", "/m25000/r3"), "404");
}
END_TEST

START_TEST(test_empty)
{
	struct config *c = arena_alloc(ta, sizeof(*c));
	struct router *r = router_build(ta, c);

	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(router_count(r), 0);
	ck_assert_str_eq(match_on(r, ALL, "GET", "/"), "404");
	ck_assert_str_eq(match_on(r, ALL, "GET", "/a"), "404");
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tr = tcase_create("rules");
	TCase *tm = tcase_create("methods");
	TCase *ts = tcase_create("scopes");
	TCase *tb = tcase_create("scale");

	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_literal_beats_param);
	tcase_add_test(tr, test_exact_beats_prefix);
	tcase_add_test(tr, test_longest_prefix);
	tcase_add_test(tr, test_backtracking);
	tcase_add_test(tr, test_literal_prefix_before_param);
	tcase_add_test(tr, test_params);
	tcase_add_test(tr, test_params_in_buffer);
	tcase_add_test(tr, test_root);
	tcase_add_test(tr, test_percent_encoded_mount);
	tcase_add_test(tr, test_encoded_slash_in_segment);
	tcase_add_test(tr, test_encoded_params_in_buffer);
	suite_add_tcase(s, tr);

	tcase_add_checked_fixture(tm, setup, teardown);
	tcase_add_test(tm, test_method_bits);
	tcase_add_test(tm, test_head_and_options);
	tcase_add_test(tm, test_method_not_allowed);
	tcase_add_test(tm, test_fall_through);
	suite_add_tcase(s, tm);

	tcase_add_checked_fixture(ts, setup, teardown);
	tcase_add_test(ts, test_scopes);
	tcase_add_test(ts, test_scopes_backtrack);
	suite_add_tcase(s, ts);

	tcase_add_checked_fixture(tb, setup, teardown);
	tcase_set_timeout(tb, 60);
	tcase_add_test(tb, test_ten_thousand_siblings);
	tcase_add_test(tb, test_fifty_thousand_routes);
	tcase_add_test(tb, test_empty);
	suite_add_tcase(s, tb);
	return s;
}

UNIT_MAIN(router_suite)
