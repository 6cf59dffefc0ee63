/*
 * test_state_api.c - the HTTP contract of the internal state API (SPEC 8,
 * 7.2), run the same against both state store providers.
 *
 *   GET|HEAD|PUT|DELETE /gateway/v1/internal/state/{namespace}/{key}
 *   GET /gateway/v1/internal/state/{namespace}?prefix=&limit=&cursor=
 *
 * The suite has one test case per provider holding the same tests:
 *
 *   sqlite    every test gets a fresh database file in a temp dir;
 *   postgres  one throwaway cluster (aster_test_pg_start()) for the test
 *             case, made before its first test and removed after its
 *             last; every test uses namespaces of its own, so none sees
 *             another's documents.
 *
 * Each test writes a product into a temp dir: a public listener, an
 * internal one, max_body_bytes 4096, the module `core` (health) and the
 * module `database` as conf.d/database.yaml has it, with the `store`
 * service's provider and its path or dsn set by the test. Then it starts
 * asterd on it (--ephemeral-ports) and talks HTTP to the internal
 * listener.
 *
 * A last test case runs the shipped conf.d/ itself (copied, with
 * STATE_DIRECTORY and RUNTIME_DIRECTORY in a temp dir): a PUT survives a
 * restart, which is what `make run` does across restarts.
 */
#include "integ.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>

#define STATE "/gateway/v1/internal/state/"
/* max_body_bytes of the test product. */
#define BODY_MAX 4096

enum provider { SQLITE, POSTGRES };

static const char *const PROVIDER_NAME[] = {"sqlite", "postgres"};

/* The postgres test case's cluster (made in the unchecked fixture, so by
 * the parent process, once). */
static struct aster_test_pg *PG;

/* Per test (the checked fixture). */
static enum provider PROV;
static char *CONF;                      /* the product */
static char *DATA;                      /* sqlite's database dir */
static struct aster_test *T;

/* --- the product ----------------------------------------------------------- */

static const char PRODUCT_YAML[] =
	"# The state API test product (tests/integration/test_state_api.c).\n"
	"kind: product\n"
	"id: statetest\n"
	"name: State API test\n"
	"description: The internal state API on a throwaway store.\n"
	"version: 0.1.0\n"
	"server:\n"
	"  listen:\n"
	"    - address: 127.0.0.1:18461\n"
	"      scopes: [public, user, admin]\n"
	"    - address: 127.0.0.1:18462\n"
	"      scopes: [internal]\n"
	"  limits:\n"
	"    max_body_bytes: 4096\n"
	"    max_header_bytes: 16384\n"
	"    request_timeout_ms: 30000\n"
	"    max_connections: 1000\n"
	"  shutdown_timeout_ms: 5000\n"
	"log:\n"
	"  format: text\n"
	"  level: info\n"
	"  access: true\n";

static const char CORE_YAML[] =
	"kind: module\n"
	"id: core\n"
	"displayName: Core\n"
	"version: 0.1.0\n"
	"description: Health.\n"
	"services:\n"
	"  - id: gateway\n"
	"    provider: gateway\n"
	"routes:\n"
	"  - id: route:core.health\n"
	"    scope: public\n"
	"    methods: [GET]\n"
	"    mountPath: /gateway/v1/health\n"
	"    handler: { service: gateway, operation: health }\n";

/* conf.d/database.yaml, with the store service's lines from the test. */
static const char DATABASE_HEAD[] =
	"kind: module\n"
	"id: database\n"
	"displayName: Database\n"
	"version: 0.1.0\n"
	"description: The state store and the internal state API.\n"
	"provides: [state-store]\n"
	"services:\n"
	"  - id: store\n";

static const char DATABASE_TAIL[] = INTEG_DATABASE_STATE_YAML;

static void
write_product(void)
{
	char db[PATH_MAX * 2 + 1024];

	ck_assert(aster_test_write_file(CONF, "product.yaml", PRODUCT_YAML,
	                                -1) == 0);
	ck_assert(aster_test_write_file(CONF, "modules/core.yaml", CORE_YAML,
	                                -1) == 0);
	if (PROV == SQLITE)
		snprintf(db, sizeof(db), "%s"
		         "    provider: sqlite\n"
		         "    config:\n"
		         "      path: \"%s/aster.db\"\n"
		         "%s", DATABASE_HEAD, DATA, DATABASE_TAIL);
	else
		snprintf(db, sizeof(db), "%s"
		         "    provider: postgres\n"
		         "    config:\n"
		         "      dsn: \"%s\"\n"
		         "      pool_size: 4\n"
		         "%s", DATABASE_HEAD, aster_test_pg_dsn(PG),
		         DATABASE_TAIL);
	ck_assert(aster_test_write_file(CONF, "modules/database.yaml", db,
	                                -1) == 0);
}

static void
start(void)
{
	T = integ_start_dir(CONF, NULL);
}

/* SIGTERM (exit 0, clean log), then the same product again. */
static void
restart(void)
{
	integ_stop(T);
	T = NULL;
	start();
}

static void
setup_common(enum provider p)
{
	PROV = p;
	CONF = integ_tempdir();
	DATA = integ_tempdir();
	if (p == POSTGRES)
		ck_assert_msg(PG != NULL, "the throwaway PostgreSQL did not "
		              "start (aster_test_pg_start() failed; its reason "
		              "is on stderr above)");
	write_product();
	start();
}

static void
setup_sqlite(void)
{
	setup_common(SQLITE);
}

static void
setup_postgres(void)
{
	setup_common(POSTGRES);
}

static void
teardown(void)
{
	if (T != NULL)
		integ_stop(T);
	T = NULL;
	aster_test_remove_tree(CONF);
	aster_test_remove_tree(DATA);
	free(CONF);
	free(DATA);
	CONF = DATA = NULL;
}

static void
pg_up(void)
{
	PG = aster_test_pg_start();
}

static void
pg_down(void)
{
	aster_test_pg_free(PG);
	PG = NULL;
}

/* --- requests -------------------------------------------------------------- */

/* Percent-encodes every byte of raw but the unreserved ones (RFC 3986). */
static void
pct(char *out, size_t cap, const char *raw)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)raw;
	size_t o = 0;

	for (; *p != '\0'; p++) {
		ck_assert(o + 4 < cap);
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* STATE ns "/" key, the key percent-encoded (ns as given). */
static const char *
doc_path(char *buf, size_t cap, const char *ns, const char *key)
{
	char k[4096];

	pct(k, sizeof(k), key);
	ck_assert((size_t)snprintf(buf, cap, STATE "%s/%s", ns, k) < cap);
	return buf;
}

/* One request on the scope's listener; body NULL sends none. */
static void
req(const char *scope, const char *method, const char *path,
    const char *const *headers, const char *body, size_t len,
    struct aster_test_response *r)
{
	int rc = aster_test_request(T, scope, method, path, headers, body, len,
	                            r);

	ck_assert_msg(rc == 0, "%s %s on the %s listener (%s): %s", method,
	              path, scope, PROVIDER_NAME[PROV], r->error);
}

/* A strong ETag of digits, "N" with N > 0: its value; else 0. */
static uint64_t
etag_value(const char *etag)
{
	const char *p;
	uint64_t v = 0;

	if (etag == NULL || etag[0] != '"' || etag[1] == '"')
		return 0;
	for (p = etag + 1; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p[0] != '"' || p[1] != '\0')
		return 0;
	return v;
}

static uint64_t
expect_etag(const struct aster_test_response *r, const char *what)
{
	const char *etag = aster_test_header(r, "ETag");
	uint64_t v = etag_value(etag);

	ck_assert_msg(v > 0, "%s: ETag '%s', expected a strong \"N\" of "
	              "digits", what, etag != NULL ? etag : "(none)");
	ck_assert_msg(aster_test_header_count(r, "ETag") == 1,
	              "%s: %zu ETag headers", what,
	              aster_test_header_count(r, "ETag"));
	return v;
}

static void
expect_json_type(const struct aster_test_response *r, const char *what)
{
	const char *ct = aster_test_header(r, "Content-Type");

	ck_assert_msg(ct != NULL && strncmp(ct, "application/json", 16) == 0 &&
	              (ct[16] == '\0' || ct[16] == ';'),
	              "%s: Content-Type '%s', expected application/json",
	              what, ct != NULL ? ct : "(none)");
}

static void
fmt_etag(char *buf, size_t cap, uint64_t v)
{
	snprintf(buf, cap, "\"%" PRIu64 "\"", v);
}

/*
 * PUT value to ns/key with one extra header line (or NULL) and expect
 * status. On 200 and 201 checks the answer (ETag, application/json,
 * exactly {namespace, key, etag}) and returns the version; on other
 * statuses checks the problem (code) and returns 0.
 */
static uint64_t
put_hdr(const char *ns, const char *key, const char *value, size_t len,
        const char *header, int status, const char *code)
{
	char path[8192], what[8400], tag[32];
	const char *hdrs[2] = {header, NULL};
	struct aster_test_response r;
	json_object *o;
	uint64_t v = 0;

	doc_path(path, sizeof(path), ns, key);
	snprintf(what, sizeof(what), "%s: PUT %s%s%s of '%.*s'%s",
	         PROVIDER_NAME[PROV], path, header != NULL ? " with " : "",
	         header != NULL ? header : "", len > 60 ? 60 : (int)len,
	         value != NULL ? value : "", len > 60 ? "..." : "");
	req("internal", "PUT", path, header != NULL ? hdrs : NULL, value, len,
	    &r);
	if (status != 200 && status != 201) {
		ck_assert_msg(r.status == status, "%s: %d, expected %d; body: %s",
		              what, r.status, status, r.body);
		integ_assert_problem(&r, status, code);
		aster_test_response_free(&r);
		return 0;
	}
	ck_assert_msg(r.status == status, "%s: %d, expected %d; body: %s",
	              what, r.status, status, r.body);
	v = expect_etag(&r, what);
	expect_json_type(&r, what);
	o = integ_json(&r);
	fmt_etag(tag, sizeof(tag), v);
	ck_assert_msg(json_object_object_length(o) == 3 &&
	              integ_json_str(o, "namespace") != NULL &&
	              strcmp(integ_json_str(o, "namespace"), ns) == 0 &&
	              integ_json_str(o, "key") != NULL &&
	              strcmp(integ_json_str(o, "key"), key) == 0 &&
	              integ_json_str(o, "etag") != NULL &&
	              strcmp(integ_json_str(o, "etag"), tag) == 0,
	              "%s: body %s, expected {namespace, key, etag} of "
	              "'%s', the key and %s", what, r.body, ns, tag);
	json_object_put(o);
	aster_test_response_free(&r);
	return v;
}

static uint64_t
put(const char *ns, const char *key, const char *value, int status)
{
	return put_hdr(ns, key, value, strlen(value), NULL, status, NULL);
}

/* PUT with If-Match / If-None-Match: tag text as sent. */
static uint64_t
put_if(const char *ns, const char *key, const char *value, const char *name,
       const char *tags, int status)
{
	char h[512];

	snprintf(h, sizeof(h), "%s: %s", name, tags);
	return put_hdr(ns, key, value, strlen(value), h, status,
	               status == 412 ? "precondition-failed" : "bad-request");
}

/* GET ns/key: 200 with exactly value (bytes) as application/json and the
 * ETag version (unless 0); returns the version. */
static uint64_t
get_is(const char *ns, const char *key, const char *value, uint64_t version)
{
	char path[8192], what[8400];
	struct aster_test_response r;
	uint64_t v;

	doc_path(path, sizeof(path), ns, key);
	snprintf(what, sizeof(what), "%s: GET %s", PROVIDER_NAME[PROV], path);
	req("internal", "GET", path, NULL, NULL, 0, &r);
	ck_assert_msg(r.status == 200, "%s: %d, expected 200; body: %s", what,
	              r.status, r.body);
	v = expect_etag(&r, what);
	expect_json_type(&r, what);
	ck_assert_msg(r.body_len == strlen(value) &&
	              memcmp(r.body, value, r.body_len) == 0,
	              "%s: body (%zu bytes) '%s', expected exactly (%zu "
	              "bytes) '%s'", what, r.body_len, r.body, strlen(value),
	              value);
	if (version != 0)
		ck_assert_msg(v == version, "%s: ETag \"%" PRIu64 "\", expected "
		              "\"%" PRIu64 "\"", what, v, version);
	aster_test_response_free(&r);
	return v;
}

static void
get_missing(const char *ns, const char *key)
{
	char path[8192];
	struct aster_test_response r;

	doc_path(path, sizeof(path), ns, key);
	req("internal", "GET", path, NULL, NULL, 0, &r);
	ck_assert_msg(r.status == 404, "%s: GET %s: %d, expected 404; body: %s",
	              PROVIDER_NAME[PROV], path, r.status, r.body);
	integ_assert_problem(&r, 404, "not-found");
	aster_test_response_free(&r);
}

/* DELETE ns/key with an optional header; status 204 or a problem. */
static void
del_hdr(const char *ns, const char *key, const char *header, int status,
        const char *code)
{
	char path[8192];
	const char *hdrs[2] = {header, NULL};
	struct aster_test_response r;

	doc_path(path, sizeof(path), ns, key);
	req("internal", "DELETE", path, header != NULL ? hdrs : NULL, NULL, 0,
	    &r);
	ck_assert_msg(r.status == status, "%s: DELETE %s%s%s: %d, expected %d; "
	              "body: %s", PROVIDER_NAME[PROV], path,
	              header != NULL ? " with " : "",
	              header != NULL ? header : "", r.status, status, r.body);
	if (status == 204)
		ck_assert_msg(r.body_len == 0, "DELETE 204 with a body: %s",
		              r.body);
	else
		integ_assert_problem(&r, status, code);
	aster_test_response_free(&r);
}

/* Any request expected to fail with status and code. */
static void
expect_problem(const char *scope, const char *method, const char *path,
               const char *body, int status, const char *code)
{
	struct aster_test_response r;

	req(scope, method, path, NULL, body, body != NULL ? strlen(body) : 0,
	    &r);
	ck_assert_msg(r.status == status, "%s: %s %s on %s: %d, expected %d "
	              "%s; body: %s", PROVIDER_NAME[PROV], method, path, scope,
	              r.status, status, code, r.body);
	integ_assert_problem(&r, status, code);
	aster_test_response_free(&r);
}

/* --- listing ---------------------------------------------------------------- */

struct page {
	json_object *root;          /* owns the rest */
	json_object *items;
	size_t n;
	const char *cursor;         /* NULL: null */
};

/* GET STATE ns?query: 200, application/json, {"items": [...], "cursor":
 * string or null}, every item exactly {key, value, etag}. */
static void
list(const char *ns, const char *query, struct page *pg)
{
	char path[8192], what[8400];
	struct aster_test_response r;
	json_object *c, *it, *v;
	size_t i;

	snprintf(path, sizeof(path), STATE "%s%s%s", ns,
	         query != NULL && *query != '\0' ? "?" : "",
	         query != NULL ? query : "");
	snprintf(what, sizeof(what), "%s: GET %s", PROVIDER_NAME[PROV], path);
	req("internal", "GET", path, NULL, NULL, 0, &r);
	ck_assert_msg(r.status == 200, "%s: %d, expected 200; body: %s", what,
	              r.status, r.body);
	expect_json_type(&r, what);
	pg->root = integ_json(&r);
	ck_assert_msg(json_object_object_length(pg->root) == 2 &&
	              json_object_object_get_ex(pg->root, "items", &pg->items) &&
	              json_object_is_type(pg->items, json_type_array) &&
	              json_object_object_get_ex(pg->root, "cursor", &c) &&
	              (c == NULL || json_object_is_type(c, json_type_string)),
	              "%s: body is not {\"items\": [...], \"cursor\": string "
	              "or null}: %s", what, r.body);
	pg->cursor = c != NULL ? json_object_get_string(c) : NULL;
	if (pg->cursor != NULL)
		ck_assert_msg(*pg->cursor != '\0', "%s: empty cursor", what);
	pg->n = json_object_array_length(pg->items);
	for (i = 0; i < pg->n; i++) {
		it = json_object_array_get_idx(pg->items, i);
		ck_assert_msg(json_object_is_type(it, json_type_object) &&
		              json_object_object_length(it) == 3 &&
		              integ_json_str(it, "key") != NULL &&
		              json_object_object_get_ex(it, "value", &v) &&
		              etag_value(integ_json_str(it, "etag")) > 0,
		              "%s: item %zu is not {key, value, etag \"N\"}: %s",
		              what, i, r.body);
	}
	aster_test_response_free(&r);
}

static const char *
item_key(const struct page *pg, size_t i)
{
	return integ_json_str(json_object_array_get_idx(pg->items, i), "key");
}

static uint64_t
item_etag(const struct page *pg, size_t i)
{
	return etag_value(integ_json_str(json_object_array_get_idx(pg->items,
	                                                           i), "etag"));
}

static json_object *
item_value(const struct page *pg, size_t i)
{
	json_object *v = NULL;

	json_object_object_get_ex(json_object_array_get_idx(pg->items, i),
	                          "value", &v);
	return v;
}

/* The page's item i holds value (JSON text). */
static void
assert_item_value(const struct page *pg, size_t i, const char *value)
{
	json_object *want = json_tokener_parse(value);

	ck_assert_msg(want != NULL, "test bug: '%s' is not JSON", value);
	ck_assert_msg(json_object_equal(item_value(pg, i), want),
	              "%s: item '%s' has value %s, expected %s",
	              PROVIDER_NAME[PROV], item_key(pg, i),
	              json_object_to_json_string(item_value(pg, i)), value);
	json_object_put(want);
}

/* The keys of a page are exactly keys[0..n), in that order. */
static void
assert_keys(const struct page *pg, const char *const *keys, size_t n,
            const char *what)
{
	size_t i;

	ck_assert_msg(pg->n == n, "%s: %s: %zu items, expected %zu: %s",
	              PROVIDER_NAME[PROV], what, pg->n, n,
	              json_object_to_json_string(pg->items));
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(item_key(pg, i), keys[i]) == 0,
		              "%s: %s: item %zu is '%s', expected '%s': %s",
		              PROVIDER_NAME[PROV], what, i, item_key(pg, i),
		              keys[i], json_object_to_json_string(pg->items));
}

static int
cmp_str(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: byte order. */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* --- documents: create, replace, read ------------------------------------- */

START_TEST(test_create_then_replace)
{
	uint64_t e1, e2, e3, e4;

	e1 = put("cr", "doc", "{\"a\":1}", 201);
	get_is("cr", "doc", "{\"a\":1}", e1);
	e2 = put("cr", "doc", "{\"a\":2}", 200);
	ck_assert_msg(e2 > e1, "%s: replacing gave ETag %" PRIu64 ", not "
	              "greater than %" PRIu64, PROVIDER_NAME[PROV], e2, e1);
	get_is("cr", "doc", "{\"a\":2}", e2);
	/* The same bytes again are still a new version. */
	e3 = put("cr", "doc", "{\"a\":2}", 200);
	ck_assert_msg(e3 > e2, "%s: replacing gave ETag %" PRIu64 ", not "
	              "greater than %" PRIu64, PROVIDER_NAME[PROV], e3, e2);
	get_is("cr", "doc", "{\"a\":2}", e3);
	/* Another key, another namespace: a version never handed out. */
	e4 = put("cr", "other", "[1]", 201);
	ck_assert_msg(e4 > e3, "%s: ETag %" PRIu64 " of a new key is not "
	              "greater than %" PRIu64, PROVIDER_NAME[PROV], e4, e3);
	ck_assert(put("cr2", "doc", "[2]", 201) > e4);
	/* The namespaces are apart. */
	get_is("cr", "doc", "{\"a\":2}", e3);
	get_is("cr2", "doc", "[2]", 0);
	get_missing("cr2", "other");
}
END_TEST

START_TEST(test_exact_bytes_and_head)
{
	static const char *const values[] = {
		"{ \"b\" : [1, 2.50, \"x\\u00e9\", true] ,\n\t\"c\":null }",
		"\"caf\xc3\xa9 \\\"quoted\\\" \\\\ \\/ \xf0\x9f\x8e\x89\"",
		"[true, false, null]",
		"[]",
		"{}",
		"  [1]\r\n",
		"\"\\ud83c\\udf89\"",
		"{\"nested\":{\"deep\":[[[{\"x\":[]}]]]},\"n\":1.000}",
	};
	char key[32], path[256], len[32];
	struct aster_test_response r;
	uint64_t v;
	size_t i;
	const char *cl;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(key, sizeof(key), "v%zu", i);
		v = put("bytes", key, values[i], 201);
		get_is("bytes", key, values[i], v);

		/* HEAD: the GET's status and headers, no body. */
		doc_path(path, sizeof(path), "bytes", key);
		req("internal", "HEAD", path, NULL, NULL, 0, &r);
		ck_assert_msg(r.status == 200, "%s: HEAD %s: %d",
		              PROVIDER_NAME[PROV], path, r.status);
		ck_assert_msg(expect_etag(&r, "HEAD") == v, "HEAD: another "
		              "ETag than GET");
		expect_json_type(&r, "HEAD");
		ck_assert_msg(r.body_len == 0, "HEAD with a body");
		cl = aster_test_header(&r, "Content-Length");
		snprintf(len, sizeof(len), "%zu", strlen(values[i]));
		ck_assert_msg(cl != NULL && strcmp(cl, len) == 0,
		              "%s: HEAD Content-Length '%s', expected that of "
		              "GET (%s)", PROVIDER_NAME[PROV],
		              cl != NULL ? cl : "(none)", len);
		aster_test_response_free(&r);
	}

	/* HEAD of a missing key: 404 without a body. */
	req("internal", "HEAD", STATE "bytes/nothing", NULL, NULL, 0, &r);
	ck_assert_msg(r.status == 404, "%s: HEAD of a missing key: %d",
	              PROVIDER_NAME[PROV], r.status);
	ck_assert_msg(r.body_len == 0, "HEAD 404 with a body");
	ck_assert(integ_valid_request_id(aster_test_header(&r,
	          "X-Request-Id")));
	aster_test_response_free(&r);
}
END_TEST

/* PUT without asserting: the status (0: no answer). */
static int
try_put(const char *ns, const char *key, const char *value, size_t len)
{
	char path[8192];
	struct aster_test_response r;
	int status;

	doc_path(path, sizeof(path), ns, key);
	aster_test_request(T, "internal", "PUT", path, NULL, value, len, &r);
	status = r.status;
	aster_test_response_free(&r);
	return status;
}

/* Numbers, true, false and null are JSON values too (RFC 8259 2), and
 * can stand alone. */
START_TEST(test_scalar_values)
{
	static const char *const values[] = {
		"42", "0", "-0.5e10", "1.5", "-7", "1E+2", "true", "false",
		"null", " 8 ", "9\n", "\"s\"",
	};
	char key[32], failed[2048] = "";
	size_t i, o = 0;
	int st;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(key, sizeof(key), "s%zu", i);
		st = try_put("scalars", key, values[i], strlen(values[i]));
		if (st != 201 && o < sizeof(failed) - 64)
			o += (size_t)snprintf(failed + o, sizeof(failed) - o,
			                      " '%s' (%d)", values[i], st);
		else if (st == 201)
			get_is("scalars", key, values[i], 0);
	}
	ck_assert_msg(o == 0, "%s: PUT of these JSON values was not 201:%s",
	              PROVIDER_NAME[PROV], failed);
}
END_TEST

START_TEST(test_not_found_problem)
{
	static const char *const hdrs[] = {"X-Request-Id: state-req-0001",
	                                   NULL};
	struct aster_test_response r;
	json_object *o;
	struct page pg;

	get_missing("nf", "absent");
	/* The requestId is the request's own when it sent one. */
	req("internal", "GET", STATE "nf/absent", hdrs, NULL, 0, &r);
	integ_assert_problem(&r, 404, "not-found");
	o = integ_json(&r);
	ck_assert_str_eq(integ_json_str(o, "requestId"), "state-req-0001");
	json_object_put(o);
	aster_test_response_free(&r);

	del_hdr("nf", "absent", NULL, 404, "not-found");
	/* Another namespace's key does not count. */
	put("nf-other", "absent", "[1]", 201);
	get_missing("nf", "absent");

	/* An empty (unknown) namespace lists nothing. */
	list("nf-empty", NULL, &pg);
	ck_assert_msg(pg.n == 0 && pg.cursor == NULL, "empty namespace: %s",
	              json_object_to_json_string(pg.root));
	json_object_put(pg.root);
}
END_TEST

/* --- conditions ------------------------------------------------------------- */

START_TEST(test_if_match)
{
	char t1[32], t2[32], t3[32], t4[32], h[128];
	uint64_t e1, e2, e3, e4, e5;

	e1 = put("im", "k", "[1]", 201);
	fmt_etag(t1, sizeof(t1), e1);
	/* The current version: the write happens. */
	e2 = put_if("im", "k", "[2]", "If-Match", t1, 200);
	ck_assert(e2 > e1);
	fmt_etag(t2, sizeof(t2), e2);
	/* A stale one: 412, nothing written. */
	put_if("im", "k", "[3]", "If-Match", t1, 412);
	get_is("im", "k", "[2]", e2);
	/* '*': any current version. */
	e3 = put_if("im", "k", "[3]", "If-Match", "*", 200);
	ck_assert(e3 > e2);
	fmt_etag(t3, sizeof(t3), e3);
	/* A weak tag never matches (If-Match compares strongly). */
	snprintf(h, sizeof(h), "W/%s", t3);
	put_if("im", "k", "[4]", "If-Match", h, 412);
	get_is("im", "k", "[3]", e3);
	/* A list holding the current version. */
	snprintf(h, sizeof(h), "\"123456789\", %s", t3);
	e4 = put_if("im", "k", "[4]", "If-Match", h, 200);
	ck_assert(e4 > e3);
	fmt_etag(t4, sizeof(t4), e4);
	snprintf(h, sizeof(h), "%s,%s", t4, t1);
	e5 = put_if("im", "k", "[5]", "If-Match", h, 200);
	ck_assert(e5 > e4);
	/* A list of stale ones, and one with only a weak current one. */
	snprintf(h, sizeof(h), "%s, %s, %s", t1, t2, t3);
	put_if("im", "k", "[6]", "If-Match", h, 412);
	snprintf(h, sizeof(h), "%s, W/\"%" PRIu64 "\"", t1, e5);
	put_if("im", "k", "[6]", "If-Match", h, 412);
	get_is("im", "k", "[5]", e5);

	/* On a missing key If-Match fails, with a tag or '*', and creates
	 * nothing. */
	put_if("im", "absent", "[1]", "If-Match", t4, 412);
	put_if("im", "absent", "[1]", "If-Match", "*", 412);
	get_missing("im", "absent");
}
END_TEST

START_TEST(test_if_none_match_star)
{
	uint64_t e1;

	/* Absent: created. */
	e1 = put_if("inm", "k", "{\"first\":true}", "If-None-Match", "*", 201);
	get_is("inm", "k", "{\"first\":true}", e1);
	/* Present: 412, unchanged. */
	put_if("inm", "k", "{\"first\":false}", "If-None-Match", "*", 412);
	get_is("inm", "k", "{\"first\":true}", e1);
	/* Gone again: creatable again. */
	del_hdr("inm", "k", NULL, 204, NULL);
	ck_assert(put_if("inm", "k", "[2]", "If-None-Match", "*", 201) > e1);
}
END_TEST

/* GET with If-None-Match: the tag in path's document, h the header. */
static void
conditional_get(const char *path, const char *h, int status, uint64_t version)
{
	const char *hdrs[2] = {h, NULL};
	struct aster_test_response r;

	req("internal", "GET", path, hdrs, NULL, 0, &r);
	ck_assert_msg(r.status == status, "%s: GET %s with %s: %d, expected "
	              "%d; body: %s", PROVIDER_NAME[PROV], path, h, r.status,
	              status, r.body);
	ck_assert_msg(expect_etag(&r, h) == version, "%s: GET with %s: ETag "
	              "is not the current version %" PRIu64,
	              PROVIDER_NAME[PROV], h, version);
	if (status == 304)
		ck_assert_msg(r.body_len == 0, "304 with a body: %s", r.body);
	else
		ck_assert_msg(r.body_len > 0, "200 without a body");
	aster_test_response_free(&r);
}

START_TEST(test_get_if_none_match)
{
	char h[128];
	uint64_t e1, e2;

	e1 = put("gnm", "k", "{\"v\":1}", 201);
	snprintf(h, sizeof(h), "If-None-Match: \"%" PRIu64 "\"", e1);
	conditional_get(STATE "gnm/k", h, 304, e1);
	conditional_get(STATE "gnm/k", "If-None-Match: \"999999999\"", 200, e1);
	conditional_get(STATE "gnm/k", "If-None-Match: *", 304, e1);
	snprintf(h, sizeof(h), "If-None-Match: \"1\", \"%" PRIu64 "\"", e1);
	conditional_get(STATE "gnm/k", h, 304, e1);
	/* A new version: the old tag no longer matches. */
	e2 = put("gnm", "k", "{\"v\":2}", 200);
	snprintf(h, sizeof(h), "If-None-Match: \"%" PRIu64 "\"", e1);
	conditional_get(STATE "gnm/k", h, 200, e2);
	snprintf(h, sizeof(h), "If-None-Match: \"%" PRIu64 "\"", e2);
	conditional_get(STATE "gnm/k", h, 304, e2);

	/* A missing key is still 404. */
	{
		static const char *const star[] = {"If-None-Match: *", NULL};
		struct aster_test_response r;

		req("internal", "GET", STATE "gnm/absent", star, NULL, 0, &r);
		integ_assert_problem(&r, 404, "not-found");
		aster_test_response_free(&r);
	}
}
END_TEST

/* RFC 9110 13.1.2: If-None-Match compares weakly, so W/"N" matches "N". */
START_TEST(test_get_if_none_match_weak)
{
	char h[128];
	uint64_t e1;

	e1 = put("gnmw", "k", "[1]", 201);
	snprintf(h, sizeof(h), "If-None-Match: W/\"%" PRIu64 "\"", e1);
	conditional_get(STATE "gnmw/k", h, 304, e1);
}
END_TEST

START_TEST(test_delete)
{
	char h[128];
	uint64_t e1, e2;

	e1 = put("del", "k", "[1]", 201);
	e2 = put("del", "k", "[2]", 200);
	/* Stale If-Match: 412, still there. */
	snprintf(h, sizeof(h), "If-Match: \"%" PRIu64 "\"", e1);
	del_hdr("del", "k", h, 412, "precondition-failed");
	get_is("del", "k", "[2]", e2);
	/* The current one: 204, gone. */
	snprintf(h, sizeof(h), "If-Match: \"%" PRIu64 "\"", e2);
	del_hdr("del", "k", h, 204, NULL);
	get_missing("del", "k");
	/* Again: 404; with If-Match: 412 (no current version matches). */
	del_hdr("del", "k", NULL, 404, "not-found");
	del_hdr("del", "k", h, 412, "precondition-failed");
	/* Unconditional, and with '*'. */
	put("del", "a", "[1]", 201);
	put("del", "b", "[1]", 201);
	del_hdr("del", "a", NULL, 204, NULL);
	del_hdr("del", "b", "If-Match: *", 204, NULL);
	get_missing("del", "a");
	get_missing("del", "b");
}
END_TEST

START_TEST(test_recreate_gets_new_etag)
{
	uint64_t seen[64], v, max = 0;
	size_t nseen = 0, i, round;
	char tag[32];

	for (round = 0; round < 3; round++) {
		v = put("re", "k", "{\"round\":0}", 201);
		for (i = 0; i < nseen; i++)
			ck_assert_msg(seen[i] != v, "%s: re-created key got ETag "
			              "%" PRIu64 ", handed out before",
			              PROVIDER_NAME[PROV], v);
		ck_assert_msg(v > max, "%s: re-created key got ETag %" PRIu64
		              ", not greater than %" PRIu64, PROVIDER_NAME[PROV],
		              v, max);
		seen[nseen++] = max = v;
		v = put("re", "k", "{\"round\":1}", 200);
		seen[nseen++] = max = v;
		/* Other keys move on too. */
		seen[nseen++] = max = put("re", "other", "[0]", round ? 200 : 201);
		del_hdr("re", "k", NULL, 204, NULL);
	}
	/* A version from before the delete does not match the new one. */
	fmt_etag(tag, sizeof(tag), seen[nseen - 2]);
	v = put("re", "k", "\"new\"", 201);
	ck_assert(v > max);
	put_if("re", "k", "\"stale\"", "If-Match", tag, 412);
	get_is("re", "k", "\"new\"", v);
}
END_TEST

/* --- bodies ------------------------------------------------------------------ */

START_TEST(test_invalid_json)
{
	static const struct { const char *text; size_t len; } bad[] = {
		{"{\"a\":1} x", 9},             /* trailing garbage */
		{"{\"a\":1}{\"b\":2}", 14},     /* two values */
		{"[1,2] 3", 7},
		{"", 0},                        /* empty */
		{"   \n", 4},                   /* white space only */
		{"{\"a\":", 5},                 /* truncated */
		{"[1,2", 4},
		{"\"unterminated", 13},
		{"tru", 3},
		{"hello", 5},                   /* not JSON */
		{"{'a':1}", 7},
		{"[1,]", 4},
		{"{\"a\":1,}", 8},
		{"{\"a\":\"x\0y\"}", 11},       /* a NUL byte */
	};
	struct aster_test_response r;
	char failed[2048] = "";
	size_t i, o = 0;
	uint64_t v;

	v = put("json", "k", "{\"ok\":true}", 201);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st1 = try_put("json", "k", bad[i].text, bad[i].len);
		int st2 = try_put("json", "absent", bad[i].text, bad[i].len);

		if ((st1 != 400 || st2 != 400) && o < sizeof(failed) - 64)
			o += (size_t)snprintf(failed + o, sizeof(failed) - o,
			                      " '%.*s' (%d, %d)", (int)bad[i].len,
			                      bad[i].text, st1, st2);
		if (st1 == 400)
			put_hdr("json", "k", bad[i].text, bad[i].len, NULL, 400,
			        "invalid-json");
	}
	ck_assert_msg(o == 0, "%s: PUT of these bodies (on an existing key, "
	              "on a missing one) was not 400 invalid-json:%s",
	              PROVIDER_NAME[PROV], failed);
	/* No body at all (no Content-Length). */
	req("internal", "PUT", STATE "json/k", NULL, NULL, 0, &r);
	integ_assert_problem(&r, 400, "invalid-json");
	aster_test_response_free(&r);
	/* Nothing was written. */
	get_is("json", "k", "{\"ok\":true}", v);
	get_missing("json", "absent");
}
END_TEST

/* JSON text is UTF-8 (RFC 8259 8.1): other bytes in a string are not
 * JSON, and every provider must answer alike. */
START_TEST(test_invalid_json_utf8)
{
	put_hdr("json8", "k", "\"\xff\xfe\"", 4, NULL, 400, "invalid-json");
	put_hdr("json8", "k", "[\"\xc3\"]", 5, NULL, 400, "invalid-json");
	get_missing("json8", "k");
}
END_TEST

START_TEST(test_body_too_large)
{
	char *body = malloc(BODY_MAX + 2);
	uint64_t v;

	ck_assert(body != NULL);
	/* A JSON string of exactly max_body_bytes: stored. */
	memset(body, 'x', BODY_MAX);
	body[0] = body[BODY_MAX - 1] = '"';
	body[BODY_MAX] = '\0';
	v = put("big", "k", body, 201);
	get_is("big", "k", body, v);
	/* One more byte: 413, nothing written. */
	body[BODY_MAX - 1] = 'x';
	body[BODY_MAX] = '"';
	body[BODY_MAX + 1] = '\0';
	put_hdr("big", "k", body, BODY_MAX + 1, NULL, 413, "payload-too-large");
	put_hdr("big", "absent", body, BODY_MAX + 1, NULL, 413,
	        "payload-too-large");
	body[BODY_MAX - 1] = '"';
	body[BODY_MAX] = '\0';
	get_is("big", "k", body, v);
	get_missing("big", "absent");
	free(body);
}
END_TEST

/* --- names ------------------------------------------------------------------- */

START_TEST(test_bad_namespace)
{
	char long_ns[200], path[512];
	const char *bad[] = {"has%20space", "colon:ns", "star*", "a+b", "a%25b",
	                     "%C3%A9t%C3%A9", "a%22b", long_ns};
	size_t i;

	memset(long_ns, 'n', 129);
	long_ns[129] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), STATE "%s/k", bad[i]);
		expect_problem("internal", "GET", path, NULL, 400,
		               "bad-request");
		expect_problem("internal", "PUT", path, "[1]", 400,
		               "bad-request");
		expect_problem("internal", "DELETE", path, NULL, 400,
		               "bad-request");
		snprintf(path, sizeof(path), STATE "%s", bad[i]);
		expect_problem("internal", "GET", path, NULL, 400,
		               "bad-request");
	}
	/* 128 letters, and '.', '_', '-' are fine. */
	long_ns[128] = '\0';
	put(long_ns, "k", "[1]", 201);
	get_is(long_ns, "k", "[1]", 0);
	put("Ok.name_with-dash9", "k", "[2]", 201);
	get_is("Ok.name_with-dash9", "k", "[2]", 0);
}
END_TEST

START_TEST(test_key_utf8_roundtrip)
{
	/* café ☕ 日本語 🎉 with a space, '%', '+', '_', ':' and '~'. */
	static const char key[] = "caf\xc3\xa9 \xe2\x98\x95 "
	                          "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
	                          "\xf0\x9f\x8e\x89 100%_x+y:~";
	char path[1024], k512[600];
	struct page pg;
	uint64_t v;
	size_t i;
	static const char *const bad[] = {
		"%FF", "ab%FE", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%C3",
		"a%01b", "%7F", "%E2%98",
	};

	v = put("keys", key, "{\"k\":\"utf8\"}", 201);
	get_is("keys", key, "{\"k\":\"utf8\"}", v);
	list("keys", NULL, &pg);
	ck_assert_msg(pg.n == 1 && strcmp(item_key(&pg, 0), key) == 0,
	              "%s: the list does not show the UTF-8 key: %s",
	              PROVIDER_NAME[PROV], json_object_to_json_string(pg.root));
	ck_assert(item_etag(&pg, 0) == v);
	json_object_put(pg.root);

	/* Percent-encoded or not, an unreserved character is the same. */
	{
		struct aster_test_response r;

		req("internal", "GET", STATE "keys/caf%C3%A9%20%E2%98%95%20"
		    "%E6%97%A5%E6%9C%AC%E8%AA%9E%20%F0%9F%8E%89%20%31%30%30%25"
		    "%5F%78%2B%79%3A%7E", NULL, NULL, 0, &r);
		ck_assert_msg(r.status == 200 && strcmp(r.body,
		              "{\"k\":\"utf8\"}") == 0, "%s: the key with "
		              "every byte percent-encoded: %d %s",
		              PROVIDER_NAME[PROV], r.status, r.body);
		aster_test_response_free(&r);
	}

	/* The path is decoded once: %2541 is the key "%41", not "A". */
	put("keys", "%41", "\"percent\"", 201);
	get_missing("keys", "A");
	get_is("keys", "%41", "\"percent\"", 0);

	/* 512 bytes is the longest key. */
	memset(k512, 'k', 512);
	k512[512] = '\0';
	put("keys", k512, "[512]", 201);
	get_is("keys", k512, "[512]", 0);
	k512[512] = 'k';
	k512[513] = '\0';
	snprintf(path, sizeof(path), STATE "keys/%s", k512);
	expect_problem("internal", "PUT", path, "[513]", 400, "bad-request");
	expect_problem("internal", "GET", path, NULL, 400, "bad-request");

	/* Not UTF-8, or control characters. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), STATE "keys/%s", bad[i]);
		expect_problem("internal", "PUT", path, "[1]", 400, "bad-request");
		expect_problem("internal", "GET", path, NULL, 400,
		               "bad-request");
		expect_problem("internal", "DELETE", path, NULL, 400,
		               "bad-request");
	}
}
END_TEST

/* --- keys and path segments (SPEC 7.1) ------------------------------------- */

/* expect_problem on the internal listener, with the detail holding what. */
static void
expect_problem_detail(const char *method, const char *path, const char *body,
                      int status, const char *code, const char *what)
{
	struct aster_test_response r;
	json_object *o;
	const char *detail;

	req("internal", method, path, NULL, body, body != NULL ? strlen(body) : 0,
	    &r);
	ck_assert_msg(r.status == status, "%s: %s %s: %d, expected %d %s; "
	              "body: %s", PROVIDER_NAME[PROV], method, path, r.status,
	              status, code, r.body);
	integ_assert_problem(&r, status, code);
	o = integ_json(&r);
	detail = integ_json_str(o, "detail");
	ck_assert_msg(detail != NULL && strstr(detail, what) != NULL,
	              "%s: %s %s: detail '%s', expected it to say '%s'",
	              PROVIDER_NAME[PROV], method, path,
	              detail != NULL ? detail : "(none)", what);
	json_object_put(o);
	aster_test_response_free(&r);
}

/* The raw path answers GET with value (the key's document). */
static void
get_raw_is(const char *path, const char *value)
{
	struct aster_test_response r;

	req("internal", "GET", path, NULL, NULL, 0, &r);
	ck_assert_msg(r.status == 200 && r.body_len == strlen(value) &&
	              memcmp(r.body, value, r.body_len) == 0,
	              "%s: GET %s: %d '%s', expected 200 '%s'",
	              PROVIDER_NAME[PROV], path, r.status, r.body, value);
	aster_test_response_free(&r);
}

/*
 * An encoded slash stays inside its segment: "a%2Fb" is the key "a/b", in
 * either case of the escape, and a key may begin, end or be made of '/'.
 * The answers name the key decoded.
 */
START_TEST(test_key_with_encoded_slash)
{
	static const char *const keys[] = {"a/b", "/lead", "trail/", "a//b",
	                                   "/", "x/y/z"};
	struct aster_test_response r;
	struct page pg;
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char value[64];

		snprintf(value, sizeof(value), "{\"i\":%zu}", i);
		v = put("slash", keys[i], value, 201);
		get_is("slash", keys[i], value, v);
	}
	get_raw_is(STATE "slash/a%2fb", "{\"i\":0}");
	get_raw_is(STATE "slash/a%2Fb", "{\"i\":0}");
	/* Not the key "b" below a namespace path "slash/a". */
	expect_problem("internal", "GET", STATE "slash/a/b", NULL, 404,
	               "route-not-found");
	get_missing("slash", "a");
	get_missing("slash", "b");

	/* The namespace is one segment too: "sl%2Fash" is not a name. */
	expect_problem("internal", "GET", STATE "sl%2Fash/a%2Fb", NULL, 400,
	               "bad-request");

	/* Listed as the keys they are: "a/b" in the JSON, not "a\/b". */
	list("slash", NULL, &pg);
	{
		const char *want[] = {"/", "/lead", "a//b", "a/b", "trail/",
		                      "x/y/z"};

		assert_keys(&pg, want, 6, "keys with '/'");
	}
	json_object_put(pg.root);
	req("internal", "GET", STATE "slash?prefix=a/", NULL, NULL, 0, &r);
	ck_assert_msg(r.status == 200 && strstr(r.body, "\"key\":\"a/b\"") &&
	              strstr(r.body, "\"key\":\"a//b\"") &&
	              strstr(r.body, "\\/") == NULL,
	              "%s: the list's JSON: %s", PROVIDER_NAME[PROV], r.body);
	aster_test_response_free(&r);
	/* The prefix is a query value, decoded there: '/' as is or %2F. */
	list("slash", "prefix=a/", &pg);
	{
		const char *want[] = {"a//b", "a/b"};

		assert_keys(&pg, want, 2, "prefix=a/");
	}
	json_object_put(pg.root);
	list("slash", "prefix=a%2F", &pg);
	{
		const char *want[] = {"a//b", "a/b"};

		assert_keys(&pg, want, 2, "prefix=a%2F");
	}
	json_object_put(pg.root);
	list("slash", "prefix=%2F", &pg);
	{
		const char *want[] = {"/", "/lead"};

		assert_keys(&pg, want, 2, "prefix=%2F");
	}
	json_object_put(pg.root);

	/* Each is deleted on its own. */
	del_hdr("slash", "a/b", NULL, 204, NULL);
	get_missing("slash", "a/b");
	get_is("slash", "a//b", "{\"i\":3}", 0);
	get_is("slash", "x/y/z", "{\"i\":5}", 0);
}
END_TEST

/*
 * Dot segments are resolved before matching, encoded or not (SPEC 7.1):
 * ".../ns/%2E%2E" is ".../state/", a path no route has, and never the
 * key ".."; ".../ns/x/%2e%2e/k" is the key "k". "..." is an ordinary key.
 */
START_TEST(test_dot_segments_resolved)
{
	static const char *const gone[] = {
		STATE "dots/%2E%2E", STATE "dots/%2e%2e", STATE "dots/.%2e",
		STATE "dots/%2e.", STATE "dots/..", STATE "dots/%2e",
		STATE "dots/%2E", STATE "dots/.",
	};
	static const char *const methods[] = {"PUT", "GET", "DELETE"};
	struct aster_test_response r;
	json_object *o;
	struct page pg;
	size_t i, j;

	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		for (j = 0; j < 3; j++)
			expect_problem("internal", methods[j], gone[i],
			               j == 0 ? "[1]" : NULL, 404,
			               "route-not-found");

	/* Routed as the resolved path: the key "k" of "dots". */
	req("internal", "PUT", STATE "dots/x/%2E%2E/k", NULL, "[2]", 3, &r);
	ck_assert_msg(r.status == 201, "%s: PUT dots/x/%%2E%%2E/k: %d %s",
	              PROVIDER_NAME[PROV], r.status, r.body);
	o = integ_json(&r);
	ck_assert_msg(strcmp(integ_json_str(o, "namespace"), "dots") == 0 &&
	              strcmp(integ_json_str(o, "key"), "k") == 0,
	              "%s: PUT dots/x/%%2E%%2E/k answered %s",
	              PROVIDER_NAME[PROV], r.body);
	json_object_put(o);
	aster_test_response_free(&r);
	get_is("dots", "k", "[2]", 0);
	get_raw_is(STATE "dots/%2e/k", "[2]");
	get_raw_is(STATE "other/%2e%2e/dots/./k", "[2]");
	get_raw_is(STATE "dots/k/%2E%2E/%2e%2e/dots/k", "[2]");
	/* Never above "/": the climb stops at the root. */
	get_raw_is("/%2e%2e/%2E%2E/.." STATE "dots/k", "[2]");

	/* Three dots, and dots inside a key, are keys. */
	put("dots", "...", "[3]", 201);
	get_raw_is(STATE "dots/%2e%2e%2e", "[3]");
	put("dots", "..x", "[4]", 201);
	put("dots", "a/..", "[5]", 201);
	get_raw_is(STATE "dots/a%2F%2E%2E", "[5]");
	get_raw_is(STATE "dots/a%2F..", "[5]");

	/* Only the keys written: no ".", no "..". */
	list("dots", NULL, &pg);
	{
		const char *want[] = {"...", "..x", "a/..", "k"};

		assert_keys(&pg, want, 4, "after the dot segments");
	}
	json_object_put(pg.root);
}
END_TEST

/*
 * Each segment is decoded once: "%25" is a '%' in the key, "%252F" the
 * three characters "%2F". A segment that decodes to NUL or to bytes that
 * are not UTF-8 is a 400 from the server itself, before any route, and
 * changes nothing.
 */
START_TEST(test_key_percent_and_bad_segments)
{
	static const struct {
		const char *seg;
		const char *detail;
	} bad[] = {
		{"a%00b", "NUL"},
		{"%00", "NUL"},
		{"%FF", "UTF-8"},
		{"a%C0%AFb", "UTF-8"},
		{"%ED%A0%80", "UTF-8"},
		{"%C0%AE%C0%AE", "UTF-8"},
		{"%F4%90%80%80", "UTF-8"},
		{"%E2%98", "UTF-8"},
		{"a%zz", "percent-encoding"},
		{"a%4", "percent-encoding"},
	};
	static const char *const methods[] = {"PUT", "GET", "DELETE"};
	char path[512];
	struct page pg;
	size_t i, j;

	put("pct", "%", "[1]", 201);
	get_raw_is(STATE "pct/%25", "[1]");
	put("pct", "100%", "[2]", 201);
	put("pct", "%2F", "[3]", 201);
	get_raw_is(STATE "pct/%252F", "[3]");
	/* "%252f" is the key "%2f", another key than "%2F". */
	expect_problem("internal", "GET", STATE "pct/%252f", NULL, 404,
	               "not-found");
	put("pct", "%2f", "[4]", 201);
	get_raw_is(STATE "pct/%252f", "[4]");
	put("pct", "/", "[5]", 201);
	get_raw_is(STATE "pct/%2F", "[5]");
	put("pct", "\xe2\x98\x95/\xc3\xa9", "[6]", 201);
	get_raw_is(STATE "pct/%E2%98%95%2F%C3%A9", "[6]");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (j = 0; j < 3; j++) {
			snprintf(path, sizeof(path), STATE "pct/%s", bad[i].seg);
			expect_problem_detail(methods[j], path,
			                      j == 0 ? "[0]" : NULL, 400,
			                      "bad-request", bad[i].detail);
			/* In the namespace, or in a segment that ".."
			 * removes, as much. */
			snprintf(path, sizeof(path), STATE "%s/k", bad[i].seg);
			expect_problem_detail(methods[j], path,
			                      j == 0 ? "[0]" : NULL, 400,
			                      "bad-request", bad[i].detail);
			snprintf(path, sizeof(path), STATE "pct/%s/../k",
			         bad[i].seg);
			expect_problem_detail(methods[j], path,
			                      j == 0 ? "[0]" : NULL, 400,
			                      "bad-request", bad[i].detail);
		}
	}
	list("pct", NULL, &pg);
	{
		const char *want[] = {"%", "%2F", "%2f", "/", "100%",
		                      "\xe2\x98\x95/\xc3\xa9"};

		assert_keys(&pg, want, 6, "after the refused segments");
	}
	json_object_put(pg.root);
	/* The server is still there for the next request. */
	get_raw_is(STATE "pct/%25", "[1]");
}
END_TEST

/* --- listing ---------------------------------------------------------------- */

START_TEST(test_list_byte_order)
{
	static const char *const keys[] = {
		"b", "a", "B", "a0", "ab", "a b", "\xc3\xa9", "Z", "~", "0",
		"a\xc3\xa9", "A", "_", "a-", "a.b", "\xf0\x9f\x8e\x89", "aB",
		"z", "\xc3\xa9t\xc3\xa9", "10", "9", "a~", "e", "E",
	};
	enum { N = sizeof(keys) / sizeof(keys[0]) };
	const char *sorted[N];
	uint64_t tags[N];
	char value[64];
	struct page pg;
	size_t i, j;

	for (i = 0; i < N; i++) {
		snprintf(value, sizeof(value), "{\"i\":%zu}", i);
		tags[i] = put("order", keys[i], value, 201);
		sorted[i] = keys[i];
	}
	qsort(sorted, N, sizeof(sorted[0]), cmp_str);
	list("order", "limit=1000", &pg);
	assert_keys(&pg, sorted, N, "byte order");
	ck_assert(pg.cursor == NULL);
	for (i = 0; i < N; i++) {
		for (j = 0; strcmp(keys[j], sorted[i]) != 0; j++)
			;
		snprintf(value, sizeof(value), "{\"i\":%zu}", j);
		assert_item_value(&pg, i, value);
		ck_assert_msg(item_etag(&pg, i) == tags[j], "%s: item '%s': "
		              "etag \"%" PRIu64 "\", expected \"%" PRIu64 "\"",
		              PROVIDER_NAME[PROV], sorted[i], item_etag(&pg, i),
		              tags[j]);
	}
	json_object_put(pg.root);
	/* Without a limit, the same (fewer than the default). */
	list("order", NULL, &pg);
	assert_keys(&pg, sorted, N, "no limit");
	json_object_put(pg.root);
}
END_TEST

START_TEST(test_list_prefix)
{
	static const char *const keys[] = {
		"p%1", "p%2", "pa1", "pA2", "p_1", "p_x", "pX1", "p\\1", "p\\2",
		"px", "q%", "P%1", "p", "\xc3\xa9" "1", "\xc3\xa9" "a", "f1",
		"pa%", "o", "\xf4\x8f\xbf\xbfz",
	};
	static const struct {
		const char *query;
		const char *want[16];
	} cases[] = {
		{"prefix=p%25", {"p%1", "p%2"}},
		{"prefix=p_", {"p_1", "p_x"}},
		{"prefix=p%5F", {"p_1", "p_x"}},
		{"prefix=p%5C", {"p\\1", "p\\2"}},
		{"prefix=pa%25", {"pa%"}},
		{"prefix=p", {"p", "p%1", "p%2", "pA2", "pX1", "p\\1", "p\\2",
		              "p_1", "p_x", "pa%", "pa1", "px"}},
		{"prefix=P", {"P%1"}},
		{"prefix=pa", {"pa%", "pa1"}},
		{"prefix=%C3%A9", {"\xc3\xa9" "1", "\xc3\xa9" "a"}},
		{"prefix=%F4%8F%BF%BF", {"\xf4\x8f\xbf\xbfz"}},
		{"prefix=q%25", {"q%"}},
		{"prefix=px", {"px"}},
		{"prefix=zzz", {NULL}},
		{"prefix=%25", {NULL}},
		{"prefix=_", {NULL}},
	};
	size_t i, n;
	struct page pg;
	const char *all[32];

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		put("prefix", keys[i], "[1]", 201);
		all[i] = keys[i];
	}
	put("prefix-other", "p%1", "[1]", 201);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 0; n < 16 && cases[i].want[n] != NULL; n++)
			;
		list("prefix", cases[i].query, &pg);
		assert_keys(&pg, cases[i].want, n, cases[i].query);
		ck_assert_msg(pg.cursor == NULL, "%s: cursor after the only "
		              "page", cases[i].query);
		json_object_put(pg.root);
	}
	/* An empty prefix is every key. */
	n = sizeof(keys) / sizeof(keys[0]);
	qsort(all, n, sizeof(all[0]), cmp_str);
	list("prefix", "prefix=", &pg);
	assert_keys(&pg, all, n, "prefix=");
	json_object_put(pg.root);

	/* Pages of a prefix stay within it. */
	{
		const char *got[32];
		char q[512];
		size_t ngot = 0, pages = 0;
		const char *want[] = {"p", "p%1", "p%2", "pA2", "pX1", "p\\1",
		                      "p\\2", "p_1", "p_x", "pa%", "pa1", "px"};
		char *cursor = NULL;

		do {
			snprintf(q, sizeof(q), "prefix=p&limit=5%s%s",
			         cursor != NULL ? "&cursor=" : "",
			         cursor != NULL ? cursor : "");
			free(cursor);
			cursor = NULL;
			list("prefix", q, &pg);
			for (i = 0; i < pg.n; i++) {
				ck_assert(ngot < 32);
				got[ngot++] = strdup(item_key(&pg, i));
			}
			if (pg.cursor != NULL) {
				char enc[512];

				pct(enc, sizeof(enc), pg.cursor);
				cursor = strdup(enc);
			}
			json_object_put(pg.root);
			ck_assert(++pages <= 10);
		} while (cursor != NULL);
		ck_assert_msg(ngot == 12, "%s: paging prefix=p by 5 gave %zu "
		              "keys, expected 12", PROVIDER_NAME[PROV], ngot);
		for (i = 0; i < ngot; i++) {
			ck_assert_msg(strcmp(got[i], want[i]) == 0,
			              "%s: paging prefix=p: key %zu is '%s', "
			              "expected '%s'", PROVIDER_NAME[PROV], i,
			              got[i], want[i]);
			free((char *)got[i]);
		}
	}
}
END_TEST

START_TEST(test_list_limit)
{
	static const char *const keys[] = {"k1", "k2", "k3", "k4", "k5"};
	static const char *const bad[] = {
		"limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=",
		"limit=1.5", "limit=99999999999999999999", "limit=%2B5",
		"limit=5x", "limit=%205",
	};
	char q[256], enc[256];
	struct page pg;
	size_t i;

	for (i = 0; i < 5; i++)
		put("limit", keys[i], "[true]", 201);
	list("limit", "limit=1", &pg);
	assert_keys(&pg, keys, 1, "limit=1");
	ck_assert_msg(pg.cursor != NULL, "limit=1 of 5: cursor null");
	json_object_put(pg.root);
	/* Exactly as many as there are: the cursor is null. */
	list("limit", "limit=5", &pg);
	assert_keys(&pg, keys, 5, "limit=5");
	ck_assert_msg(pg.cursor == NULL, "%s: limit=5 of 5 keys: cursor '%s', "
	              "expected null", PROVIDER_NAME[PROV], pg.cursor);
	json_object_put(pg.root);
	list("limit", "limit=4", &pg);
	assert_keys(&pg, keys, 4, "limit=4");
	ck_assert_msg(pg.cursor != NULL, "limit=4 of 5: cursor null");
	pct(enc, sizeof(enc), pg.cursor);
	ck_assert((size_t)snprintf(q, sizeof(q), "limit=4&cursor=%s", enc) <
	          sizeof(q));
	json_object_put(pg.root);
	list("limit", q, &pg);
	assert_keys(&pg, keys + 4, 1, "the page after limit=4");
	ck_assert(pg.cursor == NULL);
	json_object_put(pg.root);
	list("limit", "limit=1000", &pg);
	assert_keys(&pg, keys, 5, "limit=1000");
	ck_assert(pg.cursor == NULL);
	json_object_put(pg.root);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(q, sizeof(q), STATE "limit?%s", bad[i]);
		expect_problem("internal", "GET", q, NULL, 400, "bad-request");
	}
}
END_TEST

/* The store as a test sees it while paging: a sorted set of keys. */
struct model {
	char *keys[128];
	char *values[128];
	size_t n;
};

static void
model_put(struct model *m, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0) {
			free(m->values[i]);
			m->values[i] = strdup(value);
			put("page", key, value, 200);
			return;
		}
	ck_assert(m->n < 128);
	m->keys[m->n] = strdup(key);
	m->values[m->n++] = strdup(value);
	put("page", key, value, 201);
}

static void
model_del(struct model *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0) {
			free(m->keys[i]);
			free(m->values[i]);
			m->keys[i] = m->keys[m->n - 1];
			m->values[i] = m->values[m->n - 1];
			m->n--;
			del_hdr("page", key, NULL, 204, NULL);
			return;
		}
	ck_abort_msg("test bug: %s is not in the model", key);
}

static const char *
model_value(const struct model *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return m->values[i];
	return NULL;
}

START_TEST(test_list_pagination_stable)
{
	struct model m = {{NULL}, {NULL}, 0};
	/* Keys present from the first page to the last, never touched. */
	int untouched[64] = {0};
	char key[32], value[64], q[512], enc[512];
	char *seen[256], *cursor = NULL;
	size_t nseen = 0, pages = 0, i, j, n;
	struct page pg;
	char *last = NULL;
	/* What must and must not show up. */
	static const char *const must[] = {"k065", "k205", "k99", "k20"};
	static const char *const never[] = {"k015", "k30", "k39", "k071"};

	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%02zu", i);
		snprintf(value, sizeof(value), "{\"i\":%zu}", i);
		model_put(&m, key, value);
		untouched[i] = 1;
	}

	for (;;) {
		snprintf(q, sizeof(q), "limit=7%s%s",
		         cursor != NULL ? "&cursor=" : "",
		         cursor != NULL ? cursor : "");
		free(cursor);
		cursor = NULL;
		list("page", q, &pg);
		for (i = 0; i < pg.n; i++) {
			const char *k = item_key(&pg, i);
			const char *v = model_value(&m, k);

			ck_assert_msg(v != NULL, "%s: page %zu lists '%s', which "
			              "does not exist now", PROVIDER_NAME[PROV],
			              pages, k);
			assert_item_value(&pg, i, v);
			ck_assert_msg(last == NULL || strcmp(last, k) < 0,
			              "%s: page %zu: '%s' after '%s': not in "
			              "byte order, or listed twice",
			              PROVIDER_NAME[PROV], pages, k, last);
			ck_assert(nseen < 256);
			seen[nseen++] = last = strdup(k);
		}
		ck_assert_msg(pg.n <= 7, "limit=7 gave %zu", pg.n);
		if (pg.cursor != NULL) {
			ck_assert_msg(pg.n == 7, "%s: a page of %zu items with a "
			              "cursor", PROVIDER_NAME[PROV], pg.n);
			pct(enc, sizeof(enc), pg.cursor);
			cursor = strdup(enc);
		}
		json_object_put(pg.root);
		pages++;
		ck_assert_msg(pages <= 40, "more than 40 pages of 7 for ~40 "
		              "keys: the cursor does not advance");
		if (cursor == NULL)
			break;

		/* Change the namespace between pages (last is the key the
		 * cursor stands on). */
		switch (pages) {
		case 1:         /* last is k06 */
			model_del(&m, "k03");           /* behind */
			untouched[3] = 0;
			model_del(&m, "k06");           /* the cursor's own key */
			untouched[6] = 0;
			model_put(&m, "k065", "\"ahead\"");   /* ahead */
			model_put(&m, "k015", "\"behind\"");  /* behind */
			model_del(&m, "k30");           /* ahead: never seen */
			untouched[30] = 0;
			model_put(&m, "k12", "{\"i\":\"changed\"}"); /* ahead */
			untouched[12] = 0;
			break;
		case 2:
			model_del(&m, "k20");           /* ahead, then back */
			model_put(&m, "k205", "\"ahead too\"");
			model_put(&m, "k99", "\"at the end\"");
			model_del(&m, "k39");
			untouched[39] = 0;
			break;
		case 3:
			model_put(&m, "k20", "{\"i\":\"again\"}");
			untouched[20] = 0;
			model_put(&m, "k071", "\"behind\"");
			break;
		default:
			break;
		}
	}

	/* Every key present throughout was listed, exactly once (the order
	 * check above rules out twice). */
	for (i = 0; i < 40; i++) {
		if (!untouched[i])
			continue;
		snprintf(key, sizeof(key), "k%02zu", i);
		for (j = 0; j < nseen && strcmp(seen[j], key) != 0; j++)
			;
		ck_assert_msg(j < nseen, "%s: paging skipped '%s'",
		              PROVIDER_NAME[PROV], key);
	}
	for (n = 0; n < sizeof(must) / sizeof(must[0]); n++) {
		for (j = 0; j < nseen && strcmp(seen[j], must[n]) != 0; j++)
			;
		ck_assert_msg(j < nseen, "%s: '%s', written ahead of the "
		              "cursor, was not listed", PROVIDER_NAME[PROV],
		              must[n]);
	}
	for (n = 0; n < sizeof(never) / sizeof(never[0]); n++)
		for (j = 0; j < nseen; j++)
			ck_assert_msg(strcmp(seen[j], never[n]) != 0,
			              "%s: '%s' was listed", PROVIDER_NAME[PROV],
			              never[n]);
	for (j = 0; j < nseen; j++)
		free(seen[j]);
	for (i = 0; i < m.n; i++) {
		free(m.keys[i]);
		free(m.values[i]);
	}
}
END_TEST

START_TEST(test_list_bad_cursor)
{
	static const char *const bad[] = {
		"cursor=!!!!", "cursor=%FF%FE", "cursor=A", "cursor=_w",
		"cursor=AA", "cursor=a%20b", "cursor=%2F%2F%2F%2F",
		"cursor=azE=", "cursor=*",
	};
	char path[256];
	size_t i;

	put("cur", "k1", "[1]", 201);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), STATE "cur?%s", bad[i]);
		expect_problem("internal", "GET", path, NULL, 400,
		               "bad-request");
	}
}
END_TEST

/* --- scope, restart, concurrency ------------------------------------------ */

START_TEST(test_internal_only)
{
	struct aster_test_response r;
	static const char *const paths[] = {STATE "scope/k", STATE "scope"};
	size_t i;

	integ_get_expect(T, "public", "/gateway/v1/health", 200, &r);
	aster_test_response_free(&r);
	put("scope", "k", "[1]", 201);
	for (i = 0; i < 2; i++) {
		expect_problem("public", "GET", paths[i], NULL, 404,
		               "route-not-found");
		req("public", "HEAD", paths[i], NULL, NULL, 0, &r);
		ck_assert_msg(r.status == 404, "HEAD %s on public: %d", paths[i],
		              r.status);
		aster_test_response_free(&r);
	}
	expect_problem("public", "PUT", STATE "scope/k", "[2]", 404,
	               "route-not-found");
	expect_problem("public", "PUT", STATE "scope/new", "[2]", 404,
	               "route-not-found");
	expect_problem("public", "DELETE", STATE "scope/k", NULL, 404,
	               "route-not-found");
	/* Nothing happened to the store. */
	get_is("scope", "k", "[1]", 0);
	get_missing("scope", "new");
}
END_TEST

START_TEST(test_restart_keeps_values)
{
	static const char v1[] = "{\"kept\": [1, 2, 3], \"s\": \"\xc3\xa9\"}";
	uint64_t e1, e2, e3, max;
	char tag[32];
	struct page pg;
	const char *want[] = {"k1", "k2"};

	e1 = put("persist", "k1", v1, 201);
	e2 = put("persist", "k2", "[1]", 201);
	e2 = put("persist", "k2", "[2]", 200);
	e3 = put("persist", "k3", "[3]", 201);
	del_hdr("persist", "k3", NULL, 204, NULL);
	max = e3;

	restart();

	get_is("persist", "k1", v1, e1);
	get_is("persist", "k2", "[2]", e2);
	get_missing("persist", "k3");
	list("persist", NULL, &pg);
	assert_keys(&pg, want, 2, "after the restart");
	json_object_put(pg.root);
	/* Compare-and-swap across the restart. */
	fmt_etag(tag, sizeof(tag), e1);
	e1 = put_if("persist", "k1", "\"after\"", "If-Match", tag, 200);
	ck_assert_msg(e1 > max, "%s: after a restart a write got ETag %" PRIu64
	              ", not greater than %" PRIu64 " handed out before",
	              PROVIDER_NAME[PROV], e1, max);
	/* A re-created key gets a version never seen. */
	e3 = put("persist", "k3", "\"again\"", 201);
	ck_assert(e3 > e1);

	restart();
	get_is("persist", "k1", "\"after\"", e1);
	get_is("persist", "k3", "\"again\"", e3);
}
END_TEST

#define CAS_CLIENTS 20
#define CAS_EACH 5

struct cas_client {
	pthread_t thread;
	const char *address;
	int io_timeout;
	int done;                       /* successful increments */
	long conflicts;                 /* 412 */
	long written[CAS_EACH];         /* the values it wrote */
	uint64_t etags[CAS_EACH];       /* and their versions */
	char error[512];
};

/* One request on its own connection; 0 when answered. */
static int
cas_request(struct cas_client *c, const char *method,
            const char *const *headers, const char *body,
            struct aster_test_response *r)
{
	struct aster_test_conn *conn;
	int rc;

	memset(r, 0, sizeof(*r));
	conn = aster_test_connect_address(c->address, c->io_timeout);
	if (conn == NULL) {
		snprintf(c->error, sizeof(c->error), "connect %s: %s",
		         c->address, strerror(errno));
		return -1;
	}
	rc = aster_test_conn_request(conn, method, STATE "cas/counter",
	                             headers, body,
	                             body != NULL ? strlen(body) : 0, r);
	aster_test_conn_close(conn);
	if (rc != 0)
		snprintf(c->error, sizeof(c->error), "%s: %s", method, r->error);
	return rc;
}

static void *
cas_run(void *arg)
{
	struct cas_client *c = arg;
	struct aster_test_response r;
	long attempts = 0, value;
	uint64_t version, next;
	char im[64], body[32];
	int used;
	const char *hdrs[2] = {im, NULL};

	while (c->done < CAS_EACH) {
		if (++attempts > 5000) {
			snprintf(c->error, sizeof(c->error), "no success in "
			         "5000 attempts");
			return NULL;
		}
		if (cas_request(c, "GET", NULL, NULL, &r) != 0) {
			aster_test_response_free(&r);
			return NULL;
		}
		version = etag_value(aster_test_header(&r, "ETag"));
		used = -1;
		if (r.body == NULL ||
		    sscanf(r.body, "[%ld]%n", &value, &used) != 1 ||
		    used < 0 || r.body[used] != '\0')
			value = -1;
		if (r.status != 200 || version == 0 || value < 0) {
			snprintf(c->error, sizeof(c->error), "GET: %d, ETag %s, "
			         "body %s", r.status,
			         aster_test_header(&r, "ETag"), r.body);
			aster_test_response_free(&r);
			return NULL;
		}
		aster_test_response_free(&r);
		snprintf(im, sizeof(im), "If-Match: \"%" PRIu64 "\"", version);
		snprintf(body, sizeof(body), "[%ld]", value + 1);
		if (cas_request(c, "PUT", hdrs, body, &r) != 0) {
			aster_test_response_free(&r);
			return NULL;
		}
		if (r.status == 200) {
			next = etag_value(aster_test_header(&r, "ETag"));
			if (next <= version) {
				snprintf(c->error, sizeof(c->error), "PUT 200 "
				         "with ETag %s after \"%" PRIu64 "\"",
				         aster_test_header(&r, "ETag"), version);
				aster_test_response_free(&r);
				return NULL;
			}
			c->written[c->done] = value + 1;
			c->etags[c->done++] = next;
		} else if (r.status == 412) {
			c->conflicts++;
		} else {
			snprintf(c->error, sizeof(c->error), "PUT with %s: %d "
			         "%s", im, r.status, r.body);
			aster_test_response_free(&r);
			return NULL;
		}
		aster_test_response_free(&r);
	}
	return NULL;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_concurrent_cas_counter)
{
	static struct cas_client cl[CAS_CLIENTS];
	static long written[CAS_CLIENTS * CAS_EACH];
	static uint64_t etags[CAS_CLIENTS * CAS_EACH];
	const char *address = aster_test_address(T, "internal");
	long conflicts = 0, total = 0;
	char final[32];
	size_t i, j;

	ck_assert(address != NULL);
	put("cas", "counter", "[0]", 201);
	memset(cl, 0, sizeof(cl));
	for (i = 0; i < CAS_CLIENTS; i++) {
		cl[i].address = address;
		cl[i].io_timeout = aster_test_timeout(20000);
		ck_assert(pthread_create(&cl[i].thread, NULL, cas_run,
		                         &cl[i]) == 0);
	}
	for (i = 0; i < CAS_CLIENTS; i++)
		pthread_join(cl[i].thread, NULL);
	for (i = 0; i < CAS_CLIENTS; i++) {
		ck_assert_msg(cl[i].error[0] == '\0', "%s: client %zu: %s",
		              PROVIDER_NAME[PROV], i, cl[i].error);
		for (j = 0; j < (size_t)cl[i].done; j++) {
			written[total] = cl[i].written[j];
			etags[total++] = cl[i].etags[j];
		}
		conflicts += cl[i].conflicts;
	}
	ck_assert_int_eq(total, CAS_CLIENTS * CAS_EACH);
	/* The counter is exactly the number of successful increments, and
	 * every one of them wrote a value no other did: 1..N once each. */
	snprintf(final, sizeof(final), "[%ld]", total);
	get_is("cas", "counter", final, 0);
	qsort(written, (size_t)total, sizeof(written[0]), cmp_long);
	qsort(etags, (size_t)total, sizeof(etags[0]), cmp_u64);
	for (i = 0; i < (size_t)total; i++) {
		ck_assert_msg(written[i] == (long)i + 1, "%s: two successful "
		              "compare-and-swaps wrote %ld (lost update); %ld "
		              "conflicts", PROVIDER_NAME[PROV], written[i],
		              conflicts);
		ck_assert_msg(i == 0 || etags[i] != etags[i - 1], "%s: two "
		              "successful writes got ETag %" PRIu64,
		              PROVIDER_NAME[PROV], etags[i]);
	}
}
END_TEST

/* --- the shipped conf.d ----------------------------------------------------- */

START_TEST(test_shipped_conf_keeps_put_across_restart)
{
	char src[PATH_MAX], state_env[PATH_MAX + 32], run_env[PATH_MAX + 32];
	char db[PATH_MAX + 16];
	const char *env[3] = {state_env, run_env, NULL};
	char *conf, *state, *run;
	struct aster_test *t;
	struct aster_test_response r;
	static const char value[] = "{\"hello\":\"make run\",\"n\":[1,2]}";
	static const char *const json_ct[] = {
		"Content-Type: application/json", NULL};
	uint64_t v;
	struct stat st;

	snprintf(src, sizeof(src), "%s/conf.d", unit_srcdir());
	conf = aster_test_copy_dir(src);
	ck_assert_msg(conf != NULL, "copying %s: %s", src, strerror(errno));
	state = integ_tempdir();
	run = integ_tempdir();
	snprintf(state_env, sizeof(state_env), "STATE_DIRECTORY=%s", state);
	snprintf(run_env, sizeof(run_env), "RUNTIME_DIRECTORY=%s", run);

	t = integ_start_dir(conf, env);
	aster_test_request(t, "internal", "PUT", STATE "app/greeting",
	                   json_ct, value, strlen(value), &r);
	ck_assert_msg(r.status == 201, "shipped conf.d: PUT: %d %s", r.status,
	              r.body);
	v = etag_value(aster_test_header(&r, "ETag"));
	ck_assert(v > 0);
	aster_test_response_free(&r);
	/* Internal only there too. */
	ck_assert(aster_test_request(t, "public", "GET", STATE "app/greeting",
	                             NULL, NULL, 0, &r) == 0);
	integ_assert_problem(&r, 404, "route-not-found");
	aster_test_response_free(&r);
	integ_stop(t);

	/* The database is in STATE_DIRECTORY. */
	snprintf(db, sizeof(db), "%s/aster.db", state);
	ck_assert_msg(stat(db, &st) == 0 && S_ISREG(st.st_mode) &&
	              st.st_size > 0, "no database at %s", db);

	t = integ_start_dir(conf, env);
	ck_assert(aster_test_request(t, "internal", "GET", STATE "app/greeting",
	                             NULL, NULL, 0, &r) == 0);
	ck_assert_msg(r.status == 200 && r.body_len == strlen(value) &&
	              memcmp(r.body, value, r.body_len) == 0,
	              "shipped conf.d after a restart: %d %s", r.status,
	              r.body);
	ck_assert_msg(etag_value(aster_test_header(&r, "ETag")) == v,
	              "shipped conf.d: the ETag changed across the restart");
	aster_test_response_free(&r);
	integ_get_expect(t, "public", "/gateway/v1/ready", 200, &r);
	aster_test_response_free(&r);
	integ_stop(t);

	aster_test_remove_tree(conf);
	aster_test_remove_tree(state);
	aster_test_remove_tree(run);
	free(conf);
	free(state);
	free(run);
}
END_TEST

/* --- the suite -------------------------------------------------------------- */

static void
add_contract(TCase *tc)
{
	tcase_add_test(tc, test_create_then_replace);
	tcase_add_test(tc, test_exact_bytes_and_head);
	tcase_add_test(tc, test_scalar_values);
	tcase_add_test(tc, test_not_found_problem);
	tcase_add_test(tc, test_if_match);
	tcase_add_test(tc, test_if_none_match_star);
	tcase_add_test(tc, test_get_if_none_match);
	tcase_add_test(tc, test_get_if_none_match_weak);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_recreate_gets_new_etag);
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_invalid_json_utf8);
	tcase_add_test(tc, test_body_too_large);
	tcase_add_test(tc, test_bad_namespace);
	tcase_add_test(tc, test_key_utf8_roundtrip);
	tcase_add_test(tc, test_key_with_encoded_slash);
	tcase_add_test(tc, test_dot_segments_resolved);
	tcase_add_test(tc, test_key_percent_and_bad_segments);
	tcase_add_test(tc, test_list_byte_order);
	tcase_add_test(tc, test_list_prefix);
	tcase_add_test(tc, test_list_limit);
	tcase_add_test(tc, test_list_pagination_stable);
	tcase_add_test(tc, test_list_bad_cursor);
	tcase_add_test(tc, test_internal_only);
	tcase_add_test(tc, test_restart_keeps_values);
	tcase_add_test(tc, test_concurrent_cas_counter);
}

static Suite *
state_api_suite(void)
{
	Suite *s = suite_create("state_api");
	TCase *sq = tcase_create("sqlite");
	TCase *pg = tcase_create("postgres");
	TCase *shipped = tcase_create("shipped");
	/* Under valgrind asterd is many times slower. */
	int timeout = aster_test_timeout(INTEG_TCASE_TIMEOUT * 1000) / 1000;

	tcase_add_checked_fixture(sq, setup_sqlite, teardown);
	tcase_add_unchecked_fixture(pg, pg_up, pg_down);
	tcase_add_checked_fixture(pg, setup_postgres, teardown);
	tcase_set_timeout(sq, timeout);
	tcase_set_timeout(pg, timeout);
	tcase_set_timeout(shipped, timeout);
	add_contract(sq);
	add_contract(pg);
	tcase_add_test(shipped, test_shipped_conf_keeps_put_across_restart);
	suite_add_tcase(s, sq);
	suite_add_tcase(s, pg);
	suite_add_tcase(s, shipped);
	return s;
}

UNIT_MAIN(state_api_suite)
