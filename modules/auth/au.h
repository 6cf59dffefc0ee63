/*
 * au.h - the auth provider's private types, shared by its files (nothing
 * here is seen outside auth.so).
 *
 *   provider.c  descriptor, config keys and validate, start (schema,
 *               subscription), stop, reload, verify's dispatch
 *   ops.c       store operations in flight (struct au_op), detached at
 *               stop so late store callbacks find no freed state
 *   keys.c      API keys: create, list, revoke, verify (cache, unknown
 *               ids remembered briefly, lookups coalesced by id,
 *               revocation and creation notifications, last use)
 *   jwt.c       JWT (compact JWS) verification and its cache
 *   jwks.c      the JWKS file: parsing into OpenSSL keys, checks
 *   http.c      the endpoints: whoami and the admin key operations
 *   cache.c     a bounded LRU hash table of reference-counted entries
 *   b64.c       strict base64url, hex, SHA-256
 *
 * Everything runs on the event loop's thread: no locks.
 */
#ifndef AU_H
#define AU_H

#include <aster/auth.h>
#include <aster/provider.h>
#include <aster/store.h>

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define AU_CHANNEL "aster_api_keys"
#define AU_LOCK "aster.auth"
#define AU_ID_LEN 16                /* hex characters of a key id */
#define AU_SECRET_LEN 43            /* base64url of 32 bytes */
#define AU_TOKEN_MAX 16384          /* longest bearer token looked at */
#define AU_TOUCH_EVERY_S 60         /* last_used_at writes, per key */
#define AU_LOOKUP_RETRIES 3         /* re-reads when revoked meanwhile */
#define AU_MISS_TTL_MS 10000        /* an unknown id is remembered */
#define AU_MISS_MAX 10000           /* unknown ids remembered at most */

/* --- cache.c --- */

/* The head of a cached value; the value's struct embeds it first. */
struct au_centry {
	struct au_centry *hnext;            /* bucket chain */
	struct au_centry *lprev, *lnext;    /* LRU order, head: newest */
	uint64_t h;
	size_t klen;
	unsigned char key[32];
	int refs;                           /* the cache's + holders' */
	int cached;                         /* in a table */
	void (*destroy)(struct au_centry *e);
};

struct au_cache {
	struct au_centry **buckets;
	size_t nbuckets;                    /* a power of two, or 0 */
	size_t n, max;                      /* max 0: keeps nothing */
	struct au_centry lru;               /* sentinel */
	uint64_t seed;
};

void au_cache_init(struct au_cache *c, size_t max);
/* The entry under key, made the newest, or NULL. Not referenced. */
struct au_centry *au_cache_get(struct au_cache *c, const void *key,
                               size_t klen);
/* Inserts e (its key set; the cache takes one reference, replacing and
 * releasing an entry of the same key) and evicts the oldest beyond max.
 * With max 0 it releases e at once. 0, or -1 when out of memory (e is
 * then released). */
int au_cache_put(struct au_cache *c, struct au_centry *e);
/* Removes and releases the entry under key, if any. */
void au_cache_del(struct au_cache *c, const void *key, size_t klen);
/* Removes and releases every entry. */
void au_cache_clear(struct au_cache *c);
void au_cache_free(struct au_cache *c);
void au_centry_ref(struct au_centry *e);
void au_centry_unref(struct au_centry *e);
/* Calls fn on every entry (it must not change the table). */
void au_cache_each(struct au_cache *c, void (*fn)(struct au_centry *, void *),
                   void *arg);

/* --- b64.c --- */

/* Strict base64url without padding: the alphabet only, no '=', unused
 * bits zero. Writes at most (len * 3) / 4 bytes; the decoded length, or
 * -1. */
long au_b64url_decode(const char *s, size_t len, unsigned char *out);
/* Writes ceil(len * 4 / 3) characters and a NUL. */
void au_b64url_encode(const unsigned char *in, size_t len, char *out);
void au_hex(const unsigned char *in, size_t len, char *out);
int au_unhex(const char *s, size_t len, unsigned char *out);

/* --- jwks.c --- */

enum au_kty { AU_KTY_OCT, AU_KTY_RSA, AU_KTY_EC, AU_KTY_OKP };

struct au_jwk {
	char *kid;
	enum au_kty kty;
	char *alg;                          /* the key's alg, or NULL */
	unsigned char *secret;              /* oct */
	size_t secret_len;
	EVP_PKEY *pkey;                     /* RSA, EC, OKP */
};

struct au_jwks {
	struct au_jwk *keys;
	size_t n;
};

/* Reads and checks the JWKS file at path. NULL with a one-line message
 * in err. */
struct au_jwks *au_jwks_load(const char *path, char *err, size_t errlen);
void au_jwks_free(struct au_jwks *k);
const struct au_jwk *au_jwks_find(const struct au_jwks *k, const char *kid,
                                  size_t len);
const char *au_kty_name(enum au_kty t);

/* --- the instance (provider.c) --- */

struct au_op;
struct au_lookup;

struct au_auth {
	const struct aster_host *host;
	struct aster_service *svc;          /* while the start is pending */
	struct aster_store store;
	struct event_base *base;            /* for answers given later */

	/* config */
	int jwt_on;
	char *jwks_path;
	char *issuer, *audience;            /* NULL: not checked */
	int64_t leeway;
	char *role_claim, *spaces_claim;
	size_t cache_size;
	struct aster_auth_limit failures;   /* failed_credentials */

	struct au_jwks *jwks;
	struct au_cache keys;               /* struct au_key by id */
	struct au_cache jwts;               /* struct au_jwt by SHA-256 */
	struct au_cache lookups;            /* struct au_lookup by id */
	struct au_cache misses;             /* struct au_miss by id */
	struct au_op *ops;                  /* store work in flight */

	EVP_MD *sha256;
	EVP_MD_CTX *md;

	uint64_t last_id_ms;                /* of the last key id made */
	int subscribed;
	int depth;                          /* callbacks running */
	int stopped;                        /* stop() ran: free on leave */
};

void au_sha256(struct au_auth *a, const void *p, size_t n,
               unsigned char out[32]);
/* Brackets code that runs callers' callbacks: stop() called from inside
 * frees the instance only at the outermost leave. au_leave answers 1
 * when the instance was stopped (and maybe freed: touch nothing). */
void au_enter(struct au_auth *a);
int au_leave(struct au_auth *a);
void au_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- ops.c --- */

enum au_op_kind {
	AU_OP_START,
	AU_OP_CREATE,
	AU_OP_LIST,
	AU_OP_REVOKE,
	AU_OP_LOOKUP,
	AU_OP_TOUCH,
};

/* One piece of store work in flight. When the instance stops first the
 * op is detached (a == NULL): its callbacks then only end the
 * transaction and free it. */
struct au_op {
	struct au_op *prev, *next;
	struct au_auth *a;
	struct aster_store store;
	enum au_op_kind kind;
	struct aster_txn *txn;
	int step;
	union {
		aster_auth_key_cb key;
		aster_auth_keys_cb keys;
	} cb;
	void *arg;
	int answered;                       /* the caller has its answer */
	char id[AU_ID_LEN + 1];
	char *token;                        /* create: the new token */
	struct au_key *made;                /* create: the new key */
	struct au_lookup *lookup;           /* lookup */
	struct event *ev;                   /* an answer deferred to the
	                                       next loop pass */
	enum aster_auth_status dst;
	char detail[256];
};

struct au_op *au_op_new(struct au_auth *a, enum au_op_kind kind);
/* Unlinks and frees op (after its last store callback). */
void au_op_free(struct au_op *op);
/* Ends a detached op's transaction (rollback) and frees it. */
void au_op_abandon(struct au_op *op);
/* Answers op's caller (key ops) with st and detail on the next loop
 * pass, since key operations never answer inside the call. 0 or -1. */
int au_op_defer(struct au_op *op, enum aster_auth_status st,
                const char *detail);
/* Answers every caller waiting on a's ops UNAVAILABLE and detaches the
 * ops. */
void au_ops_detach_all(struct au_auth *a);

/* --- keys.c --- */

struct au_key {
	struct au_centry ce;
	char id[AU_ID_LEN + 1];
	char *name;
	const char *role;                   /* static "admin" or "user" */
	char **spaces;
	size_t nspaces;
	unsigned char hash[32];
	int64_t created_at, expires_at, revoked_at, last_used_at;
};

int au_key_verify(struct au_auth *a, const char *token, size_t len,
                  aster_auth_verify_cb cb, void *arg);
int au_key_create(void *self, const struct aster_api_key_spec *spec,
                  aster_auth_key_cb cb, void *arg);
int au_key_list(void *self, aster_auth_keys_cb cb, void *arg);
int au_key_revoke(void *self, const char *id, aster_auth_key_cb cb,
                  void *arg);
void au_key_notify(void *arg, const char *payload);
/* Answers op's caller, when it has one that was not answered yet. */
void au_key_op_answer(struct au_op *op, enum aster_auth_status st,
                      const struct aster_api_key *key, const char *detail);
void au_lookups_fail_all(struct au_auth *a);

/* --- jwt.c --- */

struct au_jwt {
	struct au_centry ce;
	char *sub;
	const char *role;
	char **spaces;
	size_t nspaces;
	int64_t exp;
};

int au_jwt_verify(struct au_auth *a, const char *token, size_t len,
                  aster_auth_verify_cb cb, void *arg);

/* Helpers shared by keys.c and jwt.c. */
int au_space_ok(const char *s, size_t len);
void au_strv_free(char **v, size_t n);
void au_fmt_time(int64_t t, char *out, size_t outlen);

/* --- http.c: the operations routes name (aster/http.h) --- */

struct aster_request;
int au_http_whoami(void *self, struct aster_request *r);
int au_http_keys_create(void *self, struct aster_request *r);
int au_http_keys_list(void *self, struct aster_request *r);
int au_http_keys_revoke(void *self, struct aster_request *r);

#endif
