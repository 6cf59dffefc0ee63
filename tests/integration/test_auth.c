/*
 * test_auth.c - credentials against real asterd processes (SPEC 7.4, 9,
 * 12): API keys made by `asterctl keys create` and by the admin key
 * endpoints, the scope rule for every kind of credential on every kind
 * of route and listener, revocation, expiry, persistence across a
 * restart, and revocation between two nodes sharing one PostgreSQL
 * (also after the server restarts); and the shipped conf.d as it is.
 *
 * Each test but the last writes its own product into a temp dir: a listener for
 * public, user and admin and one for internal only; module `database`
 * (the state store: SQLite in the temp dir, or PostgreSQL from
 * aster_test_pg_start()); module `auth` (service `verifier`, provider
 * auth, which also serves whoami and the admin
 * key endpoints); module `probe` with one `respond` route per scope.
 * asterctl is the binary beside $ASTERD.
 */
#include "integ.h"

#include <ctype.h>

#define TOKEN_MAX 512

struct prod {
	char *dir;
	char conf[PATH_MAX];
	char sock[PATH_MAX];
	char db[PATH_MAX];
	char *ctl_env;              /* for asterctl, or NULL */
	char *copy;                 /* a copied config dir, or NULL */
	struct aster_test *t;
};

/* A key as created: its id and its token (shown once). */
struct key {
	char id[64];
	char token[TOKEN_MAX];
};

/* --- the product -------------------------------------------------------- */

static void
prod_init(struct prod *p)
{
	memset(p, 0, sizeof(*p));
	p->dir = integ_tempdir();
	snprintf(p->conf, sizeof(p->conf), "%s/conf", p->dir);
	snprintf(p->sock, sizeof(p->sock), "%s/control.sock", p->dir);
	snprintf(p->db, sizeof(p->db), "%s/state/aster.db", p->dir);
}

/* Writes the product with store_yaml as the database module's `store`
 * service. */
static void
prod_write(struct prod *p, const char *store_yaml)
{
	static const char auth_yaml[] =
	    "kind: module\n"
	    "id: auth\n"
	    "displayName: Auth\n"
	    "version: 0.1.0\n"
	    "provides: [auth]\n"
	    "needs: [state-store]\n"
	    "services:\n"
	    "  - id: verifier\n"
	    "    provider: auth\n"
	    "routes:\n"
	    "  - id: route:auth.whoami\n"
	    "    scope: user\n"
	    "    methods: [GET]\n"
	    "    mountPath: /gateway/v1/whoami\n"
	    "    handler: { service: verifier, operation: whoami }\n"
	    "  - id: route:auth.keys.create\n"
	    "    scope: admin\n"
	    "    methods: [POST]\n"
	    "    mountPath: /gateway/v1/admin/keys\n"
	    "    handler: { service: verifier, operation: keys-create }\n"
	    "  - id: route:auth.keys.list\n"
	    "    scope: admin\n"
	    "    methods: [GET]\n"
	    "    mountPath: /gateway/v1/admin/keys\n"
	    "    handler: { service: verifier, operation: keys-list }\n"
	    "  - id: route:auth.keys.revoke\n"
	    "    scope: admin\n"
	    "    methods: [DELETE]\n"
	    "    mountPath: /gateway/v1/admin/keys/{keyId}\n"
	    "    handler: { service: verifier, operation: keys-revoke }\n";
	integ_write_product(p->conf, "authtest", "Auth test", p->sock);
	integ_write_database(p->conf, store_yaml, 0);
	ck_assert_int_eq(aster_test_write_file(p->conf, "modules/auth.yaml",
	                                       auth_yaml, -1), 0);
	integ_write_probe(p->conf, 1);
}

static void
prod_sqlite(struct prod *p)
{
	char yaml[PATH_MAX + 128];

	prod_init(p);
	snprintf(yaml, sizeof(yaml),
	         "  - id: store\n"
	         "    provider: sqlite\n"
	         "    config: { path: \"%s\" }\n", p->db);
	prod_write(p, yaml);
}

static void
prod_postgres(struct prod *p, const char *dsn)
{
	char yaml[PATH_MAX + 256];

	prod_init(p);
	prod_write(p, integ_pg_store_yaml(yaml, sizeof(yaml), dsn));
}

static void
prod_start(struct prod *p)
{
	p->t = integ_spawn_ready(p->conf, 20000);
}

static void
prod_stop(struct prod *p)
{
	integ_stop(p->t);
	p->t = NULL;
}

static void
prod_done(struct prod *p)
{
	if (p->t != NULL)
		prod_stop(p);
	aster_test_remove_tree(p->dir);
	free(p->dir);
	p->dir = NULL;
	if (p->copy != NULL)
		aster_test_remove_tree(p->copy);
	free(p->copy);
	p->copy = NULL;
}

/* --- requests ------------------------------------------------------------- */

/* One request to the listener serving scope; auth is the whole value of
 * the Authorization header, or NULL for none. */
static void
req(struct prod *p, const char *scope, const char *method, const char *path,
    const char *auth, const char *body, struct aster_test_response *r)
{
	char h[TOKEN_MAX + 64];
	const char *hs[3] = {NULL, NULL, NULL};
	int n = 0;

	if (auth != NULL) {
		snprintf(h, sizeof(h), "Authorization: %s", auth);
		hs[n++] = h;
	}
	if (body != NULL)
		hs[n++] = "Content-Type: application/json";
	integ_request(p->t, scope, method, path, n > 0 ? hs : NULL, body, r);
}

/* The same with "Bearer TOKEN". */
static void
req_bearer(struct prod *p, const char *scope, const char *method,
           const char *path, const char *token, const char *body,
           struct aster_test_response *r)
{
	char auth[TOKEN_MAX + 16];

	snprintf(auth, sizeof(auth), "Bearer %s", token);
	req(p, scope, method, path, auth, body, r);
}

/* The problem's detail (a copy in buf; "" when there is none). */
static const char *
detail_of(const struct aster_test_response *r, char *buf, size_t len)
{
	json_object *o = json_tokener_parse(r->body != NULL ? r->body : "");
	const char *d = o != NULL ? integ_json_str(o, "detail") : NULL;

	snprintf(buf, len, "%s", d != NULL ? d : "");
	json_object_put(o);
	return buf;
}

/*
 * A 401 problem: without a credential, WWW-Authenticate is exactly
 * "Bearer"; with a bad one, it carries error="invalid_token" and the
 * detail holds word (when not NULL).
 */
static void
assert_401(const struct aster_test_response *r, int invalid_token,
           const char *word, const char *what)
{
	const char *www = aster_test_header(r, "WWW-Authenticate");
	char d[512];

	ck_assert_msg(r->status == 401, "%s: %d, expected 401; body: %s",
	              what, r->status, r->body);
	integ_assert_problem(r, 401, "unauthorized");
	ck_assert_msg(www != NULL, "%s: 401 without WWW-Authenticate", what);
	if (!invalid_token)
		ck_assert_msg(strcmp(www, "Bearer") == 0, "%s: "
		              "WWW-Authenticate '%s', expected 'Bearer'", what,
		              www);
	else
		ck_assert_msg(strncmp(www, "Bearer", 6) == 0 &&
		              strstr(www, "error=\"invalid_token\"") != NULL,
		              "%s: WWW-Authenticate '%s', expected Bearer "
		              "error=\"invalid_token\"", what, www);
	detail_of(r, d, sizeof(d));
	if (word != NULL)
		ck_assert_msg(integ_has_word(d, word), "%s: the detail '%s' does not "
		              "say '%s'", what, d, word);
}

/* --- asterctl ------------------------------------------------------------- */

/* Runs asterctl --socket SOCK ARGS... (-c CONF when there is no
 * socket path, with ctl_env in the environment); its stdout lands in *out
 * (malloc'ed), its stderr in *err when err is not NULL (else this
 * process's stderr). Returns the exit status. */
static int
asterctl(struct prod *p, const char *const *args, char **out, char **err)
{
	const char *argv[24];
	char *e;
	int n = 0, rc;

	argv[n++] = p->sock[0] != '\0' ? "--socket" : "-c";
	argv[n++] = p->sock[0] != '\0' ? p->sock : p->conf;
	while (*args != NULL && n < 22)
		argv[n++] = *args++;
	argv[n] = NULL;
	rc = integ_asterctl(argv, p->ctl_env, out, &e);
	if (err != NULL) {
		*err = e;
	} else {
		fputs(e, stderr);
		free(e);
	}
	return rc;
}

/* aster_<16 hex>_<43 base64url>, and id the 16 hex of it. */
static void
assert_token_shape(const char *token, const char *id)
{
	size_t i;

	ck_assert_msg(strlen(id) == 16, "key id '%s' is not 16 characters",
	              id);
	for (i = 0; i < 16; i++)
		ck_assert_msg(isxdigit((unsigned char)id[i]) &&
		              !isupper((unsigned char)id[i]),
		              "key id '%s' is not 16 lower-case hex", id);
	ck_assert_msg(strncmp(token, "aster_", 6) == 0 &&
	              strncmp(token + 6, id, 16) == 0 && token[22] == '_',
	              "key '%s' is not aster_%s_SECRET", token, id);
	ck_assert_msg(strlen(token + 23) == 43, "secret of '%s' is not 43 "
	              "characters", token);
	for (i = 23; token[i] != '\0'; i++)
		ck_assert_msg(isalnum((unsigned char)token[i]) ||
		              token[i] == '-' || token[i] == '_',
		              "secret of '%s' is not base64url", token);
}

/* `asterctl keys create --role ROLE --name NAME [more...]`: the key
 * alone on stdout's first line; its id from `keys list --json`. */
static void
ctl_create(struct prod *p, const char *role, const char *name,
           const char *const *more, struct key *k)
{
	const char *args[16] = {"keys", "create", "--role", role, "--name",
	                        name};
	int n = 6, rc;
	char *out, *nl;

	while (more != NULL && *more != NULL)
		args[n++] = *more++;
	args[n] = NULL;
	rc = asterctl(p, args, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl keys create: exit %d\n%s", rc, out);
	nl = strchr(out, '\n');
	ck_assert_msg(nl != NULL, "asterctl keys create printed no line:\n%s",
	              out);
	*nl = '\0';
	ck_assert_msg(strlen(out) < sizeof(k->token) && strncmp(out, "aster_",
	              6) == 0 && strlen(out) > 23, "asterctl keys create: the "
	              "first line is not the key alone: '%s'", out);
	snprintf(k->token, sizeof(k->token), "%s", out);
	snprintf(k->id, sizeof(k->id), "%.16s", out + 6);
	assert_token_shape(k->token, k->id);
	/* The rest names the id. */
	ck_assert_msg(strstr(nl + 1, k->id) != NULL, "asterctl keys create "
	              "does not show the id %s:\n%s", k->id, nl + 1);
	free(out);
}

/* --- the admin key endpoints ---------------------------------------------- */

/* POST /gateway/v1/admin/keys with body as admin; 201 with the key
 * shown, fields as asked. */
static void
api_create(struct prod *p, const char *admin, const char *body,
           struct key *k)
{
	struct aster_test_response r;
	json_object *o, *in = json_tokener_parse(body);
	const char *id, *token, *ct;

	ck_assert(in != NULL);
	req_bearer(p, "public", "POST", "/gateway/v1/admin/keys", admin, body,
	           &r);
	ck_assert_msg(r.status == 201, "POST /gateway/v1/admin/keys %s: %d, "
	              "expected 201; body: %s", body, r.status, r.body);
	ct = aster_test_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && strncmp(ct, "application/json", 16) == 0,
	              "201 Content-Type '%s'", ct ? ct : "(none)");
	o = integ_json(&r);
	id = integ_json_str(o, "id");
	token = integ_json_str(o, "key");
	ck_assert_msg(id != NULL && token != NULL, "201 without id and key: "
	              "%s", r.body);
	ck_assert_msg(strlen(token) < sizeof(k->token), "key too long");
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(k->token, sizeof(k->token), "%s", token);
	assert_token_shape(k->token, k->id);
	ck_assert_str_eq(integ_json_str(o, "name"), integ_json_str(in, "name"));
	ck_assert_str_eq(integ_json_str(o, "role"), integ_json_str(in, "role"));
	json_object_put(o);
	json_object_put(in);
	aster_test_response_free(&r);
}

/* GET /gateway/v1/admin/keys: the items (the caller puts the result).
 * No item holds `key`, and nothing in the body looks like a secret or a
 * hash: no run of 40 or more base64url or hex characters. */
static json_object *
api_list(struct prod *p, const char *admin)
{
	struct aster_test_response r;
	json_object *o, *items;
	size_t i, run = 0;

	req_bearer(p, "public", "GET", "/gateway/v1/admin/keys", admin, NULL,
	           &r);
	ck_assert_msg(r.status == 200, "GET /gateway/v1/admin/keys: %d; "
	              "body: %s", r.status, r.body);
	for (i = 0; i < r.body_len; i++) {
		unsigned char c = (unsigned char)r.body[i];

		run = isalnum(c) || c == '-' || c == '_' ? run + 1 : 0;
		ck_assert_msg(run < 40, "the key list shows something like a "
		              "secret or a hash: %s", r.body);
	}
	o = integ_json(&r);
	ck_assert_msg(json_object_object_get_ex(o, "items", &items) &&
	              json_object_is_type(items, json_type_array),
	              "the key list has no items array: %s", r.body);
	for (i = 0; i < json_object_array_length(items); i++) {
		json_object *it = json_object_array_get_idx(items, i);

		ck_assert_msg(json_object_is_type(it, json_type_object),
		              "a key list item is not an object: %s", r.body);
		json_object_object_foreach(it, name, v) {
			(void)v;
			ck_assert_msg(strcmp(name, "key") != 0 &&
			              !integ_has_word(name, "hash") &&
			              !integ_has_word(name, "secret") &&
			              !integ_has_word(name, "token"),
			              "a key list item has '%s': %s", name,
			              r.body);
		}
		ck_assert_msg(integ_json_str(it, "id") != NULL &&
		              integ_json_str(it, "name") != NULL &&
		              integ_json_str(it, "role") != NULL &&
		              integ_json_str(it, "created_at") != NULL,
		              "a key list item lacks id, name, role or "
		              "created_at: %s", r.body);
	}
	json_object_get(items);
	json_object_put(o);
	aster_test_response_free(&r);
	return items;
}

/* The item of id in a key list, or NULL. */
static json_object *
list_find(json_object *items, const char *id)
{
	size_t i;

	for (i = 0; i < json_object_array_length(items); i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *v = integ_json_str(it, "id");

		if (v != NULL && strcmp(v, id) == 0)
			return it;
	}
	return NULL;
}

static void
api_revoke(struct prod *p, const char *admin, const char *id, int status)
{
	struct aster_test_response r;
	char path[256];

	snprintf(path, sizeof(path), "/gateway/v1/admin/keys/%s", id);
	req_bearer(p, "public", "DELETE", path, admin, NULL, &r);
	if (status == 404)
		integ_assert_problem(&r, 404, "not-found");
	ck_assert_msg(r.status == status, "DELETE %s: %d, expected %d; body: "
	              "%s", path, r.status, status, r.body);
	if (status == 204)
		ck_assert_msg(r.body_len == 0, "204 with a body: %s", r.body);
	aster_test_response_free(&r);
}

/*
 * GET /gateway/v1/whoami with token: 200 and the fields. spaces: the
 * JSON of the expected "spaces" ("null" when not limited); expires: the
 * expected "expires_at" JSON.
 */
static void
assert_whoami(struct prod *p, const char *scope, const char *token,
              const char *id, const char *name, const char *role,
              const char *spaces, const char *expires)
{
	struct aster_test_response r;
	json_object *o;
	char buf[512];

	req_bearer(p, scope, "GET", "/gateway/v1/whoami", token, NULL, &r);
	ck_assert_msg(r.status == 200, "whoami of %s (%s): %d; body: %s", id,
	              name, r.status, r.body);
	o = integ_json(&r);
	ck_assert_msg(integ_json_str(o, "kind") != NULL &&
	              strcmp(integ_json_str(o, "kind"), "api-key") == 0,
	              "whoami kind: %s", r.body);
	ck_assert_msg(integ_json_str(o, "id") != NULL &&
	              strcmp(integ_json_str(o, "id"), id) == 0,
	              "whoami id is not %s: %s", id, r.body);
	ck_assert_msg(integ_json_str(o, "name") != NULL &&
	              strcmp(integ_json_str(o, "name"), name) == 0,
	              "whoami name is not %s: %s", name, r.body);
	ck_assert_msg(integ_json_str(o, "role") != NULL &&
	              strcmp(integ_json_str(o, "role"), role) == 0,
	              "whoami role is not %s: %s", role, r.body);
	ck_assert_msg(strcmp(integ_json_text(o, "spaces", buf, sizeof(buf)), spaces) == 0,
	              "whoami spaces %s, expected %s: %s", buf, spaces, r.body);
	ck_assert_msg(strcmp(integ_json_text(o, "expires_at", buf, sizeof(buf)),
	              expires) == 0, "whoami expires_at %s, expected %s: %s",
	              buf, expires, r.body);
	ck_assert_msg(strstr(r.body, token) == NULL &&
	              strstr(r.body, token + 23) == NULL,
	              "whoami shows the secret: %s", r.body);
	json_object_put(o);
	aster_test_response_free(&r);
}

/* Expects GET path with token on scope's listener to answer status. */
static void
expect_status(struct prod *p, const char *scope, const char *path,
              const char *token, int status)
{
	struct aster_test_response r;

	req_bearer(p, scope, "GET", path, token, NULL, &r);
	ck_assert_msg(r.status == status, "GET %s on the %s listener: %d, "
	              "expected %d; body: %s", path, scope, r.status, status,
	              r.body);
	aster_test_response_free(&r);
}

/* Seconds since the epoch as RFC 3339 UTC. */
static void
rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An expiry a few seconds ahead: long enough to create and use the key
 * first, also under valgrind. */
static time_t
brief_expiry(void)
{
	return time(NULL) + aster_test_timeout(3000) / 1000;
}

/* Sleeps until the wall clock has passed t by at least one second. */
static void
sleep_past(time_t t)
{
	while (time(NULL) <= t)
		integ_sleep_ms(100);
	integ_sleep_ms(1000);
}

/* --- asterctl keys ---------------------------------------------------------- */

START_TEST(test_first_admin_key_from_asterctl)
{
	struct prod p;
	struct key adm, other;
	const char *json_create[] = {"--json", "keys", "create", "--role",
	                             "user", "--name", "scripted", "--spaces",
	                             "alpha,beta", "--expires",
	                             "2099-01-02T03:04:05Z", NULL};
	const char *list[] = {"keys", "list", NULL};
	const char *list_json[] = {"--json", "keys", "list", NULL};
	const char *revoke[] = {"keys", "revoke", NULL, NULL};
	const char *revoke_unknown[] = {"keys", "revoke", "0123456789abcdef",
	                                NULL};
	const char *no_role[] = {"keys", "create", "--name", "x", NULL};
	json_object *o, *v, *top;
	char *out, *err, buf[256];
	int rc;

	prod_sqlite(&p);
	prod_start(&p);

	/* The first admin key: only the control socket can make it. */
	ctl_create(&p, "admin", "ops", NULL, &adm);
	assert_whoami(&p, "public", adm.token, adm.id, "ops", "admin", "null",
	              "null");
	expect_status(&p, "public", "/gateway/v1/admin/keys", adm.token, 200);

	/* --json: exactly {"id", "name", "role", "spaces", "expires_at",
	 * "key"} (SPEC 12, asterctl(1)). */
	rc = asterctl(&p, json_create, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl --json keys create: exit %d\n%s", rc,
	              out);
	top = json_tokener_parse(out);
	o = top;
	ck_assert_msg(top != NULL && json_object_is_type(top,
	              json_type_object),
	              "--json keys create: not a JSON object:\n%s", out);
	ck_assert_msg(json_object_object_length(o) == 6 &&
	              integ_json_str(o, "id") != NULL &&
	              integ_json_str(o, "key") != NULL &&
	              json_object_object_get_ex(o, "spaces", NULL) &&
	              json_object_object_get_ex(o, "expires_at", NULL),
	              "--json keys create: the key is not {id, name, role, "
	              "spaces, expires_at, key}:\n%s", out);
	snprintf(other.id, sizeof(other.id), "%s", integ_json_str(o, "id"));
	snprintf(other.token, sizeof(other.token), "%s",
	         integ_json_str(o, "key"));
	assert_token_shape(other.token, other.id);
	ck_assert_str_eq(integ_json_str(o, "name"), "scripted");
	ck_assert_str_eq(integ_json_str(o, "role"), "user");
	ck_assert_str_eq(integ_json_text(o, "spaces", buf, sizeof(buf)),
	                 "[\"alpha\",\"beta\"]");
	ck_assert_str_eq(integ_json_text(o, "expires_at", buf, sizeof(buf)),
	                 "\"2099-01-02T03:04:05Z\"");
	json_object_put(top);
	free(out);
	assert_whoami(&p, "public", other.token, other.id, "scripted", "user",
	              "[\"alpha\",\"beta\"]", "\"2099-01-02T03:04:05Z\"");

	/* keys list: both ids, no secret. */
	rc = asterctl(&p, list, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl keys list: exit %d\n%s", rc, out);
	ck_assert_msg(strstr(out, adm.id) != NULL && strstr(out, other.id) !=
	              NULL, "keys list does not show both keys:\n%s", out);
	ck_assert_msg(strstr(out, adm.token + 23) == NULL &&
	              strstr(out, other.token + 23) == NULL,
	              "keys list shows a secret:\n%s", out);
	free(out);
	rc = asterctl(&p, list_json, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl --json keys list: exit %d\n%s", rc,
	              out);
	ck_assert_msg(strstr(out, adm.token + 23) == NULL &&
	              strstr(out, other.token + 23) == NULL &&
	              strstr(out, "\"key\"") == NULL,
	              "keys list --json shows a key:\n%s", out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "keys list --json is not JSON:\n%s", out);
	json_object_put(o);
	free(out);

	/* keys revoke: at once; an unknown id exits 1. */
	revoke[2] = other.id;
	rc = asterctl(&p, revoke, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl keys revoke: exit %d\n%s", rc, out);
	free(out);
	{
		struct aster_test_response r;

		req_bearer(&p, "public", "GET", "/gateway/v1/whoami",
		           other.token, NULL, &r);
		assert_401(&r, 1, "revoked", "a key revoked by asterctl");
		aster_test_response_free(&r);
	}
	o = api_list(&p, adm.token);
	v = list_find(o, other.id);
	ck_assert_msg(v != NULL && integ_json_str(v, "revoked_at") != NULL,
	              "the revoked key has no revoked_at in the list");
	v = list_find(o, adm.id);
	ck_assert_msg(v != NULL && strcmp(integ_json_text(v, "revoked_at", buf,
	              sizeof(buf)), "null") == 0,
	              "the admin key shows as revoked: %s", buf);
	json_object_put(o);
	rc = asterctl(&p, revoke_unknown, &out, &err);
	ck_assert_msg(rc == 1, "asterctl keys revoke UNKNOWN: exit %d, "
	              "expected 1\n%s%s", rc, out, err);
	free(out);
	free(err);
	rc = asterctl(&p, no_role, &out, &err);
	ck_assert_msg(rc == 64, "asterctl keys create without --role: exit "
	              "%d, expected 64\n%s%s", rc, out, err);
	free(out);
	free(err);
	prod_done(&p);
}
END_TEST

/* --- the scope matrix ------------------------------------------------------- */

enum cred_class { C_NONE, C_BAD, C_USER, C_ADMIN };

struct cred {
	const char *what;
	char auth[TOKEN_MAX + 16];  /* the Authorization value; "" none */
	enum cred_class cls;
	const char *word;           /* C_BAD: in the detail */
};

struct route {
	const char *path;
	const char *scope;
	const char *body;           /* a respond route's body, or NULL */
};

static const struct route matrix_routes[] = {
	{"/t/public", "public", "public"},
	{"/t/user", "user", "user"},
	{"/gateway/v1/whoami", "user", NULL},
	{"/gateway/v1/admin/probe", "admin", "admin"},
	{"/gateway/v1/admin/keys", "admin", NULL},
	{"/gateway/v1/internal/probe", "internal", "internal"},
};

/* The expected outcome of GET route with c on listener lst ("public":
 * the public+user+admin listener, "internal": the internal-only one). */
static void
matrix_check(struct prod *p, const char *lst, const struct route *rt,
             const struct cred *c)
{
	struct aster_test_response r;
	char what[512];
	int on_internal = strcmp(lst, "internal") == 0;
	int internal_route = strcmp(rt->scope, "internal") == 0;

	snprintf(what, sizeof(what), "%s route %s, %s, on the %s listener",
	         rt->scope, rt->path, c->what, on_internal ? "internal-only" :
	         "public+user+admin");
	req(p, lst, "GET", rt->path, c->auth[0] != '\0' ? c->auth : NULL,
	    NULL, &r);
	if (on_internal != internal_route) {
		/* Not served there: the route is not revealed. */
		ck_assert_msg(r.status == 404, "%s: %d, expected 404; body: "
		              "%s", what, r.status, r.body);
		integ_assert_problem(&r, 404, "route-not-found");
		ck_assert_msg(aster_test_header(&r, "WWW-Authenticate") ==
		              NULL, "%s: 404 with WWW-Authenticate", what);
	} else if (internal_route || strcmp(rt->scope, "public") == 0) {
		ck_assert_msg(r.status == 200, "%s: %d, expected 200; body: "
		              "%s", what, r.status, r.body);
		ck_assert_str_eq(r.body, rt->body);
	} else if (c->cls == C_NONE) {
		assert_401(&r, 0, NULL, what);
	} else if (c->cls == C_BAD) {
		assert_401(&r, 1, c->word, what);
	} else if (c->cls == C_USER && strcmp(rt->scope, "admin") == 0) {
		ck_assert_msg(r.status == 403, "%s: %d, expected 403; body: "
		              "%s", what, r.status, r.body);
		integ_assert_problem(&r, 403, "forbidden");
	} else {
		ck_assert_msg(r.status == 200, "%s: %d, expected 200; body: "
		              "%s", what, r.status, r.body);
		if (rt->body != NULL)
			ck_assert_str_eq(r.body, rt->body);
	}
	aster_test_response_free(&r);
}

static void
cred_set(struct cred *c, const char *what, enum cred_class cls,
         const char *word, const char *auth_fmt, const char *token)
{
	c->what = what;
	c->cls = cls;
	c->word = word;
	snprintf(c->auth, sizeof(c->auth), auth_fmt, token);
}

START_TEST(test_scope_matrix)
{
	struct prod p;
	struct key adm, adm2, user, spaced, revoked, expiring;
	struct cred creds[16];
	char body[256], when[32], wrong[TOKEN_MAX];
	time_t expires;
	size_t nc = 0, i, j;

	prod_sqlite(&p);
	prod_start(&p);
	ctl_create(&p, "admin", "ops", NULL, &adm);
	api_create(&p, adm.token, "{\"name\":\"second admin\",\"role\":"
	           "\"admin\"}", &adm2);
	api_create(&p, adm.token, "{\"name\":\"alice\",\"role\":\"user\"}",
	           &user);
	api_create(&p, adm.token, "{\"name\":\"spaced\",\"role\":\"user\","
	           "\"spaces\":[\"alpha\",\"beta\"]}", &spaced);
	api_create(&p, adm.token, "{\"name\":\"gone\",\"role\":\"user\"}",
	           &revoked);
	expires = brief_expiry();
	rfc3339(expires, when, sizeof(when));
	snprintf(body, sizeof(body), "{\"name\":\"brief\",\"role\":\"user\","
	         "\"expires_at\":\"%s\"}", when);
	api_create(&p, adm.token, body, &expiring);

	/* Both work once (and so sit in the provider's cache), then one is
	 * revoked and the other expires. */
	expect_status(&p, "public", "/t/user", revoked.token, 200);
	expect_status(&p, "public", "/t/user", expiring.token, 200);
	api_revoke(&p, adm.token, revoked.id, 204);

	cred_set(&creds[nc++], "no Authorization", C_NONE, NULL, "%s", "");
	cred_set(&creds[nc++], "Basic credentials", C_BAD, "Bearer",
	         "Basic %s", "YWRtaW46YWRtaW4=");
	cred_set(&creds[nc++], "Bearer without a token", C_BAD, "Bearer",
	         "%s", "Bearer");
	cred_set(&creds[nc++], "two tokens", C_BAD, "Bearer", "Bearer %s",
	         "a b");
	cred_set(&creds[nc++], "a malformed API key", C_BAD, "malformed",
	         "Bearer %s", "aster_xyz");
	cred_set(&creds[nc++], "an unknown key", C_BAD, "unknown",
	         "Bearer %s", "aster_0123456789abcdef_"
	         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	/* 43 characters: 256 bits and two zero bits (strict base64url). */
	snprintf(wrong, sizeof(wrong), "%.23s%s", user.token,
	         "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA");
	cred_set(&creds[nc++], "a known id with a wrong secret", C_BAD,
	         "secret", "Bearer %s", wrong);
	cred_set(&creds[nc++], "a revoked key", C_BAD, "revoked",
	         "Bearer %s", revoked.token);
	cred_set(&creds[nc++], "an expired key", C_BAD, "expired",
	         "Bearer %s", expiring.token);
	cred_set(&creds[nc++], "a user key", C_USER, NULL, "Bearer %s",
	         user.token);
	cred_set(&creds[nc++], "a user key limited to spaces", C_USER, NULL,
	         "Bearer %s", spaced.token);
	cred_set(&creds[nc++], "the admin key from asterctl", C_ADMIN, NULL,
	         "Bearer %s", adm.token);
	cred_set(&creds[nc++], "an admin key from the API", C_ADMIN, NULL,
	         "bearer %s", adm2.token);

	sleep_past(expires);
	for (i = 0; i < nc; i++)
		for (j = 0; j < sizeof(matrix_routes) / sizeof(matrix_routes[0]);
		     j++) {
			matrix_check(&p, "public", &matrix_routes[j], &creds[i]);
			matrix_check(&p, "internal", &matrix_routes[j],
			             &creds[i]);
		}

	/* A user key may not create keys either. */
	{
		struct aster_test_response r;

		req_bearer(&p, "public", "POST", "/gateway/v1/admin/keys",
		           user.token, "{\"name\":\"x\",\"role\":\"admin\"}",
		           &r);
		integ_assert_problem(&r, 403, "forbidden");
		aster_test_response_free(&r);
	}
	prod_done(&p);
}
END_TEST

/* --- the admin key endpoints ------------------------------------------------ */

START_TEST(test_keys_api)
{
	struct prod p;
	struct key adm, user, spaced, limited;
	struct aster_test_response r;
	json_object *items, *it;
	char buf[256];
	size_t i;
	static const struct {
		const char *body;
		int status;
		const char *code;
	} bad[] = {
		{"{", 400, "invalid-json"},
		{"[1]", 422, "validation-failed"},
		{"{\"role\":\"user\"}", 422, "validation-failed"},
		{"{\"name\":\"x\"}", 422, "validation-failed"},
		{"{\"name\":\"x\",\"role\":\"root\"}", 422,
		 "validation-failed"},
		{"{\"name\":\"\",\"role\":\"user\"}", 422,
		 "validation-failed"},
		{"{\"name\":\"x\",\"role\":\"user\",\"expires_at\":"
		 "\"tomorrow\"}", 422, "validation-failed"},
		{"{\"name\":\"x\",\"role\":\"user\",\"expires_at\":"
		 "\"2001-01-01T00:00:00Z\"}", 422, "validation-failed"},
		{"{\"name\":\"x\",\"role\":\"user\",\"spaces\":\"alpha\"}",
		 422, "validation-failed"},
		/* [] would reach no space, which a key cannot say: refused
		 * rather than made a key for every space. */
		{"{\"name\":\"x\",\"role\":\"user\",\"spaces\":[]}",
		 422, "validation-failed"},
	};

	prod_sqlite(&p);
	prod_start(&p);
	ctl_create(&p, "admin", "ops", NULL, &adm);

	/* 201 with the key shown once. */
	api_create(&p, adm.token, "{\"name\":\"alice\",\"role\":\"user\"}",
	           &user);
	api_create(&p, adm.token, "{\"name\":\"spaced\",\"role\":\"user\","
	           "\"spaces\":[\"alpha\",\"beta\"],\"expires_at\":"
	           "\"2098-05-06T07:08:09Z\"}", &spaced);
	api_create(&p, adm.token, "{\"name\":\"limited admin\",\"role\":"
	           "\"admin\",\"spaces\":[\"gamma\"]}", &limited);
	ck_assert_str_ne(user.id, spaced.id);
	ck_assert_str_ne(user.token, spaced.token);

	/* whoami for each kind. */
	assert_whoami(&p, "public", adm.token, adm.id, "ops", "admin", "null",
	              "null");
	assert_whoami(&p, "public", user.token, user.id, "alice", "user",
	              "null", "null");
	assert_whoami(&p, "public", spaced.token, spaced.id, "spaced", "user",
	              "[\"alpha\",\"beta\"]", "\"2098-05-06T07:08:09Z\"");
	assert_whoami(&p, "public", limited.token, limited.id,
	              "limited admin", "admin", "[\"gamma\"]", "null");

	/* The list: every key, oldest first, never a key or a hash. */
	items = api_list(&p, adm.token);
	ck_assert_msg(json_object_array_length(items) == 4, "%zu keys listed, "
	              "expected 4", json_object_array_length(items));
	ck_assert_msg(list_find(items, adm.id) != NULL &&
	              list_find(items, user.id) != NULL &&
	              list_find(items, limited.id) != NULL,
	              "a created key is not listed");
	for (i = 1; i < json_object_array_length(items); i++)
		ck_assert_msg(strcmp(integ_json_str(json_object_array_get_idx(
		              items, i - 1), "created_at"),
		              integ_json_str(json_object_array_get_idx(items, i),
		              "created_at")) <= 0, "the key list is not oldest "
		              "first");
	it = list_find(items, spaced.id);
	ck_assert_msg(it != NULL, "the key %s is not listed", spaced.id);
	ck_assert_str_eq(integ_json_text(it, "spaces", buf, sizeof(buf)),
	                 "[\"alpha\",\"beta\"]");
	ck_assert_str_eq(integ_json_text(it, "expires_at", buf, sizeof(buf)),
	                 "\"2098-05-06T07:08:09Z\"");
	ck_assert_str_eq(integ_json_text(it, "revoked_at", buf, sizeof(buf)), "null");
	ck_assert_str_eq(integ_json_str(it, "role"), "user");
	ck_assert_str_eq(integ_json_str(it, "name"), "spaced");
	json_object_put(items);

	/* Bad requests. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_bearer(&p, "public", "POST", "/gateway/v1/admin/keys",
		           adm.token, bad[i].body, &r);
		ck_assert_msg(r.status == bad[i].status, "POST %s: %d, "
		              "expected %d; body: %s", bad[i].body, r.status,
		              bad[i].status, r.body);
		integ_assert_problem(&r, bad[i].status, bad[i].code);
		aster_test_response_free(&r);
	}
	items = api_list(&p, adm.token);
	ck_assert_msg(json_object_array_length(items) == 4, "a refused POST "
	              "made a key: %zu keys", json_object_array_length(items));
	json_object_put(items);

	/* DELETE revokes: 204, the token is refused at once; 404 for an
	 * unknown id. */
	expect_status(&p, "public", "/t/user", user.token, 200);
	api_revoke(&p, adm.token, user.id, 204);
	req_bearer(&p, "public", "GET", "/t/user", user.token, NULL, &r);
	assert_401(&r, 1, "revoked", "a key revoked a moment ago");
	aster_test_response_free(&r);
	req_bearer(&p, "public", "GET", "/gateway/v1/whoami", user.token, NULL,
	           &r);
	assert_401(&r, 1, "revoked", "whoami of a revoked key");
	aster_test_response_free(&r);
	api_revoke(&p, adm.token, "0123456789abcdef", 404);
	api_revoke(&p, adm.token, "no-such-key", 404);
	items = api_list(&p, adm.token);
	it = list_find(items, user.id);
	ck_assert_msg(it != NULL && integ_json_str(it, "revoked_at") != NULL,
	              "the revoked key is not listed with revoked_at");
	json_object_put(items);

	/* The others still work; an admin can revoke itself. */
	expect_status(&p, "public", "/t/user", spaced.token, 200);
	expect_status(&p, "public", "/gateway/v1/admin/probe", limited.token,
	              200);
	api_revoke(&p, limited.token, limited.id, 204);
	req_bearer(&p, "public", "GET", "/gateway/v1/admin/probe",
	           limited.token, NULL, &r);
	assert_401(&r, 1, "revoked", "an admin key that revoked itself");
	aster_test_response_free(&r);
	prod_done(&p);
}
END_TEST

START_TEST(test_key_expiry)
{
	struct prod p;
	struct key adm, brief, ctl;
	struct aster_test_response r;
	char body[256], when[32], more_when[32];
	const char *more[] = {"--expires", more_when, NULL};
	time_t expires;

	prod_sqlite(&p);
	prod_start(&p);
	ctl_create(&p, "admin", "ops", NULL, &adm);
	expires = brief_expiry();
	rfc3339(expires, when, sizeof(when));
	snprintf(body, sizeof(body), "{\"name\":\"brief\",\"role\":\"user\","
	         "\"expires_at\":\"%s\"}", when);
	api_create(&p, adm.token, body, &brief);
	rfc3339(expires, more_when, sizeof(more_when));
	ctl_create(&p, "admin", "brief admin", more, &ctl);

	snprintf(body, sizeof(body), "\"%s\"", when);
	assert_whoami(&p, "public", brief.token, brief.id, "brief", "user",
	              "null", body);
	assert_whoami(&p, "public", ctl.token, ctl.id, "brief admin", "admin",
	              "null", body);
	sleep_past(expires);
	req_bearer(&p, "public", "GET", "/gateway/v1/whoami", brief.token,
	           NULL, &r);
	assert_401(&r, 1, "expired", "a key past its expires_at");
	aster_test_response_free(&r);
	req_bearer(&p, "public", "GET", "/gateway/v1/admin/keys", ctl.token,
	           NULL, &r);
	assert_401(&r, 1, "expired", "an admin key past its --expires");
	aster_test_response_free(&r);
	expect_status(&p, "public", "/gateway/v1/admin/keys", adm.token, 200);
	prod_done(&p);
}
END_TEST

/* The same keys in both lists, each with the same fields (last_used_at
 * aside: a node writes it behind, once a minute at most). */
static void
assert_same_keys(json_object *x, json_object *y, const char *in_x,
                 const char *in_y)
{
	const char *f[] = {"id", "name", "role", "spaces", "created_at",
	                   "expires_at", "revoked_at", NULL};
	char a[256], b[256];
	size_t i, k;

	ck_assert_msg(json_object_array_length(x) ==
	              json_object_array_length(y), "%zu keys listed %s, %zu "
	              "%s", json_object_array_length(x), in_x,
	              json_object_array_length(y), in_y);
	for (i = 0; i < json_object_array_length(x); i++) {
		json_object *kx = json_object_array_get_idx(x, i);
		const char *id = integ_json_str(kx, "id");
		json_object *ky = list_find(y, id);

		ck_assert_msg(ky != NULL, "key %s is listed %s, not %s", id,
		              in_x, in_y);
		for (k = 0; f[k] != NULL; k++)
			ck_assert_msg(strcmp(integ_json_text(kx, f[k], a, sizeof(a)),
			              integ_json_text(ky, f[k], b, sizeof(b))) == 0,
			              "key %s: %s is %s %s, %s %s", id, f[k], a,
			              in_x, b, in_y);
	}
}

/* --- persistence ------------------------------------------------------------ */

START_TEST(test_keys_survive_restart)
{
	struct prod p;
	struct key adm, user, gone;
	struct aster_test_response r;
	json_object *before, *after;

	prod_sqlite(&p);
	prod_start(&p);
	ctl_create(&p, "admin", "ops", NULL, &adm);
	api_create(&p, adm.token, "{\"name\":\"alice\",\"role\":\"user\","
	           "\"spaces\":[\"alpha\"]}", &user);
	api_create(&p, adm.token, "{\"name\":\"gone\",\"role\":\"user\"}",
	           &gone);
	api_revoke(&p, adm.token, gone.id, 204);
	before = api_list(&p, adm.token);
	prod_stop(&p);

	prod_start(&p);
	assert_whoami(&p, "public", adm.token, adm.id, "ops", "admin", "null",
	              "null");
	assert_whoami(&p, "public", user.token, user.id, "alice", "user",
	              "[\"alpha\"]", "null");
	req_bearer(&p, "public", "GET", "/gateway/v1/whoami", gone.token, NULL,
	           &r);
	assert_401(&r, 1, "revoked", "a key revoked before the restart");
	aster_test_response_free(&r);
	after = api_list(&p, adm.token);
	assert_same_keys(before, after, "before the restart", "after it");
	json_object_put(before);
	json_object_put(after);
	prod_done(&p);
}
END_TEST

/* --- two nodes on one PostgreSQL -------------------------------------------- */

/* Polls GET /t/user with token on n every 50 ms until it answers 401;
 * returns the milliseconds it took (fails after 5 s). */
static uint64_t
poll_until_refused(struct prod *n, const char *token, uint64_t t0)
{
	struct aster_test_response r;

	for (;;) {
		req_bearer(n, "public", "GET", "/t/user", token, NULL, &r);
		if (r.status == 401) {
			assert_401(&r, 1, "revoked", "a key revoked on the "
			           "other node");
			aster_test_response_free(&r);
			return integ_ms_now() - t0;
		}
		ck_assert_msg(r.status == 200, "polling a revoked key: %d; "
		              "body: %s", r.status, r.body);
		aster_test_response_free(&r);
		ck_assert_msg(integ_ms_now() - t0 <
		              (uint64_t)aster_test_timeout(5000), "a key revoked "
		              "on one node still works on the other after 5 s "
		              "(stretched under valgrind)\n--- node stderr "
		              "---\n%s", aster_test_stderr(n->t));
		integ_sleep_ms(50);
	}
}

START_TEST(test_revocation_across_nodes)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	struct prod a, b;
	struct key adm, user, other;
	json_object *la, *lb;
	uint64_t t0, took;
	/* One second; stretched only under valgrind. */
	uint64_t limit = (uint64_t)aster_test_timeout(1000);

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	prod_postgres(&a, aster_test_pg_dsn(pg));
	prod_postgres(&b, aster_test_pg_dsn(pg));
	prod_start(&a);
	prod_start(&b);

	/* A key created on node A works on node B. */
	ctl_create(&a, "admin", "ops", NULL, &adm);
	assert_whoami(&b, "public", adm.token, adm.id, "ops", "admin", "null",
	              "null");
	api_create(&a, adm.token, "{\"name\":\"alice\",\"role\":\"user\"}",
	           &user);
	api_create(&b, adm.token, "{\"name\":\"bob\",\"role\":\"user\"}",
	           &other);
	assert_whoami(&b, "public", user.token, user.id, "alice", "user",
	              "null", "null");
	assert_whoami(&a, "public", other.token, other.id, "bob", "user",
	              "null", "null");
	/* Used on both, so both nodes have them cached. */
	expect_status(&a, "public", "/t/user", user.token, 200);
	expect_status(&b, "public", "/t/user", user.token, 200);
	expect_status(&a, "public", "/t/user", other.token, 200);
	expect_status(&b, "public", "/t/user", other.token, 200);

	/* Revoked on A: refused on A at once, on B within one second. */
	api_revoke(&a, adm.token, user.id, 204);
	t0 = integ_ms_now();
	expect_status(&a, "public", "/t/user", user.token, 401);
	took = poll_until_refused(&b, user.token, t0);
	ck_assert_msg(took < limit, "a key revoked on node A was refused on "
	              "node B only after %llu ms (limit %llu)",
	              (unsigned long long)took, (unsigned long long)limit);

	/* And the other way round. */
	api_revoke(&b, adm.token, other.id, 204);
	t0 = integ_ms_now();
	expect_status(&b, "public", "/t/user", other.token, 401);
	took = poll_until_refused(&a, other.token, t0);
	ck_assert_msg(took < limit, "a key revoked on node B was refused on "
	              "node A only after %llu ms (limit %llu)",
	              (unsigned long long)took, (unsigned long long)limit);

	/* The same list on both. */
	la = api_list(&a, adm.token);
	lb = api_list(&b, adm.token);
	ck_assert_int_eq(json_object_array_length(la), 3);
	assert_same_keys(la, lb, "on node A", "on node B");
	json_object_put(la);
	json_object_put(lb);

	prod_done(&b);
	prod_done(&a);
	aster_test_pg_free(pg);
}
END_TEST

/* Polls GET /t/user with token on n every 100 ms until it answers want
 * (limit_ms at most); returns the milliseconds it took. */
static uint64_t
await_status(struct prod *n, const char *token, int want, int limit_ms,
             const char *what)
{
	struct aster_test_response r;
	uint64_t t0 = integ_ms_now();

	for (;;) {
		req_bearer(n, "public", "GET", "/t/user", token, NULL, &r);
		if (r.status == want)
			break;
		ck_assert_msg(integ_ms_now() - t0 < (uint64_t)limit_ms, "%s: %d "
		              "after %d ms, expected %d; body: %s\n--- asterd "
		              "stderr ---\n%s", what, r.status, limit_ms, want,
		              r.body, aster_test_stderr(n->t));
		aster_test_response_free(&r);
		integ_sleep_ms(100);
	}
	aster_test_response_free(&r);
	return integ_ms_now() - t0;
}

/*
 * The store going away and coming back: a key that needs the store
 * answers 503 (never 401, never 200) while it is down; after it is
 * back, a revocation on one node still reaches the other within the
 * second (the subscription came back with the connection).
 */
START_TEST(test_nodes_across_pg_restart)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	struct prod a, b;
	struct key adm, user, fresh;
	struct aster_test_response r;
	uint64_t t0, took;
	uint64_t limit = (uint64_t)aster_test_timeout(1000);

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	prod_postgres(&a, aster_test_pg_dsn(pg));
	prod_postgres(&b, aster_test_pg_dsn(pg));
	prod_start(&a);
	prod_start(&b);
	ctl_create(&a, "admin", "ops", NULL, &adm);
	api_create(&a, adm.token, "{\"name\":\"alice\",\"role\":\"user\"}",
	           &user);
	api_create(&a, adm.token, "{\"name\":\"fresh\",\"role\":\"user\"}",
	           &fresh);
	expect_status(&a, "public", "/t/user", user.token, 200);
	expect_status(&b, "public", "/t/user", user.token, 200);

	/* Down: a key never seen by B cannot be verified there. */
	ck_assert_int_eq(aster_test_pg_stop_server(pg), 0);
	req_bearer(&b, "public", "GET", "/t/user", fresh.token, NULL, &r);
	ck_assert_msg(r.status == 503, "a key not cached, the store down: %d, "
	              "expected 503; body: %s", r.status, r.body);
	integ_assert_problem(&r, 503, "unavailable");
	ck_assert_msg(aster_test_header(&r, "Retry-After") != NULL,
	              "503 without Retry-After");
	aster_test_response_free(&r);
	req_bearer(&a, "public", "POST", "/gateway/v1/admin/keys", adm.token,
	           "{\"name\":\"late\",\"role\":\"user\"}", &r);
	ck_assert_msg(r.status == 503, "POST /gateway/v1/admin/keys, the store "
	              "down: %d, expected 503; body: %s", r.status, r.body);
	integ_assert_problem(&r, 503, "unavailable");
	aster_test_response_free(&r);

	/* Back: both nodes verify from the store again. */
	ck_assert_int_eq(aster_test_pg_start_server(pg), 0);
	await_status(&b, fresh.token, 200, aster_test_timeout(15000),
	             "node B, a key looked up after the store came back");
	await_status(&a, fresh.token, 200, aster_test_timeout(15000),
	             "node A, a key looked up after the store came back");
	expect_status(&b, "public", "/t/user", user.token, 200);

	/* And revocations travel again. */
	api_revoke(&a, adm.token, user.id, 204);
	t0 = integ_ms_now();
	took = poll_until_refused(&b, user.token, t0);
	ck_assert_msg(took < limit, "after the store came back, a key revoked "
	              "on node A was refused on node B only after %llu ms "
	              "(limit %llu)", (unsigned long long)took,
	              (unsigned long long)limit);
	api_revoke(&b, adm.token, fresh.id, 204);
	t0 = integ_ms_now();
	took = poll_until_refused(&a, fresh.token, t0);
	ck_assert_msg(took < limit, "after the store came back, a key revoked "
	              "on node B was refused on node A only after %llu ms "
	              "(limit %llu)", (unsigned long long)took,
	              (unsigned long long)limit);
	prod_done(&b);
	prod_done(&a);
	aster_test_pg_free(pg);
}
END_TEST

/* --- the default product ---------------------------------------------------- */

/* The shipped conf.d, as is: the first admin key through `asterctl -c
 * DIR`, then the core's admin routes and the key endpoints by scope. */
START_TEST(test_default_product)
{
	struct prod p;
	struct key adm, user;
	struct aster_test_response r;
	char src[PATH_MAX], run_env[PATH_MAX + 32], state_env[PATH_MAX + 32];
	const char *envv[3];
	const char *admin_paths[] = {"/gateway/v1/admin/modules",
	                             "/gateway/v1/admin/routes",
	                             "/gateway/v1/admin/keys", NULL};
	size_t i;

	prod_init(&p);
	snprintf(src, sizeof(src), "%s/conf.d", unit_srcdir());
	p.copy = aster_test_copy_dir(src);
	ck_assert_msg(p.copy != NULL, "cannot copy %s", src);
	snprintf(p.conf, sizeof(p.conf), "%s", p.copy);
	p.sock[0] = '\0';          /* asterctl -c DIR finds it */
	snprintf(run_env, sizeof(run_env), "RUNTIME_DIRECTORY=%s/run", p.dir);
	snprintf(state_env, sizeof(state_env), "STATE_DIRECTORY=%s/state",
	         p.dir);
	ck_assert_int_eq(aster_test_write_file(p.dir, "run/.keep", "", 0), 0);
	ck_assert_int_eq(aster_test_write_file(p.dir, "state/.keep", "", 0),
	                 0);
	envv[0] = run_env;
	envv[1] = state_env;
	envv[2] = NULL;
	p.ctl_env = run_env;
	p.t = integ_start_dir(p.conf, envv);

	ctl_create(&p, "admin", "ops", NULL, &adm);
	api_create(&p, adm.token, "{\"name\":\"alice\",\"role\":\"user\"}",
	           &user);
	assert_whoami(&p, "public", adm.token, adm.id, "ops", "admin", "null",
	              "null");
	assert_whoami(&p, "public", user.token, user.id, "alice", "user",
	              "null", "null");
	for (i = 0; admin_paths[i] != NULL; i++) {
		req(&p, "public", "GET", admin_paths[i], NULL, NULL, &r);
		assert_401(&r, 0, NULL, admin_paths[i]);
		aster_test_response_free(&r);
		req_bearer(&p, "public", "GET", admin_paths[i], user.token,
		           NULL, &r);
		ck_assert_msg(r.status == 403, "GET %s with a user key: %d; "
		              "body: %s", admin_paths[i], r.status, r.body);
		integ_assert_problem(&r, 403, "forbidden");
		aster_test_response_free(&r);
		req_bearer(&p, "public", "GET", admin_paths[i], adm.token, NULL,
		           &r);
		ck_assert_msg(r.status == 200, "GET %s with the admin key: %d; "
		              "body: %s", admin_paths[i], r.status, r.body);
		aster_test_response_free(&r);
		/* Not on the internal listener. */
		req_bearer(&p, "internal", "GET", admin_paths[i], adm.token,
		           NULL, &r);
		integ_assert_problem(&r, 404, "route-not-found");
		aster_test_response_free(&r);
	}
	req_bearer(&p, "public", "GET", "/gateway/v1/admin/routes", adm.token,
	           NULL, &r);
	ck_assert_msg(strstr(r.body, "route:auth.whoami") != NULL,
	              "the admin route table does not list whoami: %s",
	              r.body);
	aster_test_response_free(&r);
	req_bearer(&p, "public", "GET", "/gateway/v1/admin/modules",
	           adm.token, NULL, &r);
	ck_assert_msg(strstr(r.body, "\"auth\"") != NULL,
	              "the admin module list does not show auth: %s", r.body);
	aster_test_response_free(&r);
	/* The public routes want nothing, whatever is sent. */
	req(&p, "public", "GET", "/gateway/v1/health", "Bearer nonsense", NULL,
	    &r);
	ck_assert_msg(r.status == 200, "health with a bad token: %d", r.status);
	aster_test_response_free(&r);
	prod_done(&p);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *ctl = tcase_create("asterctl");
	TCase *matrix = tcase_create("scopes");
	TCase *keys = tcase_create("keys");
	TCase *nodes = tcase_create("nodes");

	tcase_set_timeout(ctl, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(matrix, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(keys, INTEG_TCASE_TIMEOUT);
	tcase_set_timeout(nodes, INTEG_TCASE_TIMEOUT * 2);
	tcase_add_test(ctl, test_first_admin_key_from_asterctl);
	tcase_add_test(ctl, test_default_product);
	tcase_add_test(matrix, test_scope_matrix);
	tcase_add_test(keys, test_keys_api);
	tcase_add_test(keys, test_key_expiry);
	tcase_add_test(keys, test_keys_survive_restart);
	tcase_add_test(nodes, test_revocation_across_nodes);
	tcase_add_test(nodes, test_nodes_across_pg_restart);
	suite_add_tcase(s, ctl);
	suite_add_tcase(s, matrix);
	suite_add_tcase(s, keys);
	suite_add_tcase(s, nodes);
	return s;
}

UNIT_MAIN(auth_suite)
