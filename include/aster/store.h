/*
 * aster/store.h - the state store: what a store provider implements and
 * what every other provider (and the core) uses.
 *
 * A store is a service whose provider sets `store` in its descriptor
 * (aster/provider.h). The module that runs it `provides: [state-store]`;
 * a module that wants state `needs: [state-store]` and reaches the store
 * through host->store(svc) - never through a global - so switching SQLite
 * for PostgreSQL is an edit of the database module alone.
 *
 * Everything is asynchronous. A call either returns -1 (bad arguments or
 * out of memory: the callback will never run) or 0, and then its callback
 * runs exactly once, later, on the event loop's thread - never from
 * inside the call itself. Strings passed in are copied before the call
 * returns; what a callback receives is valid only during the callback.
 *
 * SQL is written with $1..$n placeholders and text parameters (NULL for
 * SQL NULL); results arrive as text. Migrations and queries written for
 * one database run only on another if their SQL is portable.
 *
 * Callbacks are never NULL. A transaction holds a connection of the
 * store until it ends; SQLite has only one, so code must not wait for
 * work outside its transaction before ending it. When a provider commits
 * several callers' work together (SQLite's group commit) and the commit
 * fails, each of them is answered ASTER_STORE_UNAVAILABLE.
 *
 * A provider's stop() completes every pending callback (with
 * ASTER_STORE_UNAVAILABLE) before it returns, and rolls back open
 * transactions, so a caller's in-flight work always gets an answer.
 */
#ifndef ASTER_STORE_H
#define ASTER_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The capability a store's module provides and its users need. */
#define ASTER_STORE_CAPABILITY "state-store"

enum aster_store_status {
	ASTER_STORE_OK = 0,
	ASTER_STORE_NOT_FOUND,   /* documents: no such key */
	ASTER_STORE_CONFLICT,    /* documents: the version condition failed */
	ASTER_STORE_UNAVAILABLE, /* not done, or not known to be committed:
	                            the database is unreachable or the
	                            store is stopping. Try again later. */
	ASTER_STORE_ERROR,       /* the database refused it (SQL error,
	                            constraint): trying again will not help */
};

/* An open transaction (opaque; owned by the store). */
struct aster_txn;

/* The rows of one statement, valid during the callback. */
struct aster_store_rows {
	size_t nrows, ncols;
	const char *const *values;  /* nrows * ncols, row-major; NULL: SQL
	                               NULL; text, NUL-terminated */
	const size_t *lengths;      /* the same layout, in bytes */
	uint64_t changes;           /* rows inserted, updated or deleted */
};

/*
 * A document: a JSON value under (namespace, key), with a version. Every
 * write gives the written document a version greater than any the store
 * ever handed out, so a version (the HTTP ETag) never names two
 * contents, not even across a delete and re-create.
 */
struct aster_doc {
	const char *key;
	const char *value;          /* JSON text, as it was put */
	size_t len;
	uint64_t version;           /* > 0 */
	int created;                /* doc_put: 1 if the key did not exist */
};

/* What a document write requires of the current version. */
enum aster_doc_cond {
	ASTER_DOC_ANY = 0,          /* no condition */
	ASTER_DOC_ABSENT,           /* the key must not exist
	                               (HTTP If-None-Match: *) */
	ASTER_DOC_VERSION,          /* the key must exist at exactly this
	                               version (HTTP If-Match) */
};

/* error, when not NULL, is a one-line message for logs and problems. */
typedef void (*aster_store_done_cb)(void *arg, enum aster_store_status st,
                                    const char *error);
/* rows is NULL unless st is ASTER_STORE_OK. */
typedef void (*aster_store_rows_cb)(void *arg, enum aster_store_status st,
                                    const struct aster_store_rows *rows,
                                    const char *error);
/* txn is NULL unless st is ASTER_STORE_OK. */
typedef void (*aster_store_txn_cb)(void *arg, enum aster_store_status st,
                                   struct aster_txn *txn, const char *error);
/* doc is NULL unless st is ASTER_STORE_OK. */
typedef void (*aster_store_doc_cb)(void *arg, enum aster_store_status st,
                                   const struct aster_doc *doc,
                                   const char *error);
/* more is 1 when keys after the last one listed also match. */
typedef void (*aster_store_list_cb)(void *arg, enum aster_store_status st,
                                    const struct aster_doc *docs, size_t n,
                                    int more, const char *error);

/*
 * The operations of a store. `self` is the provider's per-instance
 * state (what its start hook stored in *state).
 */
struct aster_store_ops {
	/* One statement with nparams text parameters, in txn or, when txn
	 * is NULL, in a transaction of its own. Transaction control (BEGIN,
	 * COMMIT, ...) belongs to begin/commit/rollback, not to statements:
	 * a statement that leaves a transaction open is rolled back and
	 * answers ASTER_STORE_ERROR. */
	int (*query)(void *self, struct aster_txn *txn, const char *sql,
	             size_t nparams, const char *const *params,
	             aster_store_rows_cb cb, void *arg);

	/* A script of statements separated by ';', no parameters, no rows
	 * (a migration), in txn or in a transaction of its own. */
	int (*exec)(void *self, struct aster_txn *txn, const char *script,
	            aster_store_done_cb cb, void *arg);

	/*
	 * Opens a transaction. With lock non-NULL the transaction also holds
	 * an exclusive lock of that name until it ends, shared by every
	 * process using the same database (PostgreSQL: an advisory lock), so
	 * concurrent asterd nodes serialise on it. A statement that fails
	 * inside a transaction leaves it usable only for rollback. A
	 * transaction must end with commit or rollback; it holds one
	 * connection until then.
	 */
	int (*begin)(void *self, const char *lock, aster_store_txn_cb cb,
	             void *arg);

	/* Ends txn; txn is invalid as soon as the call returns. commit
	 * answers OK only when the transaction is known to be committed;
	 * after a failed statement it rolls back and answers that
	 * statement's status (UNAVAILABLE for a serialisation failure or a
	 * deadlock, where running the whole transaction again may work). A
	 * rollback of a transaction whose connection died answers OK. */
	int (*commit)(void *self, struct aster_txn *txn, aster_store_done_cb cb,
	              void *arg);
	int (*rollback)(void *self, struct aster_txn *txn,
	                aster_store_done_cb cb, void *arg);

	/* Documents. Namespaces and keys are non-empty UTF-8 text without
	 * NUL bytes; values are JSON text (the store does not parse them). */
	int (*doc_get)(void *self, const char *ns, const char *key,
	               aster_store_doc_cb cb, void *arg);

	/* Writes value; NOT_FOUND when cond is VERSION and the key is
	 * missing is reported as CONFLICT, as HTTP's If-Match wants. */
	int (*doc_put)(void *self, const char *ns, const char *key,
	               const char *value, size_t len, enum aster_doc_cond cond,
	               uint64_t version, aster_store_doc_cb cb, void *arg);

	/* NOT_FOUND when there is no such key and cond is ANY; CONFLICT
	 * when cond is VERSION and the version differs or the key is gone.
	 * ABSENT is not a valid condition here. */
	int (*doc_delete)(void *self, const char *ns, const char *key,
	                  enum aster_doc_cond cond, uint64_t version,
	                  aster_store_done_cb cb, void *arg);

	/* Up to limit documents of ns whose key starts with prefix ("" or
	 * NULL: any) and sorts after `after` (NULL: from the first), in
	 * byte order of the keys. With limit 0 none are returned, and more
	 * says whether any match. */
	int (*doc_list)(void *self, const char *ns, const char *prefix,
	                const char *after, size_t limit,
	                aster_store_list_cb cb, void *arg);

	/* 1 while the store can serve requests (connected), else 0; a
	 * cheap check, read by /gateway/v1/ready. */
	int (*healthy)(void *self);

	/*
	 * Notifications between the nodes sharing the store (PostgreSQL:
	 * LISTEN/NOTIFY; SQLite, a single node: within this process).
	 * Channels are 1 to 63 bytes of [a-z0-9_], starting with a letter or
	 * '_'; payloads are text of at most 7999 bytes.
	 *
	 * publish sends payload on channel to every subscriber of every
	 * node, this one included: when txn commits, or at once when txn is
	 * NULL; its callback says OK once it is sent.
	 *
	 * subscribe calls cb(arg, payload) for each notification on channel
	 * until unsubscribe (called with the same channel, cb and arg) or the
	 * store's stop. cb(arg, NULL) says notifications may have been lost
	 * (the listening connection broke and is back, or, with PostgreSQL,
	 * the subscription has just taken effect): a subscriber drops
	 * whatever they were keeping it up to date on. Both answer at once:
	 * 0, or -1 for bad arguments (a channel or payload out of bounds,
	 * a payload that is not UTF-8, the same subscription twice, or an
	 * unknown one to unsubscribe) or out of memory. In a transaction,
	 * publish answers OK once queued there, and the same channel and
	 * payload published twice arrive once (PostgreSQL's rule).
	 */
	int (*publish)(void *self, struct aster_txn *txn, const char *channel,
	               const char *payload, aster_store_done_cb cb, void *arg);
	int (*subscribe)(void *self, const char *channel,
	                 void (*cb)(void *arg, const char *payload), void *arg);
	int (*unsubscribe)(void *self, const char *channel,
	                   void (*cb)(void *arg, const char *payload),
	                   void *arg);
};

/* A store as its users hold it. */
struct aster_store {
	const struct aster_store_ops *ops;
	void *self;
};

#ifdef __cplusplus
}
#endif

#endif
