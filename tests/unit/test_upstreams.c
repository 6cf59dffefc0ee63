/*
 * test_upstreams.c - modules' `upstreams` and proxy handlers (SPEC §3.2,
 * §5, §7.7) on configurations built in memory: defaults filled in, every
 * target URL form and what it fills, each bad URL, mixed schemes, tls and
 * its CA file, names, unknown keys with hints, the proxy's timeouts, and
 * resolving `upstream` (own name, module.name, inline URL, unknown name
 * with a hint).
 *
 * Diagnostics are compared as "SEVERITY CODE FILE:LINE:COL" lines in
 * sorted order, so a failure shows every diagnostic.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/manifest.h"
#include "diag.h"
#include "graph/graph.h"
#include "provider/registry.h"
#include "util/arena.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define PRODUCT                                                        \
	"kind: product\n"                                              \
	"id: corpus\n"                                                 \
	"name: Corpus\n"                                               \
	"version: 1.0.0\n"                                             \
	"server:\n"                                                    \
	"  listen:\n"                                                  \
	"    - address: 127.0.0.1:8080\n"

static struct provider_registry *reg;
static struct arena *ta;
static struct config *cfg;
static struct diag_list dl;

static void
fresh(void)
{
	cfg = config_new("conf.d");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(diag_list_init(&dl), 0);
}

static void
dispose(void)
{
	diag_list_release(&dl);
	config_free(cfg);
	cfg = NULL;
}

static void
setup(void)
{
	reg = registry_new(unit_test_modules_dir());
	ck_assert_ptr_nonnull(reg);
	ta = arena_new();
	ck_assert_ptr_nonnull(ta);
	fresh();
}

static void
teardown(void)
{
	dispose();
	arena_free(ta);
	registry_free(reg);
	ta = NULL;
	reg = NULL;
}

/* A module: kind, id, displayName, version on lines 1-4, extra from 5. */
static const char *
mod(const char *id, const char *extra)
{
	return arena_printf(ta, "kind: module\nid: %s\ndisplayName: Module %s\n"
	                    "version: 1.0.0\n%s", id, id, extra);
}

static void
add(const char *rel, const char *text)
{
	config_add_text(cfg, &dl, rel, text, strlen(text));
}

static size_t
validate(void)
{
	size_t errors;

	config_index_modules(cfg);
	errors = graph_validate(cfg, reg, &dl);
	ck_assert_uint_eq(errors, dl.errors);
	diag_sort(&dl);
	return errors;
}

static const char *
diags(void)
{
	const char *s = "";
	size_t i;

	for (i = 0; i < dl.n; i++) {
		const struct diag *d = dl.items[i];

		s = arena_printf(ta, "%s%s %s %s:%u:%u\n", s,
		                 d->severity == SEV_ERROR ? "error" : "warning",
		                 d->code, d->mark.src ? d->mark.src->display :
		                 "-", d->mark.line, d->mark.col);
	}
	return s;
}

/* The only diagnostic, which must have code. */
static const struct diag *
only(const char *code)
{
	ck_assert_msg(dl.n == 1 && strcmp(dl.items[0]->code, code) == 0,
	              "want one %s diagnostic, got:\n%s", code, diags());
	return dl.items[0];
}

static const char *
where(const struct diag *d)
{
	return arena_printf(ta, "%s:%u:%u", d->mark.src->display,
	                    d->mark.line, d->mark.col);
}

static struct module *
module(const char *id)
{
	struct module *m = config_find_module(cfg, id);

	ck_assert_ptr_nonnull(m);
	return m;
}

static struct upstream_conf *
upstream(const char *mid, size_t i)
{
	struct module *m = module(mid);

	ck_assert_uint_gt(m->upstreams.n, i);
	return m->upstreams.v[i];
}

static struct upstream_target *
target(const struct upstream_conf *u, size_t i)
{
	ck_assert_uint_gt(u->targets.n, i);
	return u->targets.v[i];
}

static struct proxy_handler *
proxy(const char *mid, size_t i)
{
	struct module *m = module(mid);
	struct route *r;

	ck_assert_uint_gt(m->routes.n, i);
	r = m->routes.v[i];
	ck_assert_int_eq(r->handler->kind, HANDLER_PROXY);
	return r->handler->proxy;
}

/* Route i+1 of a `routes:` list, proxying to upstream with extra keys in
 * its proxy mapping; each route takes 6 lines. */
static const char *
proxy_route(int i, const char *upstream_and_keys)
{
	return arena_printf(ta,
	    "  - id: route:r%d\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /r%d\n"
	    "    match: prefix\n"
	    "    handler: { proxy: { %s } }\n", i, i, upstream_and_keys);
}

/* --- entries and their defaults --------------------------------------- */

START_TEST(test_defaults_filled)
{
	struct upstream_conf *u;
	struct upstream_target *t;

	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  api:\n"
	    "    targets: [http://127.0.0.1:9101]\n"
	    "  hc:\n"
	    "    targets: [http://backend]\n"
	    "    keepalive: 0\n"
	    "    health: { path: /healthz }\n"
	    "    eject: {}\n"));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");

	u = upstream("web", 0);
	ck_assert_str_eq(u->name, "api");
	ck_assert_str_eq(u->key, "web.api");
	ck_assert_ptr_eq(u->module, module("web"));
	ck_assert_str_eq(u->balance, "round-robin");
	ck_assert_int_eq(u->least_request, 0);
	ck_assert_int_eq(u->keepalive, 32);
	ck_assert_int_eq(u->connect_timeout_ms, 2000);
	ck_assert_ptr_null(u->health);
	ck_assert_ptr_null(u->eject);
	ck_assert_ptr_null(u->tls);
	ck_assert_int_eq(u->scheme, TARGET_HTTP);
	ck_assert_int_eq(u->inline_url, 0);
	ck_assert_uint_eq(u->ok, 1);
	t = target(u, 0);
	ck_assert_str_eq(t->url, "http://127.0.0.1:9101");
	ck_assert_str_eq(t->host, "127.0.0.1");
	ck_assert_int_eq(t->port, 9101);
	ck_assert_str_eq(t->base, "");
	ck_assert_str_eq(t->authority, "127.0.0.1:9101");

	u = upstream("web", 1);
	ck_assert_int_eq(u->keepalive, 0);          /* written: kept */
	ck_assert_ptr_nonnull(u->health);
	ck_assert_str_eq(u->health->path, "/healthz");
	ck_assert_int_eq(u->health->interval_ms, 2000);
	ck_assert_int_eq(u->health->timeout_ms, 1000);
	ck_assert_int_eq(u->health->healthy, 2);
	ck_assert_int_eq(u->health->unhealthy, 3);
	ck_assert_ptr_nonnull(u->eject);
	ck_assert_int_eq(u->eject->consecutive_failures, 5);
	ck_assert_int_eq(u->eject->base_ms, 30000);
	ck_assert_str_eq(target(u, 0)->authority, "backend");
	ck_assert_int_eq(target(u, 0)->port, 80);
}
END_TEST

START_TEST(test_every_key_written)
{
	struct upstream_conf *u;

	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  api:\n"
	    "    targets: [\"https://a.example:8443/v1/\", "
	    "\"https://b.example\"]\n"
	    "    balance: least-request\n"
	    "    keepalive: 4096\n"
	    "    connect_timeout_ms: 250\n"
	    "    health: { path: \"/ready?deep=1\", interval_ms: 500, "
	    "timeout_ms: 100, healthy: 1, unhealthy: 7 }\n"
	    "    eject: { consecutive_failures: 2, base_ms: 1000 }\n"
	    "    tls: { server_name: api.internal, verify: false }\n"));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");
	u = upstream("web", 0);
	ck_assert_str_eq(u->balance, "least-request");
	ck_assert_int_eq(u->least_request, 1);
	ck_assert_int_eq(u->keepalive, 4096);
	ck_assert_int_eq(u->connect_timeout_ms, 250);
	ck_assert_str_eq(u->health->path, "/ready?deep=1");
	ck_assert_int_eq(u->health->interval_ms, 500);
	ck_assert_int_eq(u->health->timeout_ms, 100);
	ck_assert_int_eq(u->health->healthy, 1);
	ck_assert_int_eq(u->health->unhealthy, 7);
	ck_assert_int_eq(u->eject->consecutive_failures, 2);
	ck_assert_int_eq(u->eject->base_ms, 1000);
	ck_assert_int_eq(u->scheme, TARGET_HTTPS);
	ck_assert_ptr_null(u->tls->ca);
	ck_assert_str_eq(u->tls->server_name, "api.internal");
	ck_assert_int_eq(u->tls->verify, 0);
	ck_assert_str_eq(target(u, 0)->base, "/v1");
	ck_assert_str_eq(target(u, 0)->authority, "a.example:8443");
	ck_assert_int_eq(target(u, 1)->port, 443);
	ck_assert_str_eq(target(u, 1)->authority, "b.example");
	ck_assert_uint_eq(u->ok, 1);
}
END_TEST

/* https without `tls` gets the defaults: verify on, system CAs. */
START_TEST(test_https_default_tls)
{
	struct upstream_conf *u;

	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  api: { targets: [\"https://a.example\"] }\n"
	    "  tv: { targets: [\"https://a.example\"], tls: { ca: /dev/null } "
	    "}\n"));
	ck_assert_uint_eq(validate(), 0);
	u = upstream("web", 0);
	ck_assert_ptr_nonnull(u->tls);
	ck_assert_int_eq(u->tls->verify, 1);
	ck_assert_ptr_null(u->tls->ca);
	ck_assert_ptr_null(u->tls->server_name);
	u = upstream("web", 1);
	ck_assert_int_eq(u->tls->verify, 1);
	ck_assert_str_eq(u->tls->ca, "/dev/null");
}
END_TEST

/* --- target URLs ------------------------------------------------------ */

static const struct {
	const char *url;
	const char *host;           /* NULL: unix */
	int port;
	const char *base;
	const char *authority;
	enum target_scheme scheme;
} good_urls[] = {
	{"http://127.0.0.1", "127.0.0.1", 80, "", "127.0.0.1", TARGET_HTTP},
	{"http://127.0.0.1:80", "127.0.0.1", 80, "", "127.0.0.1",
	 TARGET_HTTP},
	{"http://Backend.Example:8080/", "backend.example", 8080, "",
	 "backend.example:8080", TARGET_HTTP},
	{"http://h/a/b//", "h", 80, "/a/b", "h", TARGET_HTTP},
	{"http://h:65535/x", "h", 65535, "/x", "h:65535", TARGET_HTTP},
	{"http://[::1]:9000/api", "::1", 9000, "/api", "[::1]:9000",
	 TARGET_HTTP},
	{"http://[::1]", "::1", 80, "", "[::1]", TARGET_HTTP},
	{"https://[2001:db8::1]:443", "2001:db8::1", 443, "",
	 "[2001:db8::1]", TARGET_HTTPS},
	{"https://h:80", "h", 80, "", "h:80", TARGET_HTTPS},
	{"http://h/a..b/.x", "h", 80, "/a..b/.x", "h", TARGET_HTTP},
	{"http://my_app:8080", "my_app", 8080, "", "my_app:8080",
	 TARGET_HTTP},
	{"unix:/run/app.sock", NULL, 0, "", "localhost", TARGET_UNIX},
};

START_TEST(test_good_urls)
{
	size_t i;

	for (i = 0; i < NELEM(good_urls); i++) {
		struct upstream_conf *u;
		struct upstream_target *t;

		if (i > 0) {
			dispose();
			fresh();
		}
		add("product.yaml", PRODUCT);
		add("modules/web.yaml", mod("web", arena_printf(ta,
		    "upstreams:\n  api: { targets: [\"%s\"] }\n",
		    good_urls[i].url)));
		ck_assert_msg(validate() == 0, "%s:\n%s", good_urls[i].url,
		              diags());
		u = upstream("web", 0);
		t = target(u, 0);
		ck_assert_uint_eq(u->ok, 1);
		ck_assert_int_eq(u->scheme, good_urls[i].scheme);
		ck_assert_int_eq(t->scheme, good_urls[i].scheme);
		ck_assert_str_eq(t->base, good_urls[i].base);
		ck_assert_str_eq(t->authority, good_urls[i].authority);
		if (good_urls[i].host == NULL) {
			ck_assert_str_eq(t->path, "/run/app.sock");
			continue;
		}
		ck_assert_str_eq(t->host, good_urls[i].host);
		ck_assert_int_eq(t->port, good_urls[i].port);
	}
}
END_TEST

/* A relative unix: path is resolved against the manifest's directory. */
START_TEST(test_unix_relative)
{
	struct upstream_target *t;
	const char *want;

	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n  app: { targets: [\"unix:run/app.sock\"] }\n"));
	ck_assert_uint_eq(validate(), 0);
	t = target(upstream("web", 0), 0);
	want = arena_printf(ta, "%s/modules/run/app.sock", cfg->absdir);
	ck_assert_str_eq(t->path, want);
	ck_assert_str_eq(t->authority, "localhost");
	ck_assert_ptr_null(upstream("web", 0)->tls);
}
END_TEST

static const char *const bad_urls[] = {
	"ftp://h",
	"h:80",
	"http://",
	"http:///x",
	"http://:80",
	"http://h:",
	"http://h:0",
	"http://h:65536",
	"http://h:8o",
	"http://h/a?b=1",
	"http://h/#top",
	"http://h/a/../b",
	"http://h/..",
	"http://[::1",
	"http://[zz]:80",
	"http://[::1]x",
	"http://::1:80",
	"http://u@h",
	"http://h..x",
	"http://h.",
	"http://-h",
	"http://a b",
	"unix:",
	"unix:/" /* padded below past 107 bytes */,
};

START_TEST(test_bad_urls)
{
	size_t i;

	for (i = 0; i < NELEM(bad_urls); i++) {
		const char *url = bad_urls[i];
		const struct diag *d;

		if (i > 0) {
			dispose();
			fresh();
		}
		if (strcmp(url, "unix:/") == 0)
			url = arena_printf(ta, "unix:/%0108d", 0);
		add("product.yaml", PRODUCT);
		add("modules/web.yaml", mod("web", arena_printf(ta,
		    "upstreams:\n"
		    "  api:\n"
		    "    targets:\n"
		    "      - http://ok\n"
		    "      - \"%s\"\n", url)));
		validate();
		ck_assert_msg(dl.n == 1 && strcmp(dl.items[0]->code,
		              "invalid-value") == 0, "%s:\n%s", url, diags());
		d = dl.items[0];
		ck_assert_str_eq(where(d), "conf.d/modules/web.yaml:9:9");
		ck_assert_msg(strstr(d->message, url) != NULL, "%s",
		              d->message);
		ck_assert_uint_eq(upstream("web", 0)->ok, 0);
	}
}
END_TEST

START_TEST(test_mixed_schemes)
{
	const struct diag *d;

	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  api:\n"
	    "    targets:\n"
	    "      - http://a\n"
	    "      - http://b\n"
	    "      - https://c\n"
	    "      - unix:/run/d.sock\n"));
	ck_assert_uint_eq(validate(), 1);
	d = only("invalid-value");
	ck_assert_str_eq(where(d), "conf.d/modules/web.yaml:10:9");
	ck_assert_uint_eq(d->nnotes, 1);
	ck_assert_uint_eq(d->notes[0].mark.line, 8);
	ck_assert_ptr_nonnull(strstr(d->message, "share one scheme"));
}
END_TEST

/* --- tls -------------------------------------------------------------- */

START_TEST(test_tls_needs_https)
{
	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  api:\n"
	    "    targets: [http://a]\n"
	    "    tls: { verify: true }\n"));
	ck_assert_uint_eq(validate(), 1);
	ck_assert_str_eq(where(only("invalid-value")),
	                 "conf.d/modules/web.yaml:8:5");
}
END_TEST

/* The CA file is read at start-up, so the check reads it: relative to
 * the manifest's directory. */
START_TEST(test_tls_ca_file)
{
	char dir[] = "/tmp/test_upstreams.XXXXXX";
	const char *ca;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dispose();
	cfg = config_new(dir);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(diag_list_init(&dl), 0);
	ca = arena_printf(ta, "%s/ca.pem", dir);
	f = fopen(ca, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not checked here\n", f);
	fclose(f);
	add("product.yaml", PRODUCT);
	add("web.yaml", mod("web",
	    "upstreams:\n"
	    "  api:\n"
	    "    targets: [\"https://a\"]\n"
	    "    tls: { ca: ca.pem, server_name: a.internal }\n"
	    "  gone:\n"
	    "    targets: [\"https://b\"]\n"
	    "    tls: { ca: missing.pem }\n"
	    "  sni:\n"
	    "    targets: [\"https://c\"]\n"
	    "    tls: { server_name: \"not a name\" }\n"));
	ck_assert_uint_eq(validate(), 2);
	ck_assert_str_eq(diags(), arena_printf(ta,
	    "error invalid-value %s/web.yaml:11:16\n"
	    "error invalid-value %s/web.yaml:14:25\n", dir, dir));
	ck_assert_str_eq(upstream("web", 0)->tls->ca, ca);
	ck_assert_uint_eq(upstream("web", 0)->ok, 1);
	ck_assert_uint_eq(upstream("web", 1)->ok, 0);
	ck_assert_ptr_nonnull(strstr(dl.items[0]->message, "missing.pem"));
	unlink(ca);
	rmdir(dir);
}
END_TEST

/* --- names, keys and values -------------------------------------------- */

START_TEST(test_invalid_names)
{
	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  Api: { targets: [http://a] }\n"
	    "  a.b: { targets: [http://a] }\n"
	    "  9x: { targets: [http://a] }\n"
	    "  ok-name-2: { targets: [http://a] }\n"));
	ck_assert_uint_eq(validate(), 3);
	ck_assert_str_eq(diags(),
	    "error invalid-id conf.d/modules/web.yaml:6:3\n"
	    "error invalid-id conf.d/modules/web.yaml:7:3\n"
	    "error invalid-id conf.d/modules/web.yaml:8:3\n");
}
END_TEST

START_TEST(test_unknown_keys_hinted)
{
	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  api:\n"
	    "    targets: [https://a]\n"
	    "    balanse: round-robin\n"
	    "    health: { path: /h, intervl_ms: 5 }\n"
	    "    eject: { bse_ms: 5 }\n"
	    "    tls: { sever_name: a }\n"
	    "routes:\n"
	    "  - id: route:r\n"
	    "    scope: public\n"
	    "    methods: [GET]\n"
	    "    mountPath: /r\n"
	    "    handler: { proxy: { upstream: api, try_timeout: 5 } }\n"));
	ck_assert_uint_eq(validate(), 5);
	ck_assert_str_eq(diags(),
	    "error unknown-key conf.d/modules/web.yaml:8:5\n"
	    "error unknown-key conf.d/modules/web.yaml:9:25\n"
	    "error unknown-key conf.d/modules/web.yaml:10:14\n"
	    "error unknown-key conf.d/modules/web.yaml:11:12\n"
	    "error unknown-key conf.d/modules/web.yaml:17:40\n");
	ck_assert_str_eq(dl.items[0]->hint, "did you mean 'balance'?");
	ck_assert_str_eq(dl.items[1]->hint, "did you mean 'interval_ms'?");
	ck_assert_str_eq(dl.items[2]->hint, "did you mean 'base_ms'?");
	ck_assert_str_eq(dl.items[3]->hint, "did you mean 'server_name'?");
	ck_assert_str_eq(dl.items[4]->hint,
	                 "did you mean 'try_timeout_ms'?");
}
END_TEST

START_TEST(test_bad_values)
{
	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web",
	    "upstreams:\n"
	    "  nolist: { targets: http://a }\n"
	    "  empty: { targets: [] }\n"
	    "  missing: { balance: round-robin }\n"
	    "  api:\n"
	    "    targets: [http://a, [x]]\n"
	    "    balance: random\n"
	    "    keepalive: 4097\n"
	    "    connect_timeout_ms: 0\n"
	    "    health: { interval_ms: 5 }\n"
	    "  hp:\n"
	    "    targets: [http://a]\n"
	    "    health: { path: healthz, healthy: 0 }\n"
	    "    eject: { consecutive_failures: -1 }\n"
	    "    tls: { verify: maybe }\n"
	    "  scalar: http://a\n"));
	validate();
	ck_assert_str_eq(diags(),
	    "error wrong-type conf.d/modules/web.yaml:6:22\n"
	    "error invalid-value conf.d/modules/web.yaml:7:21\n"
	    "error missing-key conf.d/modules/web.yaml:8:14\n"
	    "error wrong-type conf.d/modules/web.yaml:10:25\n"
	    "error invalid-value conf.d/modules/web.yaml:11:14\n"
	    "error invalid-value conf.d/modules/web.yaml:12:16\n"
	    "error invalid-value conf.d/modules/web.yaml:13:25\n"
	    "error missing-key conf.d/modules/web.yaml:14:15\n"
	    "error invalid-value conf.d/modules/web.yaml:17:21\n"
	    "error invalid-value conf.d/modules/web.yaml:17:39\n"
	    "error invalid-value conf.d/modules/web.yaml:18:36\n"
	    "error invalid-value conf.d/modules/web.yaml:19:5\n"
	    "error wrong-type conf.d/modules/web.yaml:19:20\n"
	    "error wrong-type conf.d/modules/web.yaml:20:11\n");
}
END_TEST

START_TEST(test_upstreams_not_a_mapping)
{
	add("product.yaml", PRODUCT);
	add("modules/a.yaml", mod("a", "upstreams: [http://a]\n"));
	add("modules/b.yaml", mod("b", "upstreams:\n"));
	ck_assert_uint_eq(validate(), 2);
	ck_assert_str_eq(diags(),
	    "error wrong-type conf.d/modules/a.yaml:5:12\n"
	    "error wrong-type conf.d/modules/b.yaml:5:11\n");
	ck_assert_uint_eq(module("a")->upstreams.n, 0);
}
END_TEST

/* --- proxy handlers --------------------------------------------------- */

START_TEST(test_proxy_defaults)
{
	struct proxy_handler *p;

	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web", arena_printf(ta,
	    "upstreams:\n"
	    "  api: { targets: [http://a] }\n"
	    "routes:\n%s%s%s",
	    proxy_route(1, "upstream: api"),
	    proxy_route(2, "upstream: api, try_timeout_ms: 5000, "
	                   "retries: 0, preserve_host: true, "
	                   "pass_authorization: true, strip_prefix: true"),
	    proxy_route(3, "upstream: api, timeout_ms: 900"))));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");
	p = proxy("web", 0);
	ck_assert_int_eq(p->timeout_ms, 30000);
	ck_assert_int_eq(p->try_timeout_ms, 30000);
	ck_assert_int_eq(p->retries, 1);
	ck_assert_int_eq(p->preserve_host, 0);
	ck_assert_int_eq(p->pass_authorization, 0);
	ck_assert_int_eq(p->strip_prefix, 0);
	ck_assert_ptr_eq(p->resolved, upstream("web", 0));
	p = proxy("web", 1);
	ck_assert_int_eq(p->timeout_ms, 30000);
	ck_assert_int_eq(p->try_timeout_ms, 5000);
	ck_assert_int_eq(p->retries, 0);
	ck_assert_int_eq(p->preserve_host, 1);
	ck_assert_int_eq(p->pass_authorization, 1);
	ck_assert_int_eq(p->strip_prefix, 1);
	p = proxy("web", 2);
	ck_assert_int_eq(p->timeout_ms, 900);
	ck_assert_int_eq(p->try_timeout_ms, 900);
}
END_TEST

START_TEST(test_proxy_bad_values)
{
	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web", arena_printf(ta,
	    "upstreams:\n"
	    "  api: { targets: [http://a] }\n"
	    "routes:\n%s%s%s%s",
	    proxy_route(1, "upstream: api, timeout_ms: 1000, "
	                   "try_timeout_ms: 1001"),
	    proxy_route(2, "upstream: api, try_timeout_ms: 30001"),
	    proxy_route(3, "upstream: api, try_timeout_ms: 0, retries: 11"),
	    proxy_route(4, "upstream: api, preserve_host: yes, "
	                   "pass_authorization: 1"))));
	validate();
	ck_assert_str_eq(diags(),
	    "error invalid-value conf.d/modules/web.yaml:13:74\n"
	    "error invalid-value conf.d/modules/web.yaml:19:56\n"
	    "error invalid-value conf.d/modules/web.yaml:25:56\n"
	    "error invalid-value conf.d/modules/web.yaml:25:68\n"
	    "error wrong-type conf.d/modules/web.yaml:31:55\n"
	    "error wrong-type conf.d/modules/web.yaml:31:80\n");
	ck_assert_ptr_nonnull(strstr(dl.items[1]->message, "the default"));
}
END_TEST

/* `lib.api` reaches an upstream of a module required directly. */
START_TEST(test_proxy_qualified)
{
	add("product.yaml", PRODUCT);
	add("modules/lib.yaml", mod("lib",
	    "upstreams:\n  api: { targets: [http://lib] }\n"));
	add("modules/web.yaml", mod("web", arena_printf(ta,
	    "requires: [lib]\n"
	    "upstreams:\n"
	    "  api: { targets: [http://web] }\n"
	    "routes:\n%s%s",
	    proxy_route(1, "upstream: lib.api"),
	    proxy_route(2, "upstream: web.api"))));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");
	ck_assert_ptr_eq(proxy("web", 0)->resolved, upstream("lib", 0));
	ck_assert_str_eq(proxy("web", 0)->resolved->key, "lib.api");
	ck_assert_ptr_eq(proxy("web", 1)->resolved, upstream("web", 0));
}
END_TEST

START_TEST(test_proxy_unknown_upstream)
{
	add("product.yaml", PRODUCT);
	add("modules/base.yaml", mod("base",
	    "upstreams:\n  db: { targets: [http://base] }\n"));
	add("modules/lib.yaml", mod("lib",
	    "requires: [base]\n"
	    "upstreams:\n  api: { targets: [http://lib] }\n"));
	add("modules/web.yaml", mod("web", arena_printf(ta,
	    "requires: [lib]\n"
	    "upstreams:\n"
	    "  search: { targets: [http://web] }\n"
	    "routes:\n%s%s%s%s%s",
	    proxy_route(1, "upstream: serch"),
	    proxy_route(2, "upstream: lib.apj"),
	    proxy_route(3, "upstream: base.db"),
	    proxy_route(4, "upstream: nomod.x"),
	    proxy_route(5, "upstream: zzzzzzzz"))));
	ck_assert_uint_eq(validate(), 5);
	ck_assert_str_eq(diags(),
	    "error unknown-upstream conf.d/modules/web.yaml:14:35\n"
	    "error unknown-upstream conf.d/modules/web.yaml:20:35\n"
	    "error unknown-upstream conf.d/modules/web.yaml:26:35\n"
	    "error unknown-upstream conf.d/modules/web.yaml:32:35\n"
	    "error unknown-upstream conf.d/modules/web.yaml:38:35\n");
	ck_assert_str_eq(dl.items[0]->hint, "did you mean 'search'?");
	ck_assert_str_eq(dl.items[1]->hint, "did you mean 'lib.api'?");
	ck_assert_ptr_nonnull(strstr(dl.items[2]->message,
	                             "does not require module 'base'"));
	ck_assert_ptr_nonnull(strstr(dl.items[1]->message,
	                             "defines no upstream 'apj'"));
	ck_assert_ptr_null(dl.items[4]->hint);
	ck_assert_ptr_null(proxy("web", 0)->resolved);
}
END_TEST

START_TEST(test_proxy_inline)
{
	struct upstream_conf *u;
	const char *sock;

	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web", arena_printf(ta,
	    "routes:\n%s%s%s",
	    proxy_route(1, "upstream: \"http://127.0.0.1:9000/base/\""),
	    proxy_route(2, "upstream: \"https://api.example\""),
	    proxy_route(3, "upstream: \"unix:up.sock\""))));
	ck_assert_uint_eq(validate(), 0);
	ck_assert_str_eq(diags(), "");

	u = proxy("web", 0)->resolved;
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(u->inline_url, 1);
	ck_assert_str_eq(u->name, "http://127.0.0.1:9000/base/");
	ck_assert_str_eq(u->key, "url:http://127.0.0.1:9000/base/");
	ck_assert_ptr_eq(u->module, module("web"));
	ck_assert_uint_eq(u->targets.n, 1);
	ck_assert_str_eq(target(u, 0)->base, "/base");
	ck_assert_str_eq(target(u, 0)->authority, "127.0.0.1:9000");
	ck_assert_str_eq(u->balance, "round-robin");
	ck_assert_int_eq(u->keepalive, 32);
	ck_assert_int_eq(u->connect_timeout_ms, 2000);
	ck_assert_ptr_null(u->health);
	ck_assert_ptr_null(u->eject);
	ck_assert_ptr_null(u->tls);
	ck_assert_uint_eq(u->ok, 1);

	u = proxy("web", 1)->resolved;
	ck_assert_int_eq(u->scheme, TARGET_HTTPS);
	ck_assert_ptr_nonnull(u->tls);
	ck_assert_int_eq(u->tls->verify, 1);

	u = proxy("web", 2)->resolved;
	sock = arena_printf(ta, "%s/modules/up.sock", cfg->absdir);
	ck_assert_int_eq(u->scheme, TARGET_UNIX);
	ck_assert_str_eq(target(u, 0)->path, sock);
	ck_assert_str_eq(u->name, arena_printf(ta, "unix:%s", sock));
	ck_assert_str_eq(u->key, arena_printf(ta, "url:unix:%s", sock));
}
END_TEST

START_TEST(test_proxy_inline_bad)
{
	add("product.yaml", PRODUCT);
	add("modules/web.yaml", mod("web", arena_printf(ta,
	    "routes:\n%s%s%s",
	    proxy_route(1, "upstream: \"http://\""),
	    proxy_route(2, "upstream: \"ftp://files\""),
	    proxy_route(3, "upstream: \"unix:\""))));
	ck_assert_uint_eq(validate(), 3);
	ck_assert_str_eq(diags(),
	    "error invalid-value conf.d/modules/web.yaml:11:35\n"
	    "error invalid-value conf.d/modules/web.yaml:17:35\n"
	    "error invalid-value conf.d/modules/web.yaml:23:35\n");
	ck_assert_uint_eq(proxy("web", 0)->resolved->ok, 0);
}
END_TEST

static Suite *
upstreams_suite(void)
{
	Suite *s = suite_create("upstreams");
	TCase *te = tcase_create("entries");
	TCase *tu = tcase_create("urls");
	TCase *tp = tcase_create("proxy");

	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_test(te, test_defaults_filled);
	tcase_add_test(te, test_every_key_written);
	tcase_add_test(te, test_https_default_tls);
	tcase_add_test(te, test_tls_needs_https);
	tcase_add_test(te, test_tls_ca_file);
	tcase_add_test(te, test_invalid_names);
	tcase_add_test(te, test_unknown_keys_hinted);
	tcase_add_test(te, test_bad_values);
	tcase_add_test(te, test_upstreams_not_a_mapping);
	suite_add_tcase(s, te);

	tcase_add_checked_fixture(tu, setup, teardown);
	tcase_add_test(tu, test_good_urls);
	tcase_add_test(tu, test_unix_relative);
	tcase_add_test(tu, test_bad_urls);
	tcase_add_test(tu, test_mixed_schemes);
	suite_add_tcase(s, tu);

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_test(tp, test_proxy_defaults);
	tcase_add_test(tp, test_proxy_bad_values);
	tcase_add_test(tp, test_proxy_qualified);
	tcase_add_test(tp, test_proxy_unknown_upstream);
	tcase_add_test(tp, test_proxy_inline);
	tcase_add_test(tp, test_proxy_inline_bad);
	suite_add_tcase(s, tp);
	return s;
}

UNIT_MAIN(upstreams_suite)
