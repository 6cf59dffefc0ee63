/*
 * aster/auth.h - credentials: what an auth provider implements and what
 * the core asks of it.
 *
 * The module that `provides: [auth]` runs a service whose provider sets
 * `auth` in its descriptor (aster/provider.h). For every request to a
 * route of scope `user` or `admin`, the HTTP layer takes the token of
 * `Authorization: Bearer TOKEN` and asks that service to verify it; the
 * answer says who the caller is and with which role (SPEC §7.4). The
 * admin key endpoints and `asterctl keys` manage API keys through the
 * same service.
 *
 * verify() may answer inside the call (a cached API key, any JWT: the
 * fast path every authenticated request takes) or later, on the event
 * loop's thread (an API key not yet cached). The key operations always
 * answer later. Every call answers exactly once, unless it returns -1
 * (bad arguments, out of memory), and then never. What a callback
 * receives is valid only during the callback. A provider's stop()
 * answers every pending call (ASTER_AUTH_UNAVAILABLE) before it returns.
 *
 * Failed credentials (SPEC §7.4): the core, not the provider, throttles
 * them, per client address, before verify() is called, so a caller over
 * the limit never reaches the provider's store. The provider only owns
 * the limit (its config, through failure_limit()). An address whose
 * bucket is empty gets 429 with Retry-After and verify() is not called.
 * Only INVALID answers, and presented credentials that are not "Bearer
 * TOKEN", take a token; a request without Authorization does not count.
 * A verify() that returns before answering holds a token until it
 * answers (given back for OK or UNAVAILABLE), so one address never has
 * more lookups in flight than its bucket holds. A provider therefore
 * answers INVALID with one detail for an unknown key id and for a wrong
 * secret, and checks the secret before saying revoked or expired, so a
 * 401 never tells whether an id exists.
 */
#ifndef ASTER_AUTH_H
#define ASTER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The capability an auth module provides. */
#define ASTER_AUTH_CAPABILITY "auth"

enum aster_auth_status {
	ASTER_AUTH_OK = 0,
	ASTER_AUTH_INVALID,     /* verify: missing, malformed, unknown,
	                           expired, revoked or badly signed (401);
	                           keys: a bad request (422) */
	ASTER_AUTH_NOT_FOUND,   /* keys: no such key (404) */
	ASTER_AUTH_UNAVAILABLE, /* cannot tell now: the store is down (503) */
};

/* The failed-credential limit of the default failure_limit(): 20 a
 * minute, bursts of 40, per client address. */
#define ASTER_AUTH_FAILURES_REQUESTS 20
#define ASTER_AUTH_FAILURES_PER_MS 60000
#define ASTER_AUTH_FAILURES_BURST 40

/* A token bucket, as a route's rateLimit (SPEC §7.5): at most `burst`
 * failures at once, refilled at `requests` every `per_ms` ms. */
struct aster_auth_limit {
	long long requests;         /* >= 1 */
	long long per_ms;           /* >= 1 */
	long long burst;            /* >= 1 */
};

/* Who a verified token speaks for. */
struct aster_credential {
	const char *kind;           /* "api-key", "jwt", or "runtime" (a
	                               module's runtime process calling on
	                               its gateway socket, SPEC §10) */
	const char *id;             /* the key's id, the JWT's `sub`, or
	                               the runtime's module id */
	const char *name;           /* the key's name; NULL for a JWT */
	const char *role;           /* "admin" or "user"; "internal" for a
	                               runtime */
	const char *const *spaces;  /* the spaces it is limited to */
	size_t nspaces;             /* 0: not limited */
	int64_t expires_at;         /* Unix seconds; 0: never */
};

/* An API key as stored (never with its secret or hash), or as just
 * created (then `key` holds the token, shown this once). */
struct aster_api_key {
	const char *id;
	const char *name;
	const char *role;           /* "admin" or "user" */
	const char *const *spaces;
	size_t nspaces;             /* 0: not limited */
	int64_t created_at;         /* Unix seconds */
	int64_t expires_at;         /* 0: never */
	int64_t revoked_at;         /* 0: not revoked */
	int64_t last_used_at;       /* 0: never used */
	const char *key;            /* key_create only; else NULL */
};

/* What key_create makes. */
struct aster_api_key_spec {
	const char *name;           /* required, 1 to 128 bytes */
	const char *role;           /* "admin" or "user" */
	const char *const *spaces;
	size_t nspaces;
	int64_t expires_at;         /* 0: never; else in the future */
};

/* detail, when not NULL, is a one-line reason for the problem's
 * `detail` (never containing the token). */
typedef void (*aster_auth_verify_cb)(void *arg, enum aster_auth_status st,
                                     const struct aster_credential *cred,
                                     const char *detail);
typedef void (*aster_auth_key_cb)(void *arg, enum aster_auth_status st,
                                  const struct aster_api_key *key,
                                  const char *detail);
typedef void (*aster_auth_keys_cb)(void *arg, enum aster_auth_status st,
                                   const struct aster_api_key *keys,
                                   size_t n, const char *detail);

/* The operations of an auth service; self is its start hook's state. */
struct aster_auth_ops {
	/* Verifies the bearer token (len bytes, not NUL-terminated). */
	int (*verify)(void *self, const char *token, size_t len,
	              aster_auth_verify_cb cb, void *arg);

	/* Creates an API key; the callback's key->key is the token. */
	int (*key_create)(void *self, const struct aster_api_key_spec *spec,
	                  aster_auth_key_cb cb, void *arg);

	/* Every key, revoked ones included, oldest first. */
	int (*key_list)(void *self, aster_auth_keys_cb cb, void *arg);

	/* Revokes a key, on every node sharing the store at once: a token
	 * of a revoked key fails verify from the callback on. The callback
	 * gets the key as revoked; NOT_FOUND when there is no such key. */
	int (*key_revoke)(void *self, const char *id, aster_auth_key_cb cb,
	                  void *arg);

	/* The failed-credential limit of this instance (its config), into
	 * *out. Called on the loop's thread before verify(), for every
	 * request presenting a credential: cheap, answers inside the call,
	 * the same for the life of the instance. NULL: the
	 * ASTER_AUTH_FAILURES_* default. */
	void (*failure_limit)(void *self, struct aster_auth_limit *out);
};

#ifdef __cplusplus
}
#endif

#endif
