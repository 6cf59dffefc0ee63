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

/* Who a verified token speaks for. */
struct aster_credential {
	const char *kind;           /* "api-key" or "jwt" */
	const char *id;             /* the key's id, or the JWT's `sub` */
	const char *name;           /* the key's name; NULL for a JWT */
	const char *role;           /* "admin" or "user" */
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
};

#ifdef __cplusplus
}
#endif

#endif
