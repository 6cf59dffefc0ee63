/*
 * sq.h - the SQLite state store provider's private types, shared by its
 * files (nothing here is seen outside sqlite.so).
 *
 *   provider.c  descriptor, config, start/stop, the loop side (eventfd
 *               handler delivering completions)
 *   ops.c       the struct aster_store_ops entry points: check arguments,
 *               copy inputs into a request, queue it
 *   worker.c    the worker thread: picks requests, group-commits batches,
 *               runs transactions
 *   db.c        the connection: open and schema, kept statements, one
 *               request's SQL (query, exec), results, error mapping
 *   docs.c      the versioned documents (doc_*)
 *   notify.c    notifications within the process (publish, subscribe)
 *
 * Threads: the loop thread calls the ops and runs every callback; one
 * worker thread owns the sqlite3 connection and runs all SQL. They meet
 * only in struct sq_store's queues, under its mutex.
 */
#ifndef SQ_H
#define SQ_H

#include <aster/provider.h>
#include <aster/store.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_BATCH_MAX 256        /* autocommit requests per group commit */

enum sq_kind {
	SQ_QUERY,
	SQ_EXEC,
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_DOC_GET,
	SQ_DOC_PUT,
	SQ_DOC_DELETE,
	SQ_DOC_LIST,
	SQ_OPEN,                    /* the worker opened the database (or
	                               not): the end of the start */
	SQ_PUBLISH,                 /* publish(): its callback */
	SQ_NOTE,                    /* a notification for the subscribers
	                               of channel ns: payload value; arg
	                               is the store */
};

/* Bytes of results: every cell is appended NUL-terminated; offsets are
 * turned into pointers once the buffer stops moving (sq_result_seal). */
struct sq_buf {
	char *p;
	size_t len, cap;
};

/* A FIFO of requests. */
struct sq_queue {
	struct sq_req *head, *tail;
	size_t n;
};

/*
 * One call of an op, from the moment it is queued until its callback has
 * run. Inputs are the op's own copies; outputs are written by the worker
 * and read by the loop after the request went through the done queue
 * (the mutex orders the two).
 */
struct sq_req {
	struct sq_req *next;
	enum sq_kind kind;
	struct aster_txn *txn;      /* NULL: autocommit (a batch) */
	union {
		aster_store_rows_cb rows;
		aster_store_done_cb done;
		aster_store_txn_cb txn;
		aster_store_doc_cb doc;
		aster_store_list_cb list;
	} cb;
	void *arg;

	/* inputs */
	char *sql;                  /* query, exec */
	char **params;              /* query: nparams strings or NULLs */
	size_t nparams;
	char *ns, *key;             /* doc_* */
	char *value;                /* doc_put, NUL-terminated, len bytes */
	size_t len;
	enum aster_doc_cond cond;
	uint64_t version;
	char *prefix, *after;       /* doc_list, NULL: none */
	size_t limit;
	struct sq_req *note;        /* publish in a transaction: its SQ_NOTE,
	                               moved to the transaction's notes */

	/* outputs */
	enum aster_store_status st;
	char *error;                /* NULL or a one-line message */
	struct sq_buf buf;          /* query rows, doc values and keys */
	size_t nrows, ncols;        /* query */
	size_t *offs;               /* query: nrows*ncols offsets in buf,
	                               SIZE_MAX for SQL NULL */
	size_t *lengths;
	const char **values;        /* built from offs by sq_result_seal */
	uint64_t changes;
	struct aster_doc *docs;     /* doc_get, doc_put (1), doc_list (n) */
	size_t ndocs;
	int more;
};

/*
 * A transaction handed to a caller. It lives from begin() until its
 * commit/rollback callback has run (or stop() frees it); every live one
 * is on the store's list so that stop() can free those never ended.
 */
struct aster_txn {
	struct sq_store *store;
	struct aster_txn *prev, *next;
	int ending;                 /* loop side: commit/rollback queued */
	int failed;                 /* worker side: a statement failed */
	struct sq_queue notes;      /* worker side: SQ_NOTEs published in
	                               it, posted after its COMMIT */
	enum aster_store_status fail_st;    /* worker side: its status */
	char *fail_msg;             /* worker side: its message */
};

/* Prepared statements the worker keeps for the life of the connection. */
enum sq_stmt_id {
	SQ_ST_BEGIN,
	SQ_ST_COMMIT,
	SQ_ST_ROLLBACK,
	SQ_ST_SAVEPOINT,
	SQ_ST_RELEASE,
	SQ_ST_ROLLBACK_TO,
	SQ_ST_DOC_GET,
	SQ_ST_DOC_VERSION,
	SQ_ST_DOC_NEXT_VERSION,
	SQ_ST_DOC_UPSERT,
	SQ_ST_DOC_DELETE,
	SQ_ST_LIST_GE,              /* key >= lower */
	SQ_ST_LIST_GE_LT,           /* key >= lower AND key < upper */
	SQ_ST_LIST_GT,              /* key > lower */
	SQ_ST_LIST_GT_LT,           /* key > lower AND key < upper */
	SQ_ST_COUNT,
};

/* One subscribe(); loop only. */
struct sq_sub {
	struct sq_sub *next;
	void (*cb)(void *arg, const char *payload);
	void *arg;
	int gone;                   /* unsubscribed while callbacks ran:
	                               freed once they are done */
	char channel[64];
};

struct sq_store {
	const struct aster_host *host;
	char *path;
	int busy_timeout_ms;

	/* worker only (and start/stop, when no worker runs) */
	sqlite3 *db;
	sqlite3_stmt *stmts[SQ_ST_COUNT];
	int user_sql;               /* the authorizer refuses transaction
	                               control while this is set */
	struct aster_txn *active;   /* the open transaction, or NULL */

	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct sq_queue queue;      /* autocommit requests and begins */
	struct sq_queue tq;         /* requests of the open transaction */
	struct sq_queue done;       /* completions for the loop */
	atomic_int stopping;        /* stop() began: queue nothing more */
	atomic_int healthy;

	/* loop only (start/stop and the ops run on the loop thread) */
	pthread_t worker;
	int worker_started;
	struct aster_service *svc;  /* while the start is pending */
	struct sq_req *open_req;    /* the start's outcome, filled by the
	                               worker */
	int efd;                    /* eventfd: the worker wakes the loop */
	struct event *ev;
	struct aster_txn *txns;     /* live transactions */
	struct sq_sub *subs;        /* subscriptions, in subscribe order */
	int draining;               /* depth of sq_drain() calls running */
	int stopped;                /* stop() has finished its work */
};

/* ops.c */
extern const struct aster_store_ops sq_store_ops;
int sq_utf8_valid(const char *str);
int sq_txn_usable(struct sq_store *s, struct aster_txn *txn);
int sq_submit(struct sq_store *s, struct sq_req *r);
void sq_req_free(struct sq_req *r);
void sq_txn_free(struct aster_txn *t);
void sq_queue_push(struct sq_queue *q, struct sq_req *r);
struct sq_req *sq_queue_pop(struct sq_queue *q);
void sq_queue_append(struct sq_queue *dst, struct sq_queue *src);

/* provider.c */
void sq_deliver(struct sq_req *r);

/* notify.c */
int sq_publish(void *self, struct aster_txn *txn, const char *channel,
               const char *payload, aster_store_done_cb cb, void *arg);
int sq_subscribe(void *self, const char *channel,
                 void (*cb)(void *arg, const char *payload), void *arg);
int sq_unsubscribe(void *self, const char *channel,
                   void (*cb)(void *arg, const char *payload), void *arg);
void sq_note_deliver(struct sq_store *s, const char *channel,
                     const char *payload);
void sq_subs_sweep(struct sq_store *s, int all);

/* worker.c */
void *sq_worker_main(void *arg);

/* db.c */
int sq_db_open(struct sq_store *s, char *err, size_t errlen);
void sq_db_close(struct sq_store *s);
int sq_db_step_simple(struct sq_store *s, enum sq_stmt_id id);
void sq_db_run(struct sq_store *s, struct sq_req *r);
void sq_req_fail(struct sq_req *r, enum aster_store_status st,
                 const char *msg);
void sq_req_fail_db(struct sq_store *s, struct sq_req *r, int rc);
enum aster_store_status sq_status_of(int rc);
void sq_result_seal(struct sq_req *r);
int sq_cell_add(struct sq_req *r, size_t idx, size_t *cap, const void *data,
                size_t n);
const void *sq_column(sqlite3_stmt *st, int i, size_t *n);

/* docs.c */
void sq_run_doc_get(struct sq_store *s, struct sq_req *r);
void sq_run_doc_put(struct sq_store *s, struct sq_req *r);
void sq_run_doc_delete(struct sq_store *s, struct sq_req *r);
void sq_run_doc_list(struct sq_store *s, struct sq_req *r);

#endif
