/*
 * fuzz_route.c - libFuzzer target for path normalising
 * (http_path_normalise, src/http/parse.h) and router lookup
 * (src/http/router.h).
 *
 * The router is built once, from a fixed product whose routes have
 * literal, {param}, prefix and exact mount paths at every scope, with
 * percent-encoded literals and methods that overlap. An input is one
 * byte of choices (low four bits: the listener's scopes; the next three:
 * the method, one of GET HEAD POST PUT PATCH DELETE OPTIONS BREW) and then
 * the raw path of a request target, as it arrives before the '?'.
 *
 * The raw path is normalised as the parser does it (SPEC 7.1: split on
 * '/' first, each segment decoded once); the normalised raw path has no
 * empty segment but a final one, no segment decoding to "." or "..", no
 * segment decoding to NUL or to bytes that are not UTF-8, and is no longer
 * than the input. It is then matched, and the answer checked against the
 * route it names: 200 only with a route of the listener's scopes that
 * serves the method (HEAD through GET), as many params as its mount path
 * has {names}, each the decoded form of a whole non-empty raw segment of
 * the path, in order (so a param may hold '/'), the rest "" for an exact
 * route and a '/'-led raw tail of the path for a prefix one; 405 only with
 * no route and an Allow set that leaves the method out; the same answer
 * twice; and a 200 stays a 200 when the listener serves every scope.
 *
 * Seeds (tests/fuzz/seeds/route/) are the paths of
 * tests/unit/test_router.c and test_http_parse.c, after a choice byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/manifest.h"
#include "diag.h"
#include "graph/graph.h"
#include "http/parse.h"
#include "http/router.h"
#include "provider/registry.h"
#include "util/arena.h"
#include "util/utf8.h"

#define ALL_SCOPES (SCOPE_PUBLIC | SCOPE_USER | SCOPE_ADMIN | SCOPE_INTERNAL)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_route: %s:%d: broken: %s\n", \
		        __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW",
};

/* id, scope, methods, mountPath, match */
static const char *const routes[][5] = {
	{"root", "public", "GET", "/", "exact"},
	{"all", "user", "POST", "/", "prefix"},
	{"static", "public", "GET", "/static", "prefix"},
	{"literal", "public", "GET", "/a/b", "exact"},
	{"param", "public", "GET, PUT", "/a/{x}", "exact"},
	{"deep", "public", "GET", "/a/{x}/{y}/z", "exact"},
	{"spaces", "user", "GET, POST", "/spaces", "exact"},
	{"space", "user", "GET, PATCH, DELETE", "/spaces/{spaceId}",
	 "exact"},
	{"new", "user", "GET", "/spaces/new", "exact"},
	{"files", "public", "GET", "/f/{bucket}/{key}", "prefix"},
	{"keys", "admin", "GET, POST", "/gateway/v1/admin/keys", "exact"},
	{"key", "admin", "DELETE", "/gateway/v1/admin/keys/{id}", "exact"},
	{"state", "internal", "GET, PUT, DELETE",
	 "/gateway/v1/internal/state/{key}", "exact"},
	{"states", "internal", "GET", "/gateway/v1/internal/state", "prefix"},
	{"space-enc", "public", "GET", "/a%20b/c", "exact"},
	{"tilde-enc", "public", "GET", "/d%7Ee", "exact"},
	{"head", "public", "HEAD", "/h", "exact"},
	{"hget", "public", "GET", "/h", "exact"},
	{"opt", "public", "OPTIONS", "/o", "exact"},
	{"oget", "public", "GET", "/o", "prefix"},
};

/* The generation: kept for the life of the process. */
static struct arena *arena;
static struct provider_registry *reg;
static struct config *cfg;
static struct router *router;

/* Builds the router of the fixed product; exits when it is refused. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct diag_list dl;
	const char *yaml = "routes:\n";
	size_t i, errors;

	(void)argc;
	(void)argv;
	if ((arena = arena_new()) == NULL || diag_list_init(&dl) < 0 ||
	    (cfg = config_new("fuzz")) == NULL ||
	    (reg = registry_new("/nonexistent")) == NULL)
		abort();
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		yaml = arena_printf(arena, "%s  - id: %s\n    scope: %s\n"
		    "    methods: [%s]\n    mountPath: %s\n    match: %s\n"
		    "    handler: { respond: { status: 200 } }\n", yaml,
		    routes[i][0], routes[i][1], routes[i][2], routes[i][3],
		    routes[i][4]);
	yaml = arena_printf(arena, "kind: module\nid: m\ndisplayName: M\n"
	                    "version: 1.0.0\n%s", yaml);
#define ADD(rel, text) config_add_text(cfg, &dl, rel, text, strlen(text))
	ADD("product.yaml", "kind: product\nid: t\nname: T\nversion: 1.0.0\n"
	    "server:\n  listen:\n    - address: 127.0.0.1:8080\n"
	    "    - address: 127.0.0.1:8081\n      scopes: [internal]\n");
	ADD("modules/auth.yaml", "kind: module\nid: auth\ndisplayName: A\n"
	    "version: 1.0.0\nprovides: [auth]\n");
	ADD("modules/m.yaml", yaml);
#undef ADD
	config_index_modules(cfg);
	errors = graph_validate(cfg, reg, &dl);
	if (errors > 0 || (router = router_build(arena, cfg)) == NULL ||
	    router_count(router) != sizeof(routes) / sizeof(routes[0])) {
		fprintf(stderr, "fuzz_route: the fixed product is refused "
		        "(%zu errors: %s)\n", errors,
		        dl.n > 0 ? dl.items[0]->message : "?");
		exit(1);
	}
	diag_list_release(&dl);
	return 0;
}

/* The raw path normalised, as the parser gives it to the router. */
static char *
normalise(const uint8_t *raw, size_t len)
{
	char *path = malloc(len + 2), *decoded = malloc(len + 2);
	const char *why = NULL;
	int rc;

	if (path == NULL || decoded == NULL)
		abort();
	rc = http_path_normalise((const char *)raw, len, path, decoded, &why);
	free(decoded);
	if (rc != 0) {
		check(why != NULL);
		free(path);
		return NULL;
	}
	return path;
}

/* Decodes the raw segment s[0..len) into a fresh string (*n its length). */
static char *
segment(const char *s, size_t len, size_t *n)
{
	char *d = malloc(len + 1);

	if (d == NULL)
		abort();
	*n = http_segment_decode(d, s, len);
	return d;
}

static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i, len;

	for (i = 0; i < n; i += len)
		if ((len = utf8_sequence(s + i, n - i)) == 0)
			return 0;
	return 1;
}

static void
check_normalised(const char *path, size_t rawlen)
{
	const char *s, *e;
	size_t len, n;
	char *d;

	check(path[0] == '/');
	check(strlen(path) <= rawlen + 1);
	for (s = path + 1; *s != '\0'; s = *e == '\0' ? e : e + 1) {
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		len = (size_t)(e - s);
		check(len > 0);
		d = segment(s, len, &n);
		check(!(n == 1 && d[0] == '.'));
		check(!(n == 2 && d[0] == '.' && d[1] == '.'));
		check(memchr(d, '\0', n) == NULL);
		check(valid_utf8((const unsigned char *)d, n));
		free(d);
	}
}

static size_t
count_params(const char *mount)
{
	size_t n = 0;
	const char *p;

	for (p = mount; (p = strchr(p, '{')) != NULL; p++)
		n++;
	return n;
}

/* Each param is the decoded form of a whole raw segment of path, in
 * order. */
static void
check_params(const struct route_match *m, const char *path)
{
	const char *s = path + 1, *e;
	size_t i, len, n;
	char *d;
	int same;

	for (i = 0; i < m->nparams; i++) {
		len = strlen(m->params[i].value);
		check(len > 0 && m->params[i].name != NULL);
		for (;; s = e + 1) {
			check(*s != '\0');
			e = strchr(s, '/');
			if (e == NULL)
				e = s + strlen(s);
			d = segment(s, (size_t)(e - s), &n);
			same = n == len && memcmp(d, m->params[i].value, n) == 0;
			free(d);
			if (same) {
				s = *e == '\0' ? e : e + 1;
				break;
			}
			check(*e != '\0');
		}
	}
}

static int
serves(const struct route *rt, unsigned bit)
{
	size_t i;

	for (i = 0; i < rt->methods.n; i++)
		if (router_method_bit(rt->methods.v[i]) == bit ||
		    (bit == METHOD_HEAD &&
		     router_method_bit(rt->methods.v[i]) == METHOD_GET))
			return 1;
	return 0;
}

static void
check_match(int status, const struct route_match *m, unsigned scopes,
            const char *method, const char *path)
{
	unsigned bit = router_method_bit(method);
	size_t plen = strlen(path), rlen;

	switch (status) {
	case 200:
		check(m->route != NULL);
		check(m->route->scope & scopes);
		check(bit != 0 && serves(m->route, bit));
		check(m->allowed & METHOD_OPTIONS);
		check(m->nparams == count_params(m->route->mount_path));
		check_params(m, path);
		check(m->rest != NULL);
		rlen = strlen(m->rest);
		if (!m->route->prefix)
			check(rlen == 0);
		check(rlen == 0 || m->rest[0] == '/');
		check(rlen <= plen && strcmp(path + plen - rlen, m->rest) == 0);
		break;
	case 405:
		check(m->route == NULL);
		check(m->allowed & METHOD_OPTIONS);
		check(bit == METHOD_OPTIONS || !(m->allowed & bit));
		break;
	case 404:
		check(m->route == NULL);
		break;
	default:
		check(!"a status router_match does not give");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_match m, again;
	const char *method;
	unsigned scopes;
	char *path, *buf, *buf2;
	int status;

	if (size == 0)
		return 0;
	scopes = data[0] & ALL_SCOPES;
	method = methods[(data[0] >> 4) & 7];
	if ((path = normalise(data + 1, size - 1)) == NULL)
		return 0;
	check_normalised(path, size - 1);
	if ((buf = malloc(strlen(path) + 1)) == NULL ||
	    (buf2 = malloc(strlen(path) + 1)) == NULL)
		abort();
	status = router_match(router, scopes, method, path, buf, &m);
	check_match(status, &m, scopes, method, path);
	check(router_match(router, scopes, method, path, buf2, &again) ==
	      status);
	check(again.route == m.route && again.allowed == m.allowed &&
	      again.nparams == m.nparams);
	if (status == 200)
		check(router_match(router, ALL_SCOPES, method, path, buf2,
		                   &again) == 200);
	free(buf2);
	free(buf);
	free(path);
	return 0;
}
