/*
 * keys.c - API keys: `aster_<id>_<secret>`, the id 16 lowercase hex
 * characters (time-ordered, see au_key_new_id), the secret 32 random
 * bytes in base64url (43 characters).
 * The store keeps the SHA-256 of the secret's bytes, in hex, never the
 * secret (table aster_api_keys, created by provider.c).
 *
 * verify looks the id up in a bounded LRU cache of rows: a hit is
 * answered inside the call (one SHA-256, one constant-time compare). A
 * miss queries the store; concurrent misses on one id share one query
 * (struct au_lookup) and the row read is cached. An id the store does
 * not hold is remembered for AU_MISS_TTL_MS (struct au_miss, at most
 * AU_MISS_MAX), so a client repeating a made-up key costs one query;
 * and the same answer, AU_KEY_REFUSED, goes to an unknown id and to a
 * wrong secret (revoked and expired are said only after the secret
 * matched), so a 401 never tells whether an id exists (SPEC §7.4).
 *
 * Revocation: key_revoke updates the row and publishes its id on the
 * channel aster_api_keys in the same transaction, and drops the id here
 * before answering. Every node's subscription drops the id from its
 * cache when the notification comes; a NULL notification (some may have
 * been lost) drops the whole cache. A lookup whose id was notified while
 * its query ran reads again, so a stale row is never cached.
 *
 * Creation: key_create forgets the id here and publishes "+ID" on the
 * same channel, so no node keeps refusing a new key as unknown (ids are
 * time-ordered with 20 random bits: a remembered miss for an id made
 * later is unlikely, not impossible). A node told "+ID" forgets that it
 * missed ID, and nothing else.
 *
 * last_used_at is written at most once a minute per key and node, by a
 * statement nobody waits for.
 */
#include "au.h"

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AU_KEY_TOKEN_LEN (6 + AU_ID_LEN + 1 + AU_SECRET_LEN)
/* The one detail for an unknown id and a wrong secret. */
#define AU_KEY_REFUSED "unknown API key or wrong secret"
#define AU_NAME_MAX 128

/* Columns of a row read for verify and revoke (with the hash). */
#define AU_COLS "id, name, role, spaces, hash, created_at, expires_at, " \
                "revoked_at, last_used_at"

static const char au_sql_lookup[] =
    "SELECT " AU_COLS " FROM aster_api_keys WHERE id = $1";
static const char au_sql_insert[] =
    "INSERT INTO aster_api_keys (" AU_COLS ") "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0)";
static const char au_sql_list[] =
    "SELECT id, name, role, spaces, created_at, expires_at, revoked_at, "
    "last_used_at FROM aster_api_keys ORDER BY created_at, id";
static const char au_sql_revoke[] =
    "UPDATE aster_api_keys SET revoked_at = $2 "
    "WHERE id = $1 AND revoked_at = 0";
static const char au_sql_touch[] =
    "UPDATE aster_api_keys SET last_used_at = $2 "
    "WHERE id = $1 AND last_used_at < $2";

/* A verify waiting for a lookup. */
struct au_waiter {
	struct au_waiter *next;
	aster_auth_verify_cb cb;
	void *arg;
	unsigned char hash[32];
};

/* An id the store did not hold, until until_ms (monotonic). */
struct au_miss {
	struct au_centry ce;
	uint64_t until_ms;
};

/* One store query for an id, shared by the verifies that wait on it. */
struct au_lookup {
	struct au_centry ce;
	struct au_waiter *head, **tail;
	int dirty;                  /* notified while the query ran */
	int tries;
	struct au_op *op;
};

static int
au_id_ok(const char *s, size_t len)
{
	size_t i;

	if (len != AU_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int64_t
au_now(void)
{
	return (int64_t)time(NULL);
}

static uint64_t
au_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- unknown ids --- */

static void
au_miss_destroy(struct au_centry *e)
{
	free(e);
}

/* Remembers that the store does not hold id (best effort). */
static void
au_miss_put(struct au_auth *a, const char *id)
{
	struct au_miss *m;

	if (a->misses.max == 0 || (m = calloc(1, sizeof(*m))) == NULL)
		return;
	m->ce.destroy = au_miss_destroy;
	m->ce.refs = 1;
	memcpy(m->ce.key, id, AU_ID_LEN);
	m->ce.klen = AU_ID_LEN;
	m->until_ms = au_mono_ms() + AU_MISS_TTL_MS;
	(void)au_cache_put(&a->misses, &m->ce);
	au_centry_unref(&m->ce);        /* the cache holds it, or nobody */
}

/* 1 when id is remembered as unknown; an expired memory is dropped. */
static int
au_miss_known(struct au_auth *a, const char *id)
{
	struct au_miss *m;

	m = (struct au_miss *)au_cache_get(&a->misses, id, AU_ID_LEN);
	if (m == NULL)
		return 0;
	if (au_mono_ms() < m->until_ms)
		return 1;
	au_cache_del(&a->misses, id, AU_ID_LEN);
	return 0;
}

/* --- rows --- */

static void
au_key_destroy(struct au_centry *e)
{
	struct au_key *k = (struct au_key *)e;

	free(k->name);
	au_strv_free(k->spaces, k->nspaces);
	OPENSSL_cleanse(k->hash, sizeof(k->hash));
	free(k);
}

static const char *
au_role(const char *s)
{
	if (s != NULL && strcmp(s, "admin") == 0)
		return "admin";
	if (s != NULL && strcmp(s, "user") == 0)
		return "user";
	return NULL;
}

/* Parses the JSON array text of a row's spaces; 0 or -1. */
static int
au_spaces_parse(const char *text, char ***out, size_t *n)
{
	json_object *arr = text != NULL ? json_tokener_parse(text) : NULL;
	size_t i, len;
	char **v = NULL;

	*out = NULL;
	*n = 0;
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		goto fail;
	len = json_object_array_length(arr);
	if (len > 0 && (v = calloc(len, sizeof(*v))) == NULL)
		goto fail;
	for (i = 0; i < len; i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(s, json_type_string) ||
		    (v[i] = strdup(json_object_get_string(s))) == NULL) {
			au_strv_free(v, i);
			goto fail;
		}
	}
	json_object_put(arr);
	*out = v;
	*n = len;
	return 0;
fail:
	json_object_put(arr);
	return -1;
}

static int64_t
au_int(const char *s)
{
	return s != NULL ? (int64_t)strtoll(s, NULL, 10) : 0;
}

/* A key from a row of AU_COLS (referenced once), or NULL. */
static struct au_key *
au_key_from_row(const char *const *v)
{
	struct au_key *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->ce.destroy = au_key_destroy;
	k->ce.refs = 1;
	if (v[0] == NULL || !au_id_ok(v[0], strlen(v[0])) || v[1] == NULL ||
	    (k->role = au_role(v[2])) == NULL || v[4] == NULL ||
	    strlen(v[4]) != 64 || au_unhex(v[4], 32, k->hash) < 0 ||
	    (k->name = strdup(v[1])) == NULL ||
	    au_spaces_parse(v[3], &k->spaces, &k->nspaces) < 0) {
		au_key_destroy(&k->ce);
		return NULL;
	}
	memcpy(k->id, v[0], AU_ID_LEN + 1);
	memcpy(k->ce.key, k->id, AU_ID_LEN);
	k->ce.klen = AU_ID_LEN;
	k->created_at = au_int(v[5]);
	k->expires_at = au_int(v[6]);
	k->revoked_at = au_int(v[7]);
	k->last_used_at = au_int(v[8]);
	return k;
}

static void
au_key_public(const struct au_key *k, struct aster_api_key *out)
{
	memset(out, 0, sizeof(*out));
	out->id = k->id;
	out->name = k->name;
	out->role = k->role;
	out->spaces = (const char *const *)k->spaces;
	out->nspaces = k->nspaces;
	out->created_at = k->created_at;
	out->expires_at = k->expires_at;
	out->revoked_at = k->revoked_at;
	out->last_used_at = k->last_used_at;
}

/* --- answers --- */

void
au_key_op_answer(struct au_op *op, enum aster_auth_status st,
                 const struct aster_api_key *key, const char *detail)
{
	if (op->answered)
		return;
	switch (op->kind) {
	case AU_OP_CREATE:
	case AU_OP_REVOKE:
		op->answered = 1;
		op->cb.key(op->arg, st, st == ASTER_AUTH_OK ? key : NULL,
		           detail);
		break;
	case AU_OP_LIST:
		op->answered = 1;
		op->cb.keys(op->arg, st, NULL, 0, detail);
		break;
	default:
		break;
	}
}

/* The one-line detail of a store failure. */
static void
au_store_detail(char *out, size_t outlen, const char *what,
                const char *error)
{
	snprintf(out, outlen, "%s: %s", what,
	         error != NULL ? error : "the store is unavailable");
}

/* --- last use --- */

static void
au_touch_done(void *arg, enum aster_store_status st,
              const struct aster_store_rows *rows, const char *error)
{
	(void)st;
	(void)rows;
	(void)error;
	au_op_free(arg);
}

/* Records a use of k now, at most once a minute; nobody waits for it. */
static void
au_key_touch(struct au_auth *a, struct au_key *k, int64_t now)
{
	char when[24];
	const char *params[2];
	struct au_op *op;

	if (a->stopped || now - k->last_used_at < AU_TOUCH_EVERY_S)
		return;
	k->last_used_at = now;
	snprintf(when, sizeof(when), "%lld", (long long)now);
	params[0] = k->id;
	params[1] = when;
	if ((op = au_op_new(a, AU_OP_TOUCH)) == NULL)
		return;
	if (a->store.ops->query(a->store.self, NULL, au_sql_touch, 2, params,
	                        au_touch_done, op) < 0)
		au_op_free(op);
}

/* --- verify --- */

/* Answers a verify of k with a secret hashing to h; 1 when it passed. */
static int
au_key_answer(struct au_key *k, const unsigned char h[32], int64_t now,
              aster_auth_verify_cb cb, void *arg)
{
	struct aster_credential c;

	/* The secret first: revoked and expired tell that the id
	 * exists, which only its holder may learn. */
	if (CRYPTO_memcmp(k->hash, h, 32) != 0) {
		cb(arg, ASTER_AUTH_INVALID, NULL, AU_KEY_REFUSED);
		return 0;
	}
	if (k->revoked_at != 0) {
		cb(arg, ASTER_AUTH_INVALID, NULL, "the API key was revoked");
		return 0;
	}
	if (k->expires_at != 0 && now >= k->expires_at) {
		cb(arg, ASTER_AUTH_INVALID, NULL, "the API key has expired");
		return 0;
	}
	c.kind = "api-key";
	c.id = k->id;
	c.name = k->name;
	c.role = k->role;
	c.spaces = (const char *const *)k->spaces;
	c.nspaces = k->nspaces;
	c.expires_at = k->expires_at;
	cb(arg, ASTER_AUTH_OK, &c, NULL);
	return 1;
}

static void
au_lookup_destroy(struct au_centry *e)
{
	struct au_lookup *l = (struct au_lookup *)e;
	struct au_waiter *w;

	while ((w = l->head) != NULL) {
		l->head = w->next;
		free(w);
	}
	free(l);
}

static void au_lookup_done(void *arg, enum aster_store_status st,
                           const struct aster_store_rows *rows,
                           const char *error);

static int
au_lookup_query(struct au_auth *a, struct au_op *op)
{
	const char *params[1];

	params[0] = op->id;
	return a->store.ops->query(a->store.self, NULL, au_sql_lookup, 1,
	                           params, au_lookup_done, op);
}

/*
 * The lookup's query answered: caches the row unless the id was notified
 * meanwhile (then it reads again, a few times), and answers every verify
 * waiting for it.
 */
static void
au_lookup_done(void *arg, enum aster_store_status st,
               const struct aster_store_rows *rows, const char *error)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;
	struct au_lookup *l = op->lookup;
	struct au_waiter *w, *waiters;
	struct au_key *k = NULL;
	int malformed = 0, used = 0;
	int64_t now;
	char detail[256];

	if (a == NULL || l == NULL) {   /* stop answered the waiters */
		au_op_free(op);
		return;
	}
	if (st == ASTER_STORE_OK && l->dirty &&
	    l->tries < AU_LOOKUP_RETRIES) {
		l->dirty = 0;
		l->tries++;
		if (au_lookup_query(a, op) == 0)
			return;
		st = ASTER_STORE_UNAVAILABLE;
		error = "out of memory";
	}
	if (st == ASTER_STORE_OK && rows->nrows > 0 && rows->ncols == 9) {
		if ((k = au_key_from_row(rows->values)) == NULL)
			malformed = 1;
		else if (!l->dirty)
			(void)au_cache_put(&a->keys, &k->ce);
	} else if (st == ASTER_STORE_OK && rows->nrows == 0 && !l->dirty) {
		au_miss_put(a, op->id);
	}
	if (malformed)
		au_log("the stored record of API key %s is malformed", op->id);
	waiters = l->head;
	l->head = NULL;
	l->tail = &l->head;
	l->op = NULL;
	op->lookup = NULL;
	au_cache_del(&a->lookups, op->id, AU_ID_LEN);
	au_centry_unref(&l->ce);        /* the op's reference */
	au_op_free(op);
	au_store_detail(detail, sizeof(detail), "cannot read the API key",
	                error);
	now = au_now();
	au_enter(a);
	while ((w = waiters) != NULL) {
		waiters = w->next;
		if (a->stopped)
			w->cb(w->arg, ASTER_AUTH_UNAVAILABLE, NULL,
			      "the auth service is stopping");
		else if (st != ASTER_STORE_OK)
			w->cb(w->arg, ASTER_AUTH_UNAVAILABLE, NULL, detail);
		else if (k == NULL)     /* unknown, or malformed (logged) */
			w->cb(w->arg, ASTER_AUTH_INVALID, NULL,
			      AU_KEY_REFUSED);
		else
			used |= au_key_answer(k, w->hash, now, w->cb, w->arg);
		free(w);
	}
	if (k != NULL) {
		if (used)
			au_key_touch(a, k, now);
		au_centry_unref(&k->ce);
	}
	au_leave(a);
}

/* Waits for the store's row of id (one query per id at a time). */
static int
au_lookup(struct au_auth *a, const char *id, const unsigned char h[32],
          aster_auth_verify_cb cb, void *arg)
{
	struct au_lookup *l;
	struct au_waiter *w;
	struct au_op *op;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->cb = cb;
	w->arg = arg;
	memcpy(w->hash, h, 32);
	l = (struct au_lookup *)au_cache_get(&a->lookups, id, AU_ID_LEN);
	if (l != NULL) {
		*l->tail = w;
		l->tail = &w->next;
		return 0;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (op = au_op_new(a, AU_OP_LOOKUP)) == NULL) {
		free(l);
		free(w);
		return -1;
	}
	l->ce.destroy = au_lookup_destroy;
	l->ce.refs = 1;                 /* the op's */
	memcpy(l->ce.key, id, AU_ID_LEN);
	l->ce.klen = AU_ID_LEN;
	l->head = w;
	l->tail = &w->next;
	l->op = op;
	op->lookup = l;
	memcpy(op->id, id, AU_ID_LEN);
	op->id[AU_ID_LEN] = '\0';
	if (au_cache_put(&a->lookups, &l->ce) < 0 ||
	    au_lookup_query(a, op) < 0) {
		au_cache_del(&a->lookups, id, AU_ID_LEN);
		l->head = NULL;         /* w is the caller's to answer */
		au_centry_unref(&l->ce);
		op->lookup = NULL;
		au_op_free(op);
		free(w);
		return -1;
	}
	return 0;
}

int
au_key_verify(struct au_auth *a, const char *token, size_t len,
              aster_auth_verify_cb cb, void *arg)
{
	const char *id = token + 6, *secret = token + 7 + AU_ID_LEN;
	unsigned char raw[33], h[32];
	struct au_key *k;
	int64_t now;
	int used;

	if (len != AU_KEY_TOKEN_LEN || token[6 + AU_ID_LEN] != '_' ||
	    !au_id_ok(id, AU_ID_LEN) ||
	    au_b64url_decode(secret, AU_SECRET_LEN, raw) != 32) {
		cb(arg, ASTER_AUTH_INVALID, NULL, "malformed API key");
		return 0;
	}
	au_sha256(a, raw, 32, h);
	OPENSSL_cleanse(raw, sizeof(raw));
	k = (struct au_key *)au_cache_get(&a->keys, id, AU_ID_LEN);
	if (k == NULL) {
		if (au_miss_known(a, id)) {
			cb(arg, ASTER_AUTH_INVALID, NULL, AU_KEY_REFUSED);
			return 0;
		}
		if (au_lookup(a, id, h, cb, arg) < 0)
			cb(arg, ASTER_AUTH_UNAVAILABLE, NULL, "cannot look the "
			   "API key up: out of memory");
		return 0;
	}
	now = au_now();
	au_centry_ref(&k->ce);
	au_enter(a);
	used = au_key_answer(k, h, now, cb, arg);
	if (used)
		au_key_touch(a, k, now);
	au_centry_unref(&k->ce);
	au_leave(a);
	return 0;
}

static void
au_lookup_mark(struct au_centry *e, void *arg)
{
	(void)arg;
	((struct au_lookup *)e)->dirty = 1;
}

/* Forgets what this node keeps about id: the next verify reads the
 * store, and a read of it in flight reads again. */
static void
au_key_forget(struct au_auth *a, const char *id)
{
	struct au_lookup *l;

	au_cache_del(&a->keys, id, AU_ID_LEN);
	au_cache_del(&a->misses, id, AU_ID_LEN);
	l = (struct au_lookup *)au_cache_get(&a->lookups, id, AU_ID_LEN);
	if (l != NULL)
		l->dirty = 1;
}

/* ID was created: forgets that it was unknown, and that only (the key
 * just cached by its creator stays). */
static void
au_key_created(struct au_auth *a, const char *id)
{
	struct au_lookup *l;

	au_cache_del(&a->misses, id, AU_ID_LEN);
	l = (struct au_lookup *)au_cache_get(&a->lookups, id, AU_ID_LEN);
	if (l != NULL)
		l->dirty = 1;
}

void
au_key_notify(void *arg, const char *payload)
{
	struct au_auth *a = arg;

	if (a == NULL || a->stopped)
		return;
	if (payload != NULL && payload[0] == '+' &&
	    au_id_ok(payload + 1, strlen(payload + 1))) {
		au_key_created(a, payload + 1);
		return;
	}
	/* Anything but an id: drop it all, to be safe. */
	if (payload == NULL || !au_id_ok(payload, strlen(payload))) {
		au_cache_clear(&a->keys);
		au_cache_clear(&a->misses);
		au_cache_each(&a->lookups, au_lookup_mark, NULL);
		return;
	}
	au_key_forget(a, payload);
}

void
au_lookups_fail_all(struct au_auth *a)
{
	struct au_centry *e;
	struct au_lookup *l;
	struct au_waiter *all = NULL, **tail = &all, *w;

	/* Collect first: the callbacks may call us back. */
	while ((e = a->lookups.lru.lnext) != &a->lookups.lru) {
		l = (struct au_lookup *)e;
		*tail = l->head;
		if (l->head != NULL)
			tail = l->tail;
		l->head = NULL;
		l->tail = &l->head;
		if (l->op != NULL) {
			l->op->lookup = NULL;
			l->op = NULL;
			au_centry_unref(&l->ce);        /* the op's */
		}
		au_cache_del(&a->lookups, l->ce.key, l->ce.klen);
	}
	while ((w = all) != NULL) {
		all = w->next;
		w->cb(w->arg, ASTER_AUTH_UNAVAILABLE, NULL,
		      "the auth service is stopping");
		free(w);
	}
}

/* --- create --- */

/* Checks spec; NULL, or what is wrong with it. */
static const char *
au_spec_check(const struct aster_api_key_spec *spec, int64_t now, char *buf,
              size_t buflen)
{
	size_t i, j, n;

	if (spec->name == NULL || (n = strlen(spec->name)) == 0)
		return "the key needs a name";
	if (n > AU_NAME_MAX)
		return "the key's name is longer than 128 bytes";
	for (i = 0; i < n; i++)
		if ((unsigned char)spec->name[i] < 0x20 ||
		    spec->name[i] == 0x7f)
			return "the key's name contains a control character";
	if (au_role(spec->role) == NULL)
		return "the key's role must be admin or user";
	if (spec->nspaces > 0 && spec->spaces == NULL)
		return "the key's spaces are missing";
	if (spec->nspaces > 1000)
		return "a key may name at most 1000 spaces";
	for (i = 0; i < spec->nspaces; i++) {
		const char *s = spec->spaces[i];

		if (s == NULL || !au_space_ok(s, strlen(s))) {
			snprintf(buf, buflen, "space %zu is not a space id "
			         "(1 to 64 letters, digits, '.', '_' or '-', "
			         "starting with a letter or digit)", i + 1);
			return buf;
		}
		for (j = 0; j < i; j++)
			if (strcmp(spec->spaces[j], s) == 0) {
				snprintf(buf, buflen, "space '%s' is listed "
				         "twice", s);
				return buf;
			}
	}
	if (spec->expires_at < 0 ||
	    (spec->expires_at != 0 && spec->expires_at <= now))
		return "the key's expires_at must be in the future (or 0: "
		       "never)";
	return NULL;
}

/* Answers op's caller that the store failed while doing what. */
static void
au_key_op_unavailable(struct au_op *op, const char *what, const char *error)
{
	char detail[256];

	au_store_detail(detail, sizeof(detail), what, error);
	au_key_op_answer(op, ASTER_AUTH_UNAVAILABLE, NULL, detail);
}

static void
au_announce_done(void *arg, enum aster_store_status st, const char *error)
{
	(void)arg;
	if (st != ASTER_STORE_OK)
		au_log("cannot notify the other nodes of a new key: %s",
		       error != NULL ? error : "the store is unavailable");
}

/* Tells every node sharing the store that id now exists. */
static void
au_key_announce(struct au_auth *a, const char *id)
{
	char payload[AU_ID_LEN + 2];

	if (a->store.ops->publish == NULL)
		return;
	snprintf(payload, sizeof(payload), "+%s", id);
	if (a->store.ops->publish(a->store.self, NULL, AU_CHANNEL, payload,
	                          au_announce_done, NULL) < 0)
		au_log("cannot notify the other nodes of a new key");
}

static void
au_create_done(void *arg, enum aster_store_status st,
               const struct aster_store_rows *rows, const char *error)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;
	struct aster_api_key key;

	(void)rows;
	if (a == NULL) {
		au_op_free(op);
		return;
	}
	au_enter(a);
	if (st != ASTER_STORE_OK) {
		au_key_op_unavailable(op, "cannot store the key", error);
	} else {
		au_key_created(a, op->made->id);
		au_key_announce(a, op->made->id);
		(void)au_cache_put(&a->keys, &op->made->ce);
		au_key_public(op->made, &key);
		key.key = op->token;
		au_key_op_answer(op, ASTER_AUTH_OK, &key, NULL);
	}
	au_op_free(op);
	au_leave(a);
}

static char *
au_spaces_json(const char *const *spaces, size_t n)
{
	json_object *arr = json_object_new_array();
	char *out = NULL;
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_object_array_add(arr,
		                          json_object_new_string(spaces[i])) < 0)
			goto done;
	out = strdup(json_object_to_json_string_ext(arr,
	             JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
done:
	json_object_put(arr);
	return out;
}

/*
 * A new key id: 11 hex digits of Unix milliseconds (strictly increasing
 * on this node), then 5 random ones. The table keeps created_at in
 * seconds, so the list's order (created_at, id) is the order of creation
 * only because ids sort by time: keys made in the same second by one
 * node come out in the order they were made. Ids are not secrets.
 */
static int
au_key_new_id(struct au_auth *a, char out[AU_ID_LEN + 1])
{
	struct timespec ts;
	unsigned char r[3];
	uint64_t ms;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (ms <= a->last_id_ms)
		ms = a->last_id_ms + 1;
	a->last_id_ms = ms;
	snprintf(out, AU_ID_LEN + 1, "%011llx%05x",
	         (unsigned long long)(ms & 0xfffffffffffULL),
	         (unsigned)(r[0] << 16 | r[1] << 8 | r[2]) & 0xfffffu);
	return 0;
}

int
au_key_create(void *self, const struct aster_api_key_spec *spec,
              aster_auth_key_cb cb, void *arg)
{
	struct au_auth *a = self;
	struct au_op *op;
	struct au_key *k;
	unsigned char secret[32];
	char sec64[AU_SECRET_LEN + 1], hashhex[65], created[24], expires[24];
	char buf[200], *spaces = NULL;
	const char *bad, *params[7];
	int64_t now = au_now();
	size_t i;

	if (a == NULL || a->stopped || spec == NULL || cb == NULL)
		return -1;
	if ((op = au_op_new(a, AU_OP_CREATE)) == NULL)
		return -1;
	op->cb.key = cb;
	op->arg = arg;
	if ((bad = au_spec_check(spec, now, buf, sizeof(buf))) != NULL) {
		if (au_op_defer(op, ASTER_AUTH_INVALID, bad) < 0)
			goto fail;
		return 0;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto fail;
	k->ce.destroy = au_key_destroy;
	k->ce.refs = 1;
	op->made = k;
	if (au_key_new_id(a, k->id) < 0 ||
	    RAND_bytes(secret, sizeof(secret)) != 1)
		goto fail;
	memcpy(k->ce.key, k->id, AU_ID_LEN);
	k->ce.klen = AU_ID_LEN;
	au_b64url_encode(secret, sizeof(secret), sec64);
	au_sha256(a, secret, sizeof(secret), k->hash);
	OPENSSL_cleanse(secret, sizeof(secret));
	au_hex(k->hash, 32, hashhex);
	k->role = au_role(spec->role);
	k->created_at = now;
	k->expires_at = spec->expires_at;
	if ((k->name = strdup(spec->name)) == NULL)
		goto fail;
	if (spec->nspaces > 0) {
		if ((k->spaces = calloc(spec->nspaces, sizeof(char *))) == NULL)
			goto fail;
		for (i = 0; i < spec->nspaces; i++) {
			if ((k->spaces[i] = strdup(spec->spaces[i])) == NULL)
				goto fail;
			k->nspaces = i + 1;
		}
	}
	if ((spaces = au_spaces_json(spec->spaces, spec->nspaces)) == NULL ||
	    (op->token = malloc(AU_KEY_TOKEN_LEN + 1)) == NULL)
		goto fail;
	snprintf(op->token, AU_KEY_TOKEN_LEN + 1, "aster_%s_%s", k->id, sec64);
	OPENSSL_cleanse(sec64, sizeof(sec64));
	snprintf(created, sizeof(created), "%lld", (long long)now);
	snprintf(expires, sizeof(expires), "%lld", (long long)k->expires_at);
	params[0] = k->id;
	params[1] = k->name;
	params[2] = k->role;
	params[3] = spaces;
	params[4] = hashhex;
	params[5] = created;
	params[6] = expires;
	if (a->store.ops->query(a->store.self, NULL, au_sql_insert, 7, params,
	                        au_create_done, op) < 0) {
		if (au_op_defer(op, ASTER_AUTH_UNAVAILABLE, "cannot store the "
		                "key: the store refused the request") < 0)
			goto fail;
	}
	free(spaces);
	return 0;
fail:
	OPENSSL_cleanse(sec64, sizeof(sec64));
	OPENSSL_cleanse(secret, sizeof(secret));
	free(spaces);
	au_op_free(op);
	return -1;
}

/* --- list --- */

static void
au_list_done(void *arg, enum aster_store_status st,
             const struct aster_store_rows *rows, const char *error)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;
	struct aster_api_key *keys = NULL;
	char ***spaces = NULL;
	size_t *nspaces = NULL, i, n = 0;
	const char *const *v;
	int bad = 0;

	if (a == NULL) {
		au_op_free(op);
		return;
	}
	au_enter(a);
	if (st != ASTER_STORE_OK) {
		au_key_op_unavailable(op, "cannot list the keys", error);
		goto done;
	}
	n = rows->ncols == 8 ? rows->nrows : 0;
	if (n > 0 && ((keys = calloc(n, sizeof(*keys))) == NULL ||
	              (spaces = calloc(n, sizeof(*spaces))) == NULL ||
	              (nspaces = calloc(n, sizeof(*nspaces))) == NULL)) {
		au_key_op_answer(op, ASTER_AUTH_UNAVAILABLE, NULL,
		                 "cannot list the keys: out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		v = rows->values + i * 8;
		if (au_spaces_parse(v[3], &spaces[i], &nspaces[i]) < 0)
			bad = 1;
		keys[i].id = v[0] != NULL ? v[0] : "";
		keys[i].name = v[1] != NULL ? v[1] : "";
		keys[i].role = au_role(v[2]) != NULL ? au_role(v[2]) : "user";
		keys[i].spaces = (const char *const *)spaces[i];
		keys[i].nspaces = nspaces[i];
		keys[i].created_at = au_int(v[4]);
		keys[i].expires_at = au_int(v[5]);
		keys[i].revoked_at = au_int(v[6]);
		keys[i].last_used_at = au_int(v[7]);
	}
	if (bad)
		au_log("key_list: a stored key has malformed spaces; listed "
		       "without them");
	op->answered = 1;
	op->cb.keys(op->arg, ASTER_AUTH_OK, keys, n, NULL);
done:
	for (i = 0; spaces != NULL && i < n; i++)
		au_strv_free(spaces[i], nspaces[i]);
	free(spaces);
	free(nspaces);
	free(keys);
	au_op_free(op);
	au_leave(a);
}

int
au_key_list(void *self, aster_auth_keys_cb cb, void *arg)
{
	struct au_auth *a = self;
	struct au_op *op;

	if (a == NULL || a->stopped || cb == NULL ||
	    (op = au_op_new(a, AU_OP_LIST)) == NULL)
		return -1;
	op->cb.keys = cb;
	op->arg = arg;
	if (a->store.ops->query(a->store.self, NULL, au_sql_list, 0, NULL,
	                        au_list_done, op) < 0 &&
	    au_op_defer(op, ASTER_AUTH_UNAVAILABLE, "cannot list the keys: "
	                "the store refused the request") < 0)
		goto fail;
	return 0;
fail:
	au_op_free(op);
	return -1;
}

/* --- revoke --- */

/*
 * The steps of a revocation, each the callback of the one before:
 * begin, UPDATE (only if not revoked yet: the first time stays), SELECT
 * the row, publish its id and commit; then forget the id here and
 * answer.
 */
static void au_revoke_row(void *arg, enum aster_store_status st,
                          const struct aster_store_rows *rows,
                          const char *error);

static void
au_revoke_fail(struct au_op *op, enum aster_auth_status st,
               const char *detail)
{
	struct au_auth *a = op->a;

	au_enter(a);
	au_key_op_answer(op, st, NULL, detail);
	au_op_abandon(op);      /* rolls back the transaction, if open */
	au_leave(a);
}

static void
au_revoke_store_fail(struct au_op *op, const char *error)
{
	char detail[256];

	au_store_detail(detail, sizeof(detail), "cannot revoke the key",
	                error);
	au_revoke_fail(op, ASTER_AUTH_UNAVAILABLE, detail);
}

static void
au_revoke_committed(void *arg, enum aster_store_status st, const char *error)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;
	struct aster_api_key key;

	op->txn = NULL;
	if (a == NULL) {
		au_op_free(op);
		return;
	}
	if (st != ASTER_STORE_OK) {
		au_revoke_store_fail(op, error);
		return;
	}
	au_key_forget(a, op->id);       /* before the answer */
	au_enter(a);
	au_key_public(op->made, &key);
	au_key_op_answer(op, ASTER_AUTH_OK, &key, NULL);
	au_op_free(op);
	au_leave(a);
}

static void
au_publish_done(void *arg, enum aster_store_status st, const char *error)
{
	(void)arg;
	if (st != ASTER_STORE_OK)
		au_log("cannot notify the other nodes of a revoked key: %s",
		       error != NULL ? error : "the store is unavailable");
}

static void
au_revoke_row(void *arg, enum aster_store_status st,
              const struct aster_store_rows *rows, const char *error)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;
	const struct aster_store_ops *so = op->store.ops;
	const char *params[1];

	if (a == NULL) {
		au_op_abandon(op);
		return;
	}
	if (st != ASTER_STORE_OK) {
		au_revoke_store_fail(op, error);
		return;
	}
	if (op->step == 0) {            /* the UPDATE ran: read the row */
		op->step = 1;
		params[0] = op->id;
		if (so->query(op->store.self, op->txn, au_sql_lookup, 1,
		              params, au_revoke_row, op) < 0)
			au_revoke_store_fail(op, "out of memory");
		return;
	}
	if (rows->nrows == 0 || rows->ncols != 9) {
		au_revoke_fail(op, ASTER_AUTH_NOT_FOUND, "no such API key");
		return;
	}
	if ((op->made = au_key_from_row(rows->values)) == NULL) {
		au_revoke_fail(op, ASTER_AUTH_UNAVAILABLE, "cannot revoke the "
		               "key: its stored record is malformed");
		return;
	}
	if (so->publish != NULL &&
	    so->publish(op->store.self, op->txn, AU_CHANNEL, op->id,
	                au_publish_done, NULL) < 0) {
		au_revoke_store_fail(op, "cannot publish the revocation");
		return;
	}
	{
		struct aster_txn *txn = op->txn;

		op->txn = NULL;
		if (so->commit(op->store.self, txn, au_revoke_committed,
		               op) < 0) {
			op->txn = txn;
			au_revoke_store_fail(op, "cannot commit");
		}
	}
}

static void
au_revoke_begun(void *arg, enum aster_store_status st, struct aster_txn *txn,
                const char *error)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;
	const char *params[2];
	char when[24];

	op->txn = txn;
	if (a == NULL) {
		au_op_abandon(op);
		return;
	}
	if (st != ASTER_STORE_OK) {
		au_revoke_store_fail(op, error);
		return;
	}
	snprintf(when, sizeof(when), "%lld", (long long)au_now());
	params[0] = op->id;
	params[1] = when;
	if (op->store.ops->query(op->store.self, txn, au_sql_revoke, 2,
	                         params, au_revoke_row, op) < 0)
		au_revoke_store_fail(op, "out of memory");
}

int
au_key_revoke(void *self, const char *id, aster_auth_key_cb cb, void *arg)
{
	struct au_auth *a = self;
	struct au_op *op;

	if (a == NULL || a->stopped || id == NULL || cb == NULL ||
	    (op = au_op_new(a, AU_OP_REVOKE)) == NULL)
		return -1;
	op->cb.key = cb;
	op->arg = arg;
	if (!au_id_ok(id, strlen(id))) {
		if (au_op_defer(op, ASTER_AUTH_NOT_FOUND, "no such API key") < 0)
			goto fail;
		return 0;
	}
	memcpy(op->id, id, AU_ID_LEN + 1);
	if (a->store.ops->begin(a->store.self, NULL, au_revoke_begun,
	                        op) < 0 &&
	    au_op_defer(op, ASTER_AUTH_UNAVAILABLE, "cannot revoke the key: "
	                "the store refused the request") < 0)
		goto fail;
	return 0;
fail:
	au_op_free(op);
	return -1;
}
