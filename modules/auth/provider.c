/*
 * provider.c - the `auth` provider (SPEC §7.4, aster/auth.h): its
 * descriptor, configuration and checks, start, stop and reload, and the
 * verify entry point that sends a token to keys.c or jwt.c.
 *
 *   services:
 *     - id: credentials
 *       provider: auth
 *       config:
 *         cache_size: 10000
 *         failed_credentials: {requests: 20, per_ms: 60000, burst: 40}
 *         jwt:
 *           jwks: keys/jwks.json
 *           issuer: https://id.example.com/
 *           audience: aster
 *           leeway_s: 60
 *           role_claim: role
 *           spaces_claim: spaces
 *
 * start() loads the JWKS, then (asynchronously, ASTER_PENDING) creates
 * the table aster_api_keys if missing, in a transaction holding the lock
 * "aster.auth" so nodes starting together do not race, and subscribes
 * to the channel aster_api_keys for revocations.
 *
 * failed_credentials is only reported to the core (failure_limit), which
 * throttles failed credentials per client address before verify() is
 * called (aster/auth.h).
 *
 * Teardown may begin inside one of our own callbacks, so the instance is
 * freed by whoever leaves last (au_enter/au_leave): stop(), or the
 * outermost code running callers' callbacks when stop() was called.
 */
#include "au.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AU_DEFAULT_CACHE 10000
#define AU_DEFAULT_LEEWAY 60
#define AU_LEEWAY_MAX 3600

static const struct aster_config_key au_keys[] = {
	{"jwt", ASTER_VALUE_MAP, 0, 0, 0,
	 "JWT verification: jwks, issuer, audience, leeway_s, role_claim, "
	 "spaces_claim"},
	{"cache_size", ASTER_VALUE_INT, 0, 0, 10000000,
	 "verified credentials kept in memory, per kind (default 10000)"},
	{"failed_credentials", ASTER_VALUE_MAP, 0, 0, 0,
	 "failed credentials allowed per client address: requests, per_ms, "
	 "burst (default 20 per 60000 ms, burst 40)"},
	{NULL, 0, 0, 0, 0, NULL},
};

static const char *const au_jwt_keys[] = {
	"jwks", "issuer", "audience", "leeway_s", "role_claim",
	"spaces_claim", NULL,
};

/* The keys of failed_credentials and their bounds (those of a route's
 * rateLimit). */
static const struct {
	const char *name;
	long long max;
} au_limit_keys[] = {
	{"requests", 1LL << 30},
	{"per_ms", 1LL << 32},
	{"burst", 1LL << 30},
	{NULL, 0},
};

static const char au_schema[] =
    "CREATE TABLE IF NOT EXISTS aster_api_keys ("
    "id TEXT PRIMARY KEY, "
    "name TEXT NOT NULL, "
    "role TEXT NOT NULL, "
    "spaces TEXT NOT NULL, "
    "hash TEXT NOT NULL, "
    "created_at BIGINT NOT NULL, "
    "expires_at BIGINT NOT NULL, "
    "revoked_at BIGINT NOT NULL, "
    "last_used_at BIGINT NOT NULL)";

/* start()'s cause, copied by the core at once; the loop thread is the
 * only caller. */
static char au_cause[1024];

void
au_log(const char *fmt, ...)
{
	va_list ap;

	fputs("auth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- configuration --- */

/*
 * Checks the `jwt` mapping. With chk set (validate) every problem is
 * reported at its node; without (start) the first is written to
 * au_cause. With a non-NULL a the values are stored in it (and the JWKS
 * loaded). Returns the number of problems.
 */
static int
au_jwt_config(const struct aster_host *host, struct aster_check *chk,
              const aster_node *jwt, struct au_auth *a)
{
	const aster_node *n;
	const char *key, *v, *path = NULL;
	size_t i, j;
	int errs = 0;
	char err[768];
	struct au_jwks *set;
	long long leeway = AU_DEFAULT_LEEWAY;
	char *end;

#define AU_BAD(node, ...) do { \
		errs++; \
		if (chk != NULL) \
			host->report(chk, (node), __VA_ARGS__); \
		else if (errs == 1) \
			snprintf(au_cause, sizeof(au_cause), __VA_ARGS__); \
	} while (0)

	if (host->node_kind(jwt) != ASTER_NODE_MAP) {
		AU_BAD(jwt, "auth: 'jwt' must be a mapping");
		return errs;
	}
	for (i = 0; i < host->size(jwt); i++) {
		key = host->map_key_at(jwt, i);
		n = host->map_value_at(jwt, i);
		for (j = 0; au_jwt_keys[j] != NULL; j++)
			if (key != NULL && strcmp(key, au_jwt_keys[j]) == 0)
				break;
		if (au_jwt_keys[j] == NULL) {
			AU_BAD(n, "auth: unknown key 'jwt.%s' (expected jwks, "
			       "issuer, audience, leeway_s, role_claim or "
			       "spaces_claim)", key != NULL ? key : "?");
			continue;
		}
		v = host->scalar(n);
		if (v == NULL) {
			AU_BAD(n, "auth: 'jwt.%s' must be a scalar", key);
			continue;
		}
		if (strcmp(key, "leeway_s") == 0) {
			leeway = strtoll(v, &end, 10);
			if (*v == '\0' || *end != '\0' || leeway < 0 ||
			    leeway > AU_LEEWAY_MAX)
				AU_BAD(n, "auth: 'jwt.leeway_s' must be an "
				       "integer from 0 to %d", AU_LEEWAY_MAX);
		} else if (v[0] == '\0') {
			AU_BAD(n, "auth: 'jwt.%s' must not be empty", key);
		} else if (strcmp(key, "jwks") == 0) {
			path = host->resolve_path(n, v);
			if (path == NULL)
				path = v;
			if ((set = au_jwks_load(path, err, sizeof(err))) == NULL)
				AU_BAD(n, "auth: %s", err);
			else if (a != NULL)
				a->jwks = set;
			else
				au_jwks_free(set);
		}
	}
	if (host->map_get(jwt, "jwks") == NULL)
		AU_BAD(jwt, "auth: 'jwt' needs 'jwks', the path of a JWKS "
		       "file");
	if (a != NULL && errs == 0) {
#define AU_DUP(dst, name) do { \
		n = host->map_get(jwt, (name)); \
		v = n != NULL ? host->scalar(n) : NULL; \
		if (v != NULL && ((dst) = strdup(v)) == NULL) { \
			AU_BAD(jwt, "auth: out of memory"); \
			return errs; \
		} \
	} while (0)
		a->jwt_on = 1;
		a->leeway = leeway;
		if ((a->jwks_path = strdup(path)) == NULL) {
			AU_BAD(jwt, "auth: out of memory");
			return errs;
		}
		AU_DUP(a->issuer, "issuer");
		AU_DUP(a->audience, "audience");
		AU_DUP(a->role_claim, "role_claim");
		AU_DUP(a->spaces_claim, "spaces_claim");
#undef AU_DUP
	}
#undef AU_BAD
	return errs;
}

/*
 * Checks the `failed_credentials` mapping like au_jwt_config() and, with
 * out set, stores the limit: each key defaults to the default limit's,
 * except burst, twice requests. Returns the number of problems.
 */
static int
au_limit_config(const struct aster_host *host, struct aster_check *chk,
                const aster_node *m, struct aster_auth_limit *out)
{
	long long v[3] = {ASTER_AUTH_FAILURES_REQUESTS,
	                  ASTER_AUTH_FAILURES_PER_MS, 0};
	const aster_node *n;
	const char *key, *text;
	char *end;
	size_t i, j;
	int errs = 0;

#define AU_BAD(node, ...) do { \
		errs++; \
		if (chk != NULL) \
			host->report(chk, (node), __VA_ARGS__); \
		else if (errs == 1) \
			snprintf(au_cause, sizeof(au_cause), __VA_ARGS__); \
	} while (0)

	if (host->node_kind(m) != ASTER_NODE_MAP) {
		AU_BAD(m, "auth: 'failed_credentials' must be a mapping "
		       "(requests, per_ms, burst)");
		return errs;
	}
	for (i = 0; i < host->size(m); i++) {
		key = host->map_key_at(m, i);
		n = host->map_value_at(m, i);
		for (j = 0; au_limit_keys[j].name != NULL; j++)
			if (key != NULL &&
			    strcmp(key, au_limit_keys[j].name) == 0)
				break;
		if (au_limit_keys[j].name == NULL) {
			AU_BAD(n, "auth: unknown key 'failed_credentials.%s' "
			       "(expected requests, per_ms or burst)",
			       key != NULL ? key : "?");
			continue;
		}
		text = host->scalar(n);
		if (text != NULL && *text >= '0' && *text <= '9')
			v[j] = strtoll(text, &end, 10);
		if (text == NULL || *text < '0' || *text > '9' ||
		    *end != '\0' || v[j] < 1 || v[j] > au_limit_keys[j].max) {
			AU_BAD(n, "auth: 'failed_credentials.%s' must be an "
			       "integer from 1 to %lld", key,
			       au_limit_keys[j].max);
			v[j] = 1;
		}
	}
#undef AU_BAD
	if (out != NULL) {
		out->requests = v[0];
		out->per_ms = v[1];
		out->burst = v[2] > 0 ? v[2] : 2 * v[0];
	}
	return errs;
}

static int
au_validate(const struct aster_host *host, struct aster_check *chk,
            const aster_node *config)
{
	const aster_node *jwt = config != NULL ?
	                        host->map_get(config, "jwt") : NULL;
	const aster_node *limit = config != NULL ?
	                          host->map_get(config, "failed_credentials") :
	                          NULL;
	int errs = 0;

	if (jwt != NULL)
		errs += au_jwt_config(host, chk, jwt, NULL);
	if (limit != NULL)
		errs += au_limit_config(host, chk, limit, NULL);
	return errs;
}

/* --- the instance --- */

static void
au_free(struct au_auth *a)
{
	au_cache_free(&a->keys);
	au_cache_free(&a->jwts);
	au_cache_free(&a->lookups);
	au_cache_free(&a->misses);
	au_jwks_free(a->jwks);
	free(a->jwks_path);
	free(a->issuer);
	free(a->audience);
	free(a->role_claim);
	free(a->spaces_claim);
	EVP_MD_CTX_free(a->md);
	EVP_MD_free(a->sha256);
	free(a);
}

void
au_enter(struct au_auth *a)
{
	a->depth++;
}

int
au_leave(struct au_auth *a)
{
	if (--a->depth == 0 && a->stopped) {
		au_free(a);
		return 1;
	}
	return a->stopped;
}

/* The end of the start, unless a stop came first. */
static void
au_start_done(struct au_auth *a, int ok, const char *cause)
{
	struct aster_service *svc = a->svc;

	a->svc = NULL;
	if (svc != NULL)
		a->host->started(svc, ok, cause);
}

static void
au_start_fail(struct au_op *op, const char *what, const char *error)
{
	struct au_auth *a = op->a;

	snprintf(au_cause, sizeof(au_cause), "auth: %s: %s", what,
	         error != NULL ? error : "the store is unavailable");
	au_op_abandon(op);
	au_enter(a);
	au_start_done(a, 0, au_cause);
	au_leave(a);
}

static void
au_start_committed(void *arg, enum aster_store_status st, const char *error)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;
	const struct aster_store_ops *so;

	op->txn = NULL;
	if (a == NULL) {
		au_op_free(op);
		return;
	}
	if (st != ASTER_STORE_OK) {
		au_start_fail(op, "cannot create the table aster_api_keys",
		              error);
		return;
	}
	au_op_free(op);
	so = a->store.ops;
	if (so->subscribe != NULL) {
		if (so->subscribe(a->store.self, AU_CHANNEL, au_key_notify,
		                  a) < 0) {
			au_enter(a);
			au_start_done(a, 0, "auth: cannot subscribe to the "
			              "channel " AU_CHANNEL);
			au_leave(a);
			return;
		}
		a->subscribed = 1;
	} else {
		au_log("the store offers no notifications: revocations made "
		       "by other nodes reach this one only as its cache "
		       "turns over");
	}
	au_enter(a);
	au_start_done(a, 1, NULL);
	au_leave(a);
}

static void
au_start_created(void *arg, enum aster_store_status st, const char *error)
{
	struct au_op *op = arg;
	struct aster_txn *txn = op->txn;

	if (op->a == NULL) {
		au_op_abandon(op);
		return;
	}
	if (st != ASTER_STORE_OK) {
		au_start_fail(op, "cannot create the table aster_api_keys",
		              error);
		return;
	}
	if (op->store.ops->commit(op->store.self, txn, au_start_committed,
	                          op) < 0)
		au_start_fail(op, "cannot commit", "out of memory");
}

static void
au_start_begun(void *arg, enum aster_store_status st, struct aster_txn *txn,
               const char *error)
{
	struct au_op *op = arg;

	op->txn = txn;
	if (op->a == NULL) {
		au_op_abandon(op);
		return;
	}
	if (st != ASTER_STORE_OK) {
		au_start_fail(op, "cannot begin a transaction", error);
		return;
	}
	if (op->store.ops->exec(op->store.self, txn, au_schema,
	                        au_start_created, op) < 0)
		au_start_fail(op, "cannot create the table aster_api_keys",
		              "out of memory");
}

static int
au_start(const struct aster_host *host, struct aster_service *svc,
         const aster_node *config, void **state, const char **cause)
{
	const struct aster_store *store = host->store(svc);
	const aster_node *n;
	const char *v;
	struct au_auth *a;
	struct au_op *op;
	size_t cache = AU_DEFAULT_CACHE;

	*state = NULL;
	*cause = au_cause;
	if (store == NULL || store->ops == NULL) {
		snprintf(au_cause, sizeof(au_cause), "the auth module needs: "
		         "[state-store]");
		return ASTER_FAILED;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(au_cause, sizeof(au_cause), "auth: out of memory");
		return ASTER_FAILED;
	}
	a->host = host;
	a->store = *store;
	a->base = host->event_base(svc);
	a->leeway = AU_DEFAULT_LEEWAY;
	n = config != NULL ? host->map_get(config, "cache_size") : NULL;
	if (n != NULL && (v = host->scalar(n)) != NULL)
		cache = (size_t)strtoull(v, NULL, 10);
	a->cache_size = cache;
	au_cache_init(&a->keys, cache);
	au_cache_init(&a->jwts, cache);
	au_cache_init(&a->lookups, SIZE_MAX);
	au_cache_init(&a->misses, cache < AU_MISS_MAX ? cache : AU_MISS_MAX);
	a->failures.requests = ASTER_AUTH_FAILURES_REQUESTS;
	a->failures.per_ms = ASTER_AUTH_FAILURES_PER_MS;
	a->failures.burst = ASTER_AUTH_FAILURES_BURST;
	n = config != NULL ? host->map_get(config, "failed_credentials") :
	    NULL;
	if (n != NULL && au_limit_config(host, NULL, n, &a->failures) > 0)
		goto fail;
	a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	a->md = EVP_MD_CTX_new();
	if (a->sha256 == NULL || a->md == NULL) {
		snprintf(au_cause, sizeof(au_cause), "auth: cannot set up "
		         "SHA-256");
		goto fail;
	}
	n = config != NULL ? host->map_get(config, "jwt") : NULL;
	if (n != NULL && au_jwt_config(host, NULL, n, a) > 0)
		goto fail;
	if ((op = au_op_new(a, AU_OP_START)) == NULL ||
	    a->store.ops->begin(a->store.self, AU_LOCK, au_start_begun,
	                        op) < 0) {
		au_op_free(op);
		snprintf(au_cause, sizeof(au_cause), "auth: cannot begin a "
		         "store transaction");
		goto fail;
	}
	a->svc = svc;
	*state = a;
	*cause = NULL;
	return ASTER_PENDING;
fail:
	au_free(a);
	return ASTER_FAILED;
}

/* Answers everything pending UNAVAILABLE, lets go of the store and frees
 * the instance (or leaves that to the outermost callback runner). */
static void
au_stop(void *state)
{
	struct au_auth *a = state;
	const struct aster_store_ops *so;

	if (a == NULL || a->stopped)
		return;
	au_enter(a);
	a->svc = NULL;          /* a pending start ends unannounced */
	so = a->store.ops;
	if (a->subscribed && so->unsubscribe != NULL)
		(void)so->unsubscribe(a->store.self, AU_CHANNEL,
		                      au_key_notify, a);
	a->subscribed = 0;
	a->stopped = 1;
	au_lookups_fail_all(a);
	au_ops_detach_all(a);
	au_leave(a);
}

/* Re-reads the JWKS file; a broken one leaves the loaded keys in use.
 * Verified tokens are forgotten either way. */
static void
au_reload(void *state)
{
	struct au_auth *a = state;
	struct au_jwks *set;
	char err[768];

	if (a == NULL || a->stopped || !a->jwt_on)
		return;
	au_cache_clear(&a->jwts);
	if ((set = au_jwks_load(a->jwks_path, err, sizeof(err))) == NULL) {
		au_log("reload: %s; the keys loaded before stay in use", err);
		return;
	}
	au_jwks_free(a->jwks);
	a->jwks = set;
}

/* --- verify --- */

static int
au_verify(void *self, const char *token, size_t len,
          aster_auth_verify_cb cb, void *arg)
{
	struct au_auth *a = self;

	if (a == NULL || cb == NULL || (token == NULL && len > 0))
		return -1;
	if (a->stopped) {
		cb(arg, ASTER_AUTH_UNAVAILABLE, NULL, "the auth service is "
		   "stopping");
		return 0;
	}
	if (len == 0) {
		cb(arg, ASTER_AUTH_INVALID, NULL, "no bearer token");
		return 0;
	}
	if (len > AU_TOKEN_MAX) {
		cb(arg, ASTER_AUTH_INVALID, NULL, "the token is too long");
		return 0;
	}
	if (len >= 6 && memcmp(token, "aster_", 6) == 0)
		return au_key_verify(a, token, len, cb, arg);
	if (!a->jwt_on) {
		cb(arg, ASTER_AUTH_INVALID, NULL, "JWT is not configured");
		return 0;
	}
	return au_jwt_verify(a, token, len, cb, arg);
}

/* --- helpers shared by keys.c and jwt.c --- */

/* Space ids: 1 to 64 bytes of [A-Za-z0-9._-], starting with a letter or
 * digit. */
int
au_space_ok(const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	if (s == NULL || len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

void
au_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* t as 2026-11-24T10:31:02Z. */
void
au_fmt_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

static void
au_failure_limit(void *self, struct aster_auth_limit *out)
{
	const struct au_auth *a = self;

	*out = a->failures;
}

static const struct aster_auth_ops au_auth_ops = {
	.verify = au_verify,
	.key_create = au_key_create,
	.key_list = au_key_list,
	.key_revoke = au_key_revoke,
	.failure_limit = au_failure_limit,
};

static const struct aster_operation au_operations[] = {
	{"whoami", "GET", "The caller's credential",
	 "{\"type\":\"object\",\"required\":[\"kind\",\"id\","
	 "\"role\"],\"properties\":{\"kind\":{\"enum\":[\"api-key\","
	 "\"jwt\"]},\"id\":{\"type\":\"string\"},\"role\":{\"enum\":"
	 "[\"admin\",\"user\"]},\"spaces\":{\"type\":[\"array\","
	 "\"null\"],\"items\":{\"type\":\"string\"}}}}", au_http_whoami},
	{"keys-create", "POST", "Create an API key (shown once)", NULL,
	 au_http_keys_create},
	{"keys-list", "GET", "Every API key, without secrets",
	 "{\"type\":\"object\",\"required\":[\"items\"]}",
	 au_http_keys_list},
	{"keys-revoke", "DELETE", "Revoke an API key, on every node", NULL,
	 au_http_keys_revoke},
	{NULL, NULL, NULL, NULL, NULL},
};

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "auth",
	.description = "Credentials: API keys in the state store, JWTs "
	               "verified against a JWKS file",
	.config_keys = au_keys,
	.validate = au_validate,
	.operations = au_operations,
	.start = au_start,
	.stop = au_stop,
	.auth = &au_auth_ops,
	.reload = au_reload,
};
